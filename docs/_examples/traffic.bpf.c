// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* The object docs/maps.md reads and writes: a hash keyed by a struct, a per-CPU array,
 * globals in .rodata and .bss, and a map whose values use every kind of C type. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

struct flow_key {
    __u8 proto;         /* IPPROTO_TCP, IPPROTO_UDP */
    __u16 port;         /* destination port */
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

struct {
    __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
    __uint(max_entries, 1);
    __type(key, __u32);
    __type(value, __u64);
} per_cpu_hits SEC(".maps");

const volatile __u32 sample_rate = 1;   /* count one packet in sample_rate */
__u32 enabled;                          /* nothing is counted until user space says so */

enum action { ALLOW, DENY, LOG };

struct rule {
    enum action action;
    char name[8];
    __u16 ports[3];
    __u8 ip_version : 4, priority : 4;
    union {
        __u32 ip4;
        __u8 ip6[16];
    } addr;
    double weight;
};

struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __uint(max_entries, 4);
    __type(key, __u32);
    __type(value, struct rule);
} rules SEC(".maps");

SEC("xdp")
int count(struct xdp_md *ctx)
{
    void *data = (void *)(long)ctx->data;
    void *data_end = (void *)(long)ctx->data_end;
    struct ethhdr *eth = data;
    struct iphdr *ip = (void *)(eth + 1);
    struct udphdr *l4 = (void *)(ip + 1);   /* TCP and UDP ports sit at the same place */
    struct flow_key key = {};
    struct flow_counts *stats, fresh = {};
    __u32 zero = 0;
    __u64 *hits;

    if (!enabled)
        return XDP_PASS;
    hits = bpf_map_lookup_elem(&per_cpu_hits, &zero);
    if (!hits)
        return XDP_PASS;
    *hits += 1;
    if (sample_rate > 1 && *hits % sample_rate)
        return XDP_PASS;
    if ((void *)(l4 + 1) > data_end || eth->h_proto != bpf_htons(0x0800) || ip->ihl != 5)
        return XDP_PASS;
    key.proto = ip->protocol;
    key.port = bpf_ntohs(l4->dest);
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
