// SPDX-License-Identifier: GPL-2.0
/* Programs for lifecycle tests: one auto-attachable tracepoint, one XDP, one optional. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __uint(max_entries, 4);
    __type(key, __u32);
    __type(value, __u64);
} hits SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(max_entries, 8);
    __type(key, __u64);
    __type(value, __s32);
} small SEC(".maps");

int my_pid = 0;

/* Counts getpid() calls made by the test process itself. */
SEC("tracepoint/syscalls/sys_enter_getpid")
int count_getpid(void *ctx)
{
    __u32 key = 0;
    __u64 *value;

    if ((bpf_get_current_pid_tgid() >> 32) != my_pid)
        return 0;
    value = bpf_map_lookup_elem(&hits, &key);
    if (value)
        __sync_fetch_and_add(value, 1);
    return 0;
}

SEC("xdp")
int pass_all(struct xdp_md *ctx)
{
    __u32 key = 1;
    __u64 *value = bpf_map_lookup_elem(&hits, &key);

    if (value)
        __sync_fetch_and_add(value, 1);
    return XDP_PASS;
}

/* Not loaded unless a test turns autoload on. */
SEC("?xdp")
int drop_all(struct xdp_md *ctx)
{
    return XDP_DROP;
}

char LICENSE[] SEC("license") = "GPL";
