// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* The programs of "Order in a hook" (docs/attach.md): each writes its number into a log
 * when it runs, so the log shows the order the kernel ran them in. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

__u64 runs;             /* how many program runs so far */
__u32 order[16];        /* order[i]: the number of the program that made run i */

static __always_inline void ran(__u32 who)
{
    __u64 i = __sync_fetch_and_add(&runs, 1);

    if (i < 16)
        order[i] = who;
}

/* Two tcx programs; they log IPv4 packets only (not ARP) and pass every packet on. */
static __always_inline int log_ipv4(struct __sk_buff *skb, __u32 who)
{
    if (skb->protocol == bpf_htons(0x0800 /* ETH_P_IP */))
        ran(who);
    return -1; /* TCX_NEXT, NETKIT_NEXT: on to the next program */
}

SEC("tcx/ingress")
int tcx_1(struct __sk_buff *skb) { return log_ipv4(skb, 1); }

SEC("tcx/ingress")
int tcx_2(struct __sk_buff *skb) { return log_ipv4(skb, 2); }

/* Three programs at one cgroup hook; each lets the socket be made. */
SEC("cgroup/sock_create")
int sock_1(struct bpf_sock *sk) { ran(1); return 1; }

SEC("cgroup/sock_create")
int sock_2(struct bpf_sock *sk) { ran(2); return 1; }

SEC("cgroup/sock_create")
int sock_3(struct bpf_sock *sk) { ran(3); return 1; }

/* Two netkit programs ("?": loaded on request, netkit is Linux 6.7+). */
SEC("?netkit/primary")
int netkit_1(struct __sk_buff *skb) { return log_ipv4(skb, 1); }

SEC("?netkit/primary")
int netkit_2(struct __sk_buff *skb) { return log_ipv4(skb, 2); }

char LICENSE[] SEC("license") = "Dual BSD/GPL";
