// SPDX-License-Identifier: GPL-2.0
/* docs/attach.md's struct_ops example: one TCP congestion control, "docs_cc", in two
 * versions that count their init() calls apart. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

__u64 inits[2];  /* init() calls of version 1 and version 2 */

SEC("struct_ops")
void BPF_PROG(init_v1, struct sock *sk)
{
    __sync_fetch_and_add(&inits[0], 1);
}

SEC("struct_ops")
void BPF_PROG(init_v2, struct sock *sk)
{
    __sync_fetch_and_add(&inits[1], 1);
}

SEC("struct_ops")
__u32 BPF_PROG(ssthresh, struct sock *sk)
{
    return 10;
}

SEC("struct_ops")
void BPF_PROG(cong_avoid, struct sock *sk, __u32 ack, __u32 acked)
{
}

SEC("struct_ops")
__u32 BPF_PROG(undo_cwnd, struct sock *sk)
{
    return 10;
}

SEC(".struct_ops.link")
struct tcp_congestion_ops cc_v1 = {
    .init = (void *)init_v1,
    .ssthresh = (void *)ssthresh,
    .cong_avoid = (void *)cong_avoid,
    .undo_cwnd = (void *)undo_cwnd,
    .name = "docs_cc",
};

SEC(".struct_ops.link")
struct tcp_congestion_ops cc_v2 = {
    .init = (void *)init_v2,
    .ssthresh = (void *)ssthresh,
    .cong_avoid = (void *)cong_avoid,
    .undo_cwnd = (void *)undo_cwnd,
    .name = "docs_cc",
};

char LICENSE[] SEC("license") = "GPL";
