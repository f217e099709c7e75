// A struct_ops map (a TCP congestion control) and its programs.
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

SEC("struct_ops/cc_init")
void BPF_PROG(cc_init, struct sock *sk) {}

SEC("struct_ops/cc_ssthresh")
u32 BPF_PROG(cc_ssthresh, struct sock *sk) { return 10; }

SEC("struct_ops/cc_cong_avoid")
void BPF_PROG(cc_cong_avoid, struct sock *sk, u32 ack, u32 acked) {}

SEC("struct_ops/cc_undo_cwnd")
u32 BPF_PROG(cc_undo_cwnd, struct sock *sk) { return 10; }

SEC(".struct_ops")
struct tcp_congestion_ops pycc = {
	.init = (void *)cc_init,
	.ssthresh = (void *)cc_ssthresh,
	.cong_avoid = (void *)cc_cong_avoid,
	.undo_cwnd = (void *)cc_undo_cwnd,
	.name = "pycc",
};

char LICENSE[] SEC("license") = "GPL";
