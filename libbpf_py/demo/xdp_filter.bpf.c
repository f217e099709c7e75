// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* The simple XDP packet filter of the libbpf_py guide.
 *
 * Every IPv4 packet whose source address is in the `blocklist` hash map is dropped;
 * everything else passes. Two per-CPU counters say how many packets took each path.
 * It is compiled CO-RE against vmlinux.h, which brings the kernel's own types.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#define ETH_P_IP 0x0800

/* Indexes into `counters`. */
enum verdict_counter { COUNT_PASSED = 0, COUNT_DROPPED = 1, COUNT_MAX };

/* Source IPv4 addresses to drop, in network byte order; the value is unused (1). */
struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(max_entries, 1024);
    __type(key, __u32);
    __type(value, __u8);
} blocklist SEC(".maps");

/* Packets passed and dropped, counted on each CPU without locking. */
struct {
    __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
    __uint(max_entries, COUNT_MAX);
    __type(key, __u32);
    __type(value, __u64);
} counters SEC(".maps");

static __always_inline int count(__u32 which, int verdict)
{
    __u64 *value = bpf_map_lookup_elem(&counters, &which);

    if (value)
        *value += 1;
    return verdict;
}

SEC("xdp")
int xdp_filter(struct xdp_md *ctx)
{
    void *data = (void *)(long)ctx->data;
    void *data_end = (void *)(long)ctx->data_end;
    struct ethhdr *eth = data;
    struct iphdr *ip;
    __u32 saddr;

    /* The verifier insists on a bounds check before every packet access. */
    if ((void *)(eth + 1) > data_end)
        return count(COUNT_PASSED, XDP_PASS);
    if (eth->h_proto != bpf_htons(ETH_P_IP))
        return count(COUNT_PASSED, XDP_PASS);
    ip = (void *)(eth + 1);
    if ((void *)(ip + 1) > data_end)
        return count(COUNT_PASSED, XDP_PASS);
    saddr = ip->saddr;
    if (bpf_map_lookup_elem(&blocklist, &saddr))
        return count(COUNT_DROPPED, XDP_DROP);
    return count(COUNT_PASSED, XDP_PASS);
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
