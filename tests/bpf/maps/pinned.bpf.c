// SPDX-License-Identifier: GPL-2.0
/* A map pinned by name under the object's pin_root_path (tests/maps/test_pinning.py). */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(max_entries, 16);
    __uint(pinning, LIBBPF_PIN_BY_NAME);
    __type(key, __u32);
    __type(value, __u64);
} lpy_by_name SEC(".maps");

SEC("xdp")
int touch(struct xdp_md *ctx)
{
    __u32 key = 1;
    __u64 *v = bpf_map_lookup_elem(&lpy_by_name, &key);

    if (v)
        *v += 1;
    return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
