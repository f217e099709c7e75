// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* One small program per kind that BPF_PROG_TEST_RUN can drive, each with an answer a
 * test can check from the outside. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#define ETH_P_IP 0x0800

/* Swap the MAC addresses and decrement the IPv4 TTL, fixing the header checksum
 * incrementally (RFC 1624): what a router-on-a-stick would send back. */
SEC("xdp")
int xdp_rewrite(struct xdp_md *ctx)
{
    void *data = (void *)(long)ctx->data;
    void *data_end = (void *)(long)ctx->data_end;
    struct ethhdr *eth = data;
    struct iphdr *ip;
    unsigned char mac[6];
    __u32 sum;

    if ((void *)(eth + 1) > data_end)
        return XDP_ABORTED;
    __builtin_memcpy(mac, eth->h_dest, 6);
    __builtin_memcpy(eth->h_dest, eth->h_source, 6);
    __builtin_memcpy(eth->h_source, mac, 6);
    if (eth->h_proto != bpf_htons(ETH_P_IP))
        return XDP_TX;
    ip = (void *)(eth + 1);
    if ((void *)(ip + 1) > data_end || ip->ttl <= 1)
        return XDP_DROP;
    /* TTL is the high byte of its 16-bit word: subtracting 1 from it is 0x0100 less. */
    sum = (__u32)ip->check + bpf_htons(0x0100);
    ip->check = (__u16)(sum + (sum >> 16));
    ip->ttl--;
    return XDP_TX;
}

/* Transmit every frame back out of the interface it came in on. */
SEC("xdp")
int xdp_bounce(struct xdp_md *ctx)
{
    return XDP_TX;
}

/* The context round trip: priority := mark + 1, cb[0] += 1, and answers with cb[1]. */
SEC("tc")
int tc_ctx(struct __sk_buff *skb)
{
    skb->priority = skb->mark + 1;
    skb->cb[0] += 1;
    return skb->cb[1];
}

/* A socket filter answers how many bytes to keep: here, all of them. */
SEC("socket")
int socket_len(struct __sk_buff *skb)
{
    return skb->len;
}

/* cgroup skb: allow (1) IPv4, refuse (0) everything else. */
SEC("cgroup_skb/ingress")
int cgroup_v4_only(struct __sk_buff *skb)
{
    return skb->protocol == bpf_htons(ETH_P_IP);
}

/* A tiny flow dissector: IPv4 only, reports the protocol and where headers start.
 * It reads the packet directly (a test run has no skb for bpf_skb_load_bytes). */
SEC("flow_dissector")
int dissect(struct __sk_buff *skb)
{
    struct bpf_flow_keys *keys = skb->flow_keys;
    void *data = (void *)(long)skb->data;
    void *data_end = (void *)(long)skb->data_end;
    /* A constant offset keeps the verifier's packet range exact (test frames start
     * with an Ethernet header, so nhoff is 14). */
    struct iphdr *ip = data + sizeof(struct ethhdr);

    if (keys->nhoff != sizeof(struct ethhdr) || (void *)(ip + 1) > data_end)
        return BPF_DROP;
    keys->addr_proto = bpf_htons(ETH_P_IP);
    keys->ip_proto = ip->protocol;
    keys->thoff = keys->nhoff + ip->ihl * 4;
    keys->ipv4_src = ip->saddr;
    keys->ipv4_dst = ip->daddr;
    return BPF_OK;
}

/* Raw tracepoint: the sum of its first two arguments. */
SEC("raw_tp/sys_enter")
int raw_sum(struct bpf_raw_tracepoint_args *ctx)
{
    return ctx->args[0] + ctx->args[1];
}

struct sum_args {
    int a;
    int b;
    int sum;
    int calls;
};

/* Syscall programs get a context of their own choosing, written back after the run. */
SEC("syscall")
int add(struct sum_args *args)
{
    args->sum = args->a + args->b;
    args->calls++;
    return 7;
}

/* Prints into the trace buffer; trace_pipe() must see the marker. */
SEC("syscall")
int say(struct sum_args *args)
{
    bpf_printk("lpy-trace marker=%d", args->a);
    return 0;
}

/* A tracepoint program: the kernel cannot test-run this kind. */
SEC("tracepoint/syscalls/sys_enter_getppid")
int on_getppid(void *ctx)
{
    return 0;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
