// SPDX-License-Identifier: GPL-2.0
/* A TCP congestion control as struct_ops: registering the map makes "lpy_cc" usable. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include "counters.h"

SEC("struct_ops")
void BPF_PROG(lpy_init, struct sock *sk)
{
    bump(0);
}

SEC("struct_ops")
__u32 BPF_PROG(lpy_ssthresh, struct sock *sk)
{
    return 10;
}

SEC("struct_ops")
void BPF_PROG(lpy_cong_avoid, struct sock *sk, __u32 ack, __u32 acked)
{
}

SEC("struct_ops")
__u32 BPF_PROG(lpy_undo_cwnd, struct sock *sk)
{
    return 10;
}

SEC(".struct_ops.link")
struct tcp_congestion_ops lpy_cc = {
    .init = (void *)lpy_init,
    .ssthresh = (void *)lpy_ssthresh,
    .cong_avoid = (void *)lpy_cong_avoid,
    .undo_cwnd = (void *)lpy_undo_cwnd,
    .name = "lpy_cc",
};

char LICENSE[] SEC("license") = "GPL";
