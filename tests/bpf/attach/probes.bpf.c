// SPDX-License-Identifier: GPL-2.0
/* Probe kinds this machine refuses and other kernels run: kprobes, kretprobes,
 * kprobe_multi, fentry/fexit and an LSM hook, each on a syscall the test makes itself.
 *
 * Every program loads on request ("?" sections): a kernel that refuses one kind at load
 * (lockdown refuses fentry and LSM programs) must not take the others down. Each counts
 * only the test process's events (cfg[0], counters.h).
 *
 * The targets, __do_sys_getppid and __do_sys_getpgrp, exist out of line in Debian's 6.1,
 * 6.12 and 7.2 and in this machine's kernel: they are the names ftrace lists for the
 * syscalls (__x64_sys_getppid is an alias at the same address), and BTF describes them
 * as long (const struct pt_regs *), which is what fentry/fexit see.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include "counters.h"

/* seen[slot]: the last value a program saw (a return value, an inode). */
struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __uint(max_entries, 8);
    __type(key, __u32);
    __type(value, __s64);
} seen SEC(".maps");

static __always_inline void record(__u32 slot, __s64 value)
{
    bpf_map_update_elem(&seen, &slot, &value, BPF_ANY);
}

SEC("?kprobe")
int on_getppid(struct pt_regs *ctx)
{
    if (wanted_pid())
        bump(0);
    return 0;
}

SEC("?kretprobe")
int on_getppid_ret(struct pt_regs *ctx)
{
    if (wanted_pid()) {
        bump(1);
        record(1, PT_REGS_RC(ctx));
    }
    return 0;
}

SEC("?kprobe.multi")
int on_ids(struct pt_regs *ctx)
{
    if (wanted_pid())
        bump(2);
    return 0;
}

SEC("?fentry/__do_sys_getppid")
int BPF_PROG(enter_getppid, const struct pt_regs *regs)
{
    if (wanted_pid())
        bump(3);
    return 0;
}

SEC("?fexit/__do_sys_getppid")
int BPF_PROG(exit_getppid, const struct pt_regs *regs, long ret)
{
    if (wanted_pid()) {
        bump(4);
        record(4, ret);
    }
    return 0;
}

/* cfg[1]: the inode number of the file whose opens count. Returns 0: nothing denied. */
SEC("?lsm/file_open")
int BPF_PROG(on_file_open, struct file *file)
{
    __u32 key = 1;
    __u64 *ino = bpf_map_lookup_elem(&cfg, &key);

    if (ino && *ino && wanted_pid() && BPF_CORE_READ(file, f_inode, i_ino) == *ino) {
        bump(5);
        record(5, BPF_CORE_READ(file, f_inode, i_ino));
    }
    return 0;
}

char LICENSE[] SEC("license") = "GPL";
