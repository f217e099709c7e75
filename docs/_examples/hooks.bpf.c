// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* The programs docs/attach.md attaches: one per hook kind, each counting what it sees in
 * a global, so the page can show that a program runs while attached and stops after. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

__u32 pid;              /* the process whose system calls count (set from Python) */
__u64 getpid_calls;
__u64 xdp_packets;
__u64 tcx_packets;
__u64 tc_packets;
__u64 sockets;

SEC("tracepoint/syscalls/sys_enter_getpid")
int count(void *ctx)
{
    if ((bpf_get_current_pid_tgid() >> 32) == pid)
        __sync_fetch_and_add(&getpid_calls, 1);
    return 0;
}

SEC("xdp")
int count_packets(struct xdp_md *ctx)
{
    __sync_fetch_and_add(&xdp_packets, 1);
    return XDP_PASS;
}

SEC("xdp")
int drop_packets(struct xdp_md *ctx)
{
    return XDP_DROP;
}

SEC("tcx/ingress")
int count_tcx(struct __sk_buff *skb)
{
    __sync_fetch_and_add(&tcx_packets, 1);
    return TCX_NEXT;
}

SEC("tc")
int count_tc(struct __sk_buff *skb)
{
    __sync_fetch_and_add(&tc_packets, 1);
    return 0; /* TC_ACT_OK: a #define, so not in vmlinux.h */
}

SEC("cgroup/sock_create")
int count_sockets(struct bpf_sock *sk)
{
    __sync_fetch_and_add(&sockets, 1);
    return 1; /* allow */
}

/* Attached with attach_kprobe(function): needs a kernel with kprobes. */
SEC("kprobe")
int on_read(struct pt_regs *ctx)
{
    return 0;
}

/* "?": not loaded unless asked for (OpenProgram.autoload = True); some kernels refuse
 * fentry programs at load (lockdown). */
SEC("?fentry/bpf_fentry_test1")
int BPF_PROG(on_entry, int a)
{
    return 0;
}

/* A bare "tracepoint" section names no target: attached by attach_tracepoint(name,
 * cookie=...), never by obj.attach(). Each attachment's cookie picks the counter. */
__u64 by_cookie[4];

SEC("tracepoint")
int count_by_cookie(void *ctx)
{
    __u64 cookie = bpf_get_attach_cookie(ctx);

    if ((bpf_get_current_pid_tgid() >> 32) == pid && cookie < 4)
        __sync_fetch_and_add(&by_cookie[cookie], 1);
    return 0;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
