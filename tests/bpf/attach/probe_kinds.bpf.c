// SPDX-License-Identifier: GPL-2.0
/* Probe kinds beyond plain kprobes: ksyscall/kretsyscall programs (libbpf finds the
 * function that implements the system call), a kprobe_multi program for unique_match,
 * and a kprobe session program that runs at entry and at return.
 *
 * Every program loads on request ("?" sections): a kernel without kprobe sessions
 * refuses that program at load, and must not take the others down. Each counts only
 * the test process's events (cfg[0], counters.h) in its own slot of hits:
 *   0 ksyscall entry, 1 kretsyscall, 2 kprobe_multi, 3 session entry, 4 session return.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include "counters.h"

/* The kfunc telling a session program's two runs apart. Linux 6.10 declared it
 * without arguments; later kernels take the program's context. Both are declared weak
 * under libbpf "flavour" names (the part from "___" on is ignored when resolving), and
 * the one whose prototype the running kernel has is the one that resolves. */
extern bool bpf_session_is_return___noctx(void) __ksym __weak;
extern bool bpf_session_is_return___ctx(void *ctx) __ksym __weak;

/* seen[slot]: the last value a program saw (a return value). */
struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __uint(max_entries, 8);
    __type(key, __u32);
    __type(value, __s64);
} seen SEC(".maps");

SEC("?ksyscall/getppid")
int BPF_KSYSCALL(on_getppid_call)
{
    if (wanted_pid())
        bump(0);
    return 0;
}

SEC("?kretsyscall/getppid")
int BPF_KRETPROBE(on_getppid_done, long ret)
{
    __u32 slot = 1;
    __s64 value = ret;

    if (wanted_pid()) {
        bump(1);
        bpf_map_update_elem(&seen, &slot, &value, BPF_ANY);
    }
    return 0;
}

SEC("?kprobe.multi")
int on_unique(struct pt_regs *ctx)
{
    if (wanted_pid())
        bump(2);
    return 0;
}

SEC("?kprobe.session")
int on_session(struct pt_regs *ctx)
{
    bool is_return;

    if (!wanted_pid())
        return 0;
    if (bpf_ksym_exists(bpf_session_is_return___ctx))
        is_return = bpf_session_is_return___ctx(ctx);
    else
        is_return = bpf_session_is_return___noctx();
    bump(is_return ? 4 : 3);
    return 0; /* 0 at entry: run at return too */
}

char LICENSE[] SEC("license") = "GPL";
