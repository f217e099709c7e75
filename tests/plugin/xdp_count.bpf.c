// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* Counts UDP packets to port 7777 and drops them; everything else passes and is counted. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __uint(max_entries, 2);
    __type(key, __u32);
    __type(value, __u64);
} seen SEC(".maps");

SEC("xdp")
int count_and_drop(struct xdp_md *ctx)
{
    void *data = (void *)(long)ctx->data;
    void *data_end = (void *)(long)ctx->data_end;
    struct ethhdr *eth = data;
    struct iphdr *ip = (void *)(eth + 1);
    struct udphdr *udp = (void *)(ip + 1);
    __u32 slot = 0;
    __u64 *count;

    if ((void *)(udp + 1) <= data_end && eth->h_proto == bpf_htons(0x0800) &&
        ip->ihl == 5 && ip->protocol == 17 && udp->dest == bpf_htons(7777))
        slot = 1;
    count = bpf_map_lookup_elem(&seen, &slot);
    if (count)
        __sync_fetch_and_add(count, 1);
    return slot ? XDP_DROP : XDP_PASS;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
