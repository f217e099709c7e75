// SPDX-License-Identifier: GPL-2.0
/* Map knobs set before load and after it (tests/maps/test_knobs.py): a bloom filter
 * for map_extra, maps of maps with a declared inner template, and an array the
 * program writes after user space froze it. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

struct {
    __uint(type, BPF_MAP_TYPE_BLOOM_FILTER);
    __uint(max_entries, 64);
    __type(value, __u32);
} seen SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __uint(max_entries, 2);
    __type(key, __u32);
    __type(value, __u64);
} counts SEC(".maps");

struct inner {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __uint(max_entries, 4);
    __type(key, __u32);
    __type(value, __u64);
};

struct inner inner_a SEC(".maps");

/* Holds inner_a at index 0 from the start. */
struct {
    __uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
    __uint(max_entries, 2);
    __type(key, __u32);
    __array(values, struct inner);
} outer SEC(".maps") = {
    .values = { [0] = &inner_a },
};

/* Starts empty: user space puts inner maps into it. */
struct {
    __uint(type, BPF_MAP_TYPE_HASH_OF_MAPS);
    __uint(max_entries, 4);
    __type(key, __u32);
    __array(values, struct inner);
} by_key SEC(".maps");

/* The slot of inner map 0 that bump() counts in; a slot past the inner map's
 * max_entries is no entry (the lookup gives NULL). */
const volatile __u32 slot = 3;

SEC("xdp")
int bump(struct xdp_md *ctx)
{
    __u32 zero = 0, key = slot;
    __u64 *count = bpf_map_lookup_elem(&counts, &zero);
    void *inner = bpf_map_lookup_elem(&outer, &zero);

    if (count)
        *count += 1;
    if (inner) {
        __u64 *v = bpf_map_lookup_elem(inner, &key);

        if (v)
            *v += 1;
    }
    return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
