// SPDX-License-Identifier: GPL-2.0
/* Network attach kinds: XDP, tc, tcx, netfilter, socket filter, sk_lookup, sockmap. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include "counters.h"

#define TCX_NEXT -1
#define TC_ACT_OK 0
#define NF_ACCEPT 1
#define ETH_P_IP 0x0800

SEC("xdp")
int xdp_count(struct xdp_md *ctx)
{
    bump(0);
    return XDP_PASS;
}

/* Two filters that drop every UDP datagram to port 7 and count it: replacing one with
 * the other must never let a datagram through. */
static __always_inline int drop_udp7(struct xdp_md *ctx, __u32 slot)
{
    void *data = (void *)(long)ctx->data;
    void *end = (void *)(long)ctx->data_end;
    struct ethhdr *eth = data;
    struct iphdr *ip = data + sizeof(*eth);
    struct udphdr *udp = (void *)ip + sizeof(*ip);

    if ((void *)(udp + 1) > end)
        return XDP_PASS;
    if (eth->h_proto != __builtin_bswap16(ETH_P_IP) || ip->protocol != IPPROTO_UDP ||
        ip->ihl != 5)
        return XDP_PASS;
    if (udp->dest != __builtin_bswap16(7))
        return XDP_PASS;
    bump(slot);
    return XDP_DROP;
}

SEC("xdp")
int xdp_drop_a(struct xdp_md *ctx)
{
    return drop_udp7(ctx, 1);
}

SEC("xdp")
int xdp_drop_b(struct xdp_md *ctx)
{
    return drop_udp7(ctx, 2);
}

SEC("tc")
int tc_count(struct __sk_buff *skb)
{
    bump(3);
    return TC_ACT_OK;
}

/* tcx ordering: whichever runs first sees mark 0 and sets it. */
static __always_inline int ordered(struct __sk_buff *skb, __u32 first, __u32 second)
{
    if (skb->mark != 0x1a7)
        bump(first);
    else
        bump(second);
    skb->mark = 0x1a7;
    return TCX_NEXT;
}

SEC("tcx/ingress")
int tcx_x(struct __sk_buff *skb)
{
    return ordered(skb, 4, 5);
}

SEC("tcx/ingress")
int tcx_y(struct __sk_buff *skb)
{
    return ordered(skb, 6, 7);
}

SEC("?netfilter")
int nf_count(struct bpf_nf_ctx *ctx)
{
    bump(8);
    return NF_ACCEPT;
}

SEC("socket")
int sock_count(struct __sk_buff *skb)
{
    bump(9);
    return skb->len;
}

SEC("sk_lookup")
int lookup_count(struct bpf_sk_lookup *ctx)
{
    bump(10);
    return SK_PASS;
}

struct {
    __uint(type, BPF_MAP_TYPE_SOCKMAP);
    __uint(max_entries, 2);
    __type(key, __u32);
    __type(value, __u64);
} socks SEC(".maps");

SEC("sk_msg")
int msg_count(struct sk_msg_md *msg)
{
    bump(11);
    return SK_PASS;
}

char LICENSE[] SEC("license") = "GPL";
