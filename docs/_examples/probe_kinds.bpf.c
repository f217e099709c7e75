// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* The programs of docs/attach.md's sections on system call probes, kprobe sessions and
 * perf events: each counts what it sees in a global. The "?" sections load only when
 * asked for (OpenProgram.autoload = True): kernels without kprobe sessions refuse that
 * program at load. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

__u32 pid;              /* the process whose calls count (set from Python) */
__u64 getppid_calls;
__u64 entries, returns;
__u64 samples;

/* libbpf finds the function that implements getppid on this kernel and architecture. */
SEC("?ksyscall/getppid")
int BPF_KSYSCALL(on_getppid)
{
    if ((bpf_get_current_pid_tgid() >> 32) == pid)
        __sync_fetch_and_add(&getppid_calls, 1);
    return 0;
}

/* Linux 6.10 declared this kfunc without arguments, later kernels with the context:
 * two weak "flavours" (libbpf ignores the name from "___" on), one of which resolves. */
extern bool bpf_session_is_return___noctx(void) __ksym __weak;
extern bool bpf_session_is_return___ctx(void *ctx) __ksym __weak;

/* One program for the entry and the return of each function it is attached to. */
SEC("?kprobe.session")
int on_session(struct pt_regs *ctx)
{
    bool is_return;

    if ((bpf_get_current_pid_tgid() >> 32) != pid)
        return 0;
    if (bpf_ksym_exists(bpf_session_is_return___ctx))
        is_return = bpf_session_is_return___ctx(ctx);
    else
        is_return = bpf_session_is_return___noctx();
    __sync_fetch_and_add(is_return ? &returns : &entries, 1);
    return 0; /* 0 at entry: run at the return too */
}

SEC("?kprobe.multi")
int on_functions(struct pt_regs *ctx)
{
    return 0;
}

/* Runs on every sample of the perf event it is attached to. */
SEC("perf_event")
int on_sample(struct bpf_perf_event_data *ctx)
{
    __sync_fetch_and_add(&samples, 1);
    return 0;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
