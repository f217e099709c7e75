// SPDX-License-Identifier: GPL-2.0
/* One object, two programs: one the verifier accepts and one it rejects on every kernel
 * (a packet read without a bounds check). Turning the rejected one's autoload off must
 * let the rest of the object load and run. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __uint(max_entries, 1);
    __type(key, __u32);
    __type(value, __u64);
} runs SEC(".maps");

SEC("xdp")
int accepted(struct xdp_md *ctx)
{
    __u32 key = 0;
    __u64 *n = bpf_map_lookup_elem(&runs, &key);

    if (n)
        __sync_fetch_and_add(n, 1);
    return XDP_DROP;
}

SEC("xdp")
int rejected(struct xdp_md *ctx)
{
    unsigned char *data = (void *)(long)ctx->data;

    return data[20] == 1 ? XDP_DROP : XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
