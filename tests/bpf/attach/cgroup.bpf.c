// SPDX-License-Identifier: GPL-2.0
/* cgroup attach kinds; each program allows what it sees and counts it. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include "counters.h"

SEC("cgroup_skb/egress")
int cg_egress(struct __sk_buff *skb) { bump(0); return 1; }

SEC("cgroup_skb/ingress")
int cg_ingress(struct __sk_buff *skb) { bump(1); return 1; }

SEC("cgroup/sock_create")
int cg_sock_create(struct bpf_sock *sk) { bump(2); return 1; }

SEC("cgroup/connect4")
int cg_connect4(struct bpf_sock_addr *ctx) { bump(3); return 1; }

SEC("cgroup/sendmsg4")
int cg_sendmsg4(struct bpf_sock_addr *ctx) { bump(4); return 1; }

SEC("sockops")
int cg_sockops(struct bpf_sock_ops *ops) { bump(5); return 1; }

SEC("cgroup/getsockopt")
int cg_getsockopt(struct bpf_sockopt *ctx) { bump(6); return 1; }

SEC("cgroup/setsockopt")
int cg_setsockopt(struct bpf_sockopt *ctx) { bump(7); return 1; }

SEC("cgroup/dev")
int cg_dev(struct bpf_cgroup_dev_ctx *ctx) { bump(8); return 1; }

SEC("cgroup/sysctl")
int cg_sysctl(struct bpf_sysctl *ctx) { bump(9); return 1; }

char LICENSE[] SEC("license") = "GPL";
