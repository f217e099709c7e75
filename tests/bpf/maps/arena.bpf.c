// SPDX-License-Identifier: GPL-2.0
/* An arena shared with Python (tests/maps/test_arena.py): a sleepable syscall program
 * allocates an arena page and writes into it and into __arena globals; a second one
 * reads back what Python wrote there. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

/* clang 19 places variables of address space 1 in .addr_space.1: libbpf copies them
 * into the object's arena at load. */
#define __arena __attribute__((address_space(1)))

#ifndef NUMA_NO_NODE
#define NUMA_NO_NODE (-1)
#endif

struct {
    __uint(type, BPF_MAP_TYPE_ARENA);
    __uint(map_flags, BPF_F_MMAPABLE);
    __uint(max_entries, 8); /* pages */
} arena SEC(".maps");

void __arena *bpf_arena_alloc_pages(void *map, void __arena *addr, __u32 page_cnt,
                                    int node_id, __u64 flags) __ksym __weak;

struct point {
    __u32 x;
    __s32 y;
    __u64 tag;
};

/* Globals in the arena. */
__u64 __arena counter;
struct point __arena origin = { .x = 1, .y = -2, .tag = 3 };
__u64 __arena *__arena page; /* the page arena_write allocated */

/* Ordinary globals that tell Python what the programs saw. */
__u64 page_addr;
__u64 counter_addr;
__u64 origin_addr;
__u64 seen_page;
__u64 seen_counter;
__u32 seen_x;

SEC("syscall")
int arena_write(void *ctx)
{
    __u64 __arena *p = bpf_arena_alloc_pages(&arena, NULL, 1, NUMA_NO_NODE, 0);

    if (!p)
        return 1;
    p[0] = 0x1122334455667788ULL;
    p[1] = counter + 1;
    page = p;
    counter += 10;
    origin.x += 1;
    page_addr = (__u64)p;
    counter_addr = (__u64)&counter;
    origin_addr = (__u64)&origin;
    return 0;
}

SEC("syscall")
int arena_check(void *ctx)
{
    __u64 __arena *p = page;

    if (!p)
        return 1;
    seen_page = p[0];
    seen_counter = counter;
    seen_x = origin.x;
    return 0;
}

char LICENSE[] SEC("license") = "GPL";
