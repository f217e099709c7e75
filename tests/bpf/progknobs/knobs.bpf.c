// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* Programs and maps for the pre-load knobs: a device-bound XDP program, a fentry
 * program without a target in its section, a .kconfig extern, a CO-RE type size and a map
 * prepare() creates. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>

/* Set through open(kconfig="CONFIG_LPY_KNOB=...") or left at its weak default 0. */
extern int CONFIG_LPY_KNOB __kconfig __weak;

struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __uint(max_entries, 4);
    __type(key, __u32);
    __type(value, __u64);
} knob_seen SEC(".maps");

__u64 kconfig_value;
__u64 task_struct_size;

SEC("xdp")
int xdp_bound(struct xdp_md *ctx)
{
    return XDP_PASS;
}

/* Copies the kconfig extern and a CO-RE relocated size into globals for test_run. */
SEC("xdp")
int xdp_report(struct xdp_md *ctx)
{
    __u32 key = 0;
    __u64 *slot = bpf_map_lookup_elem(&knob_seen, &key);

    kconfig_value = CONFIG_LPY_KNOB;
    task_struct_size = bpf_core_type_size(struct task_struct);
    if (slot)
        *slot = kconfig_value;
    return XDP_PASS;
}

SEC("?fentry")
int fentry_any(void *ctx)
{
    return 0;
}

char LICENSE[] SEC("license") = "GPL";
