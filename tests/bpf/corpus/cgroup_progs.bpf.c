// cgroup programs of many attach types, sockops, sk_lookup, and '?' (no autoload).
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

SEC("cgroup_skb/ingress")
int ingress(struct __sk_buff *skb) { return 1; }

SEC("cgroup/connect4")
int connect4(struct bpf_sock_addr *ctx) { return ctx->user_port != 0; }

SEC("cgroup/sendmsg6")
int sendmsg6(struct bpf_sock_addr *ctx) { return 1; }

SEC("cgroup/recvmsg_unix")
int recvmsg_unix(struct bpf_sock_addr *ctx) { return 1; }

SEC("cgroup/sock_create")
int sock_create(struct bpf_sock *sk) { return sk->type != 3; }

SEC("cgroup/post_bind4")
int post_bind4(struct bpf_sock *sk) { return 1; }

SEC("cgroup/sysctl")
int sysctl(struct bpf_sysctl *ctx) { return ctx->write == 0; }

SEC("cgroup/getsockopt")
int getsockopt(struct bpf_sockopt *ctx) { return 1; }

SEC("cgroup/setsockopt")
int setsockopt(struct bpf_sockopt *ctx) { return 1; }

SEC("cgroup/dev")
int dev(struct bpf_cgroup_dev_ctx *ctx) { return ctx->major != 1; }

SEC("sockops")
int on_sockops(struct bpf_sock_ops *ops)
{
	if (ops->op == BPF_SOCK_OPS_TCP_CONNECT_CB)
		bpf_sock_ops_cb_flags_set(ops, BPF_SOCK_OPS_RTT_CB_FLAG);
	return 1;
}

SEC("sk_lookup")
int lookup(struct bpf_sk_lookup *ctx) { return SK_PASS; }

SEC("?cgroup/bind6")
int maybe_bind6(struct bpf_sock_addr *ctx) { return 1; }

SEC("?xdp")
int maybe_xdp(struct xdp_md *ctx) { return XDP_PASS; }

char LICENSE[] SEC("license") = "GPL";
