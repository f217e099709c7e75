// SPDX-License-Identifier: GPL-2.0
/* Two implementations of one TCP congestion control, "lpy_swap": each init() bumps its
 * own counter slot (a: 0, b: 1), so a test sees which one the kernel uses. A third map,
 * "lpy_shadow", is for tests that set its name and flags from Python before load. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include "counters.h"

SEC("struct_ops")
void BPF_PROG(swap_a_init, struct sock *sk)
{
    bump(0);
}

SEC("struct_ops")
void BPF_PROG(swap_b_init, struct sock *sk)
{
    bump(1);
}

SEC("struct_ops")
void BPF_PROG(shadow_init, struct sock *sk)
{
    bump(2);
}

SEC("struct_ops")
__u32 BPF_PROG(swap_ssthresh, struct sock *sk)
{
    return 10;
}

SEC("struct_ops")
void BPF_PROG(swap_cong_avoid, struct sock *sk, __u32 ack, __u32 acked)
{
}

SEC("struct_ops")
__u32 BPF_PROG(swap_undo_cwnd, struct sock *sk)
{
    return 10;
}

SEC(".struct_ops.link")
struct tcp_congestion_ops lpy_swap_a = {
    .init = (void *)swap_a_init,
    .ssthresh = (void *)swap_ssthresh,
    .cong_avoid = (void *)swap_cong_avoid,
    .undo_cwnd = (void *)swap_undo_cwnd,
    .name = "lpy_swap",
};

SEC(".struct_ops.link")
struct tcp_congestion_ops lpy_swap_b = {
    .init = (void *)swap_b_init,
    .ssthresh = (void *)swap_ssthresh,
    .cong_avoid = (void *)swap_cong_avoid,
    .undo_cwnd = (void *)swap_undo_cwnd,
    .name = "lpy_swap",
};

SEC(".struct_ops.link")
struct tcp_congestion_ops lpy_shadow = {
    .init = (void *)shadow_init,
    .ssthresh = (void *)swap_ssthresh,
    .cong_avoid = (void *)swap_cong_avoid,
    .undo_cwnd = (void *)swap_undo_cwnd,
    .name = "lpy_shadow",
};

char LICENSE[] SEC("license") = "GPL";
