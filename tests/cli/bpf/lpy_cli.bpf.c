// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* The object the CLI tests load: a struct-valued hash map, a per-CPU array, an array,
 * globals, and an XDP program that counts, prints a token and drops UDP to port 7777. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

struct point { __u32 x; __s16 y; char tag[4]; };
enum colour { RED = 1, GREEN = 2 };

struct { __uint(type, BPF_MAP_TYPE_HASH); __uint(max_entries, 8);
         __type(key, __u32); __type(value, struct point); } lpy_cli_points SEC(".maps");
struct { __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY); __uint(max_entries, 2);
         __type(key, __u32); __type(value, __u64); } lpy_cli_hits SEC(".maps");
struct { __uint(type, BPF_MAP_TYPE_ARRAY); __uint(max_entries, 2);
         __type(key, __u32); __type(value, enum colour); } lpy_cli_colour SEC(".maps");

__u64 runs = 0;
const volatile __u32 token = 4242;

SEC("xdp")
int lpy_cli_xdp(struct xdp_md *ctx)
{
    void *data = (void *)(long)ctx->data;
    void *data_end = (void *)(long)ctx->data_end;
    struct ethhdr *eth = data;
    struct iphdr *ip = (void *)(eth + 1);
    struct udphdr *udp = (void *)(ip + 1);
    __u32 slot = 0;
    __u64 *hits;

    runs++;
    bpf_printk("lpy-cli-token %u", token);
    if ((void *)(udp + 1) <= data_end && eth->h_proto == bpf_htons(0x0800) &&
        ip->protocol == 17 && udp->dest == bpf_htons(7777))
        slot = 1;
    hits = bpf_map_lookup_elem(&lpy_cli_hits, &slot);
    if (hits)
        *hits += 1;
    return slot ? XDP_DROP : XDP_PASS;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
