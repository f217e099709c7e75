// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* Per-flow statistics keyed by a struct: the typed-values how-to reads them. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

struct flow_key {
    __u32 saddr;
    __u32 daddr;
    __u16 sport;
    __u16 dport;
    __u8 proto;
};

struct flow_counts {
    __u64 packets;
    __u64 bytes;
};

struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(max_entries, 1024);
    __type(key, struct flow_key);
    __type(value, struct flow_counts);
} flows SEC(".maps");

SEC("xdp")
int count_flows(struct xdp_md *ctx)
{
    void *data = (void *)(long)ctx->data;
    void *data_end = (void *)(long)ctx->data_end;
    struct ethhdr *eth = data;
    struct iphdr *ip = (void *)(eth + 1);
    struct udphdr *udp = (void *)(ip + 1);
    struct flow_key key = {};
    struct flow_counts *stats, fresh = {};

    if ((void *)(udp + 1) > data_end || eth->h_proto != bpf_htons(0x0800) || ip->ihl != 5)
        return XDP_PASS;
    key.saddr = ip->saddr;
    key.daddr = ip->daddr;
    key.sport = bpf_ntohs(udp->source);
    key.dport = bpf_ntohs(udp->dest);
    key.proto = ip->protocol;
    stats = bpf_map_lookup_elem(&flows, &key);
    if (!stats) {
        bpf_map_update_elem(&flows, &key, &fresh, BPF_NOEXIST);
        stats = bpf_map_lookup_elem(&flows, &key);
        if (!stats)
            return XDP_PASS;
    }
    __sync_fetch_and_add(&stats->packets, 1);
    __sync_fetch_and_add(&stats->bytes, data_end - data);
    return XDP_PASS;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
