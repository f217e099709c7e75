// SPDX-License-Identifier: GPL-2.0
/* The maps bench/maps/run.py measures: BTF-typed ones, as an object declares them.
 * It is compiled at run time into a temporary directory; no program touches them. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

#define ENTRIES 1000

/* A plain struct of five fields (1 byte of tail padding: 24 bytes). */
struct lpy_flow {
    __u64 packets;
    __u64 bytes;
    __u32 ifindex;
    __u16 port;
    __u8 proto;
};

struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(max_entries, ENTRIES);
    __type(key, __u32);
    __type(value, __u64);
} counts SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
    __uint(max_entries, ENTRIES);
    __type(key, __u32);
    __type(value, __u64);
} per_cpu SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(max_entries, ENTRIES);
    __type(key, __u32);
    __type(value, struct lpy_flow);
} stats SEC(".maps");

char LICENSE[] SEC("license") = "GPL";
