// SPDX-License-Identifier: GPL-2.0
/* A TCP congestion control in a plain .struct_ops section: registered by a map update,
 * with no BPF link, on every kernel with struct_ops (Linux 5.6+). */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include "counters.h"

SEC("struct_ops")
void BPF_PROG(legacy_init, struct sock *sk)
{
    bump(0);
}

SEC("struct_ops")
__u32 BPF_PROG(legacy_ssthresh, struct sock *sk)
{
    return 10;
}

SEC("struct_ops")
void BPF_PROG(legacy_cong_avoid, struct sock *sk, __u32 ack, __u32 acked)
{
}

SEC("struct_ops")
__u32 BPF_PROG(legacy_undo_cwnd, struct sock *sk)
{
    return 10;
}

SEC(".struct_ops")
struct tcp_congestion_ops lpy_legacy = {
    .init = (void *)legacy_init,
    .ssthresh = (void *)legacy_ssthresh,
    .cong_avoid = (void *)legacy_cong_avoid,
    .undo_cwnd = (void *)legacy_undo_cwnd,
    .name = "lpy_legacy",
};

char LICENSE[] SEC("license") = "GPL";
