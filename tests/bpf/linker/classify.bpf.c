// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* Half of a linked object: a global function and the map and counter it uses. The other
 * half (filter.bpf.c) declares them extern and calls them. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

/* The verdict for short (key 0) and long (key 1) packets, set from user space. */
struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __uint(max_entries, 2);
    __type(key, __u32);
    __type(value, __u32);
} verdicts SEC(".maps");

__u64 classified;

__noinline int classify(struct xdp_md *ctx)
{
    __u32 key = ctx->data_end - ctx->data > 100;
    __u32 *verdict;

    if (!ctx)
        return XDP_ABORTED;
    __sync_fetch_and_add(&classified, 1);
    verdict = bpf_map_lookup_elem(&verdicts, &key);
    return verdict ? *verdict : XDP_PASS;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
