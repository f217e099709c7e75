// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* The producer of the ring buffer benchmarks: one BPF_PROG_TEST_RUN of a syscall
 * program writes `count` numbered records with bpf_loop.
 *
 * Why not an XDP program with `repeat`: every XDP test run swaps the kernel's XDP
 * dispatcher, which rewrites kernel text and interrupts every CPU; the first ~15 µs of
 * user space after it run on cold TLBs and caches. That penalty fell on whichever
 * consumer ran first after the producer, a fixed cost that dwarfed small drains. A
 * syscall program does none of that, as a program on a real hook would not. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

struct big {
    __u64 seq;
    __u8 payload[120];
};

/* BTF keeps only types something global refers to: this brings struct big in, for the
 * typed-callback measurement (record_type="struct big"). */
struct big *big_type __attribute__((unused));

struct burst_args {
    __u32 count;
};

struct {
    __uint(type, BPF_MAP_TYPE_RINGBUF);
    __uint(max_entries, 1 << 16);
} ring_a SEC(".maps");

__u64 next_seq;
__u64 dropped;

static long small_one(__u64 index, void *ctx)
{
    __u64 seq = next_seq++;

    if (bpf_ringbuf_output(&ring_a, &seq, sizeof(seq), 0))
        dropped++;
    return 0;
}

static long big_one(__u64 index, void *ctx)
{
    struct big *b = bpf_ringbuf_reserve(&ring_a, sizeof(*b), 0);
    __u64 seq = next_seq++;

    if (!b) {
        dropped++;
        return 0;
    }
    b->seq = seq;
    b->payload[0] = (__u8)seq;
    b->payload[119] = 0xab;
    bpf_ringbuf_submit(b, 0);
    return 0;
}

/* 8-byte records: the number alone. */
SEC("syscall")
int burst_small(struct burst_args *args)
{
    bpf_loop(args->count, small_one, NULL, 0);
    return 0;
}

/* 128-byte records. */
SEC("syscall")
int burst_big(struct burst_args *args)
{
    bpf_loop(args->count, big_one, NULL, 0);
    return 0;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
