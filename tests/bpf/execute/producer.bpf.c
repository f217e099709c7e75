// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* Producers of numbered records for the event-channel tests and benchmarks.
 *
 * Each XDP program writes one record per run; BPF_PROG_TEST_RUN with `repeat` runs it
 * many times in one system call. Every record carries the next number of its producer;
 * a record that finds no room is counted in `dropped`, so a consumer can account for
 * every number: seen + dropped == produced. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

struct event {
    __u64 seq;
    __u32 producer;
    __u32 flags;
    char tag[8];
};

struct big {
    __u64 seq;
    __u8 payload[120];
};

/* BTF keeps only types that something global refers to: these pointers bring the
 * record types into the object's BTF, so user space can decode records by type name. */
struct event *event_type __attribute__((unused));
struct big *big_type __attribute__((unused));

struct {
    __uint(type, BPF_MAP_TYPE_RINGBUF);
    __uint(max_entries, 1 << 16);
} ring_a SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_RINGBUF);
    __uint(max_entries, 1 << 16);
} ring_b SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_PERF_EVENT_ARRAY);
    __uint(key_size, sizeof(__u32));
    __uint(value_size, sizeof(__u32));
} perf_events SEC(".maps");

/* Per producer: the next number, and how many records found no room. */
__u64 next_seq[2];
__u64 dropped[2];

static __always_inline int emit(void *ring, __u32 producer)
{
    struct event *e = bpf_ringbuf_reserve(ring, sizeof(*e), 0);
    __u64 seq = __sync_fetch_and_add(&next_seq[producer], 1);

    if (!e) {
        __sync_fetch_and_add(&dropped[producer], 1);
        return XDP_PASS;
    }
    e->seq = seq;
    e->producer = producer;
    e->flags = 0;
    __builtin_memcpy(e->tag, "lpy-evt", 8);
    bpf_ringbuf_submit(e, 0);
    return XDP_PASS;
}

SEC("xdp")
int produce_a(struct xdp_md *ctx)
{
    return emit(&ring_a, 0);
}

SEC("xdp")
int produce_b(struct xdp_md *ctx)
{
    return emit(&ring_b, 1);
}

/* 8-byte records: the number alone, copied in by bpf_ringbuf_output. */
SEC("xdp")
int produce_small(struct xdp_md *ctx)
{
    __u64 seq = __sync_fetch_and_add(&next_seq[0], 1);

    if (bpf_ringbuf_output(&ring_a, &seq, sizeof(seq), 0))
        __sync_fetch_and_add(&dropped[0], 1);
    return XDP_PASS;
}

/* 128-byte records. */
SEC("xdp")
int produce_big(struct xdp_md *ctx)
{
    struct big *b = bpf_ringbuf_reserve(&ring_a, sizeof(*b), 0);
    __u64 seq = __sync_fetch_and_add(&next_seq[0], 1);

    if (!b) {
        __sync_fetch_and_add(&dropped[0], 1);
        return XDP_PASS;
    }
    b->seq = seq;
    b->payload[0] = (__u8)seq;
    b->payload[119] = 0xab;
    bpf_ringbuf_submit(b, 0);
    return XDP_PASS;
}

/* Records of 65 to 200 bytes, most of them not a multiple of 8 long: byte i of record
 * seq is (seq + i) & 0xff after the 8-byte number. They test copies that start and end
 * anywhere in the destination. */
__u8 odd_buf[256];

SEC("xdp")
int produce_odd(struct xdp_md *ctx)
{
    __u64 seq = __sync_fetch_and_add(&next_seq[0], 1);
    __u32 size = 65 + (__u32)(seq % 136);
    __u32 i;

    *(__u64 *)odd_buf = seq;
    for (i = 8; i < 200; i++)
        odd_buf[i] = (__u8)(seq + i);
    /* clang knows size <= 200 and would drop the check the verifier needs to see. */
    asm volatile("" : "+r"(size));
    if (size > 200)
        return XDP_ABORTED;
    if (bpf_ringbuf_output(&ring_a, odd_buf, size, 0))
        __sync_fetch_and_add(&dropped[0], 1);
    return XDP_PASS;
}

/* The same numbered events through a perf event array (one buffer per CPU). */
SEC("xdp")
int produce_perf(struct xdp_md *ctx)
{
    struct event e = {};

    e.seq = __sync_fetch_and_add(&next_seq[1], 1);
    e.producer = 1;
    __builtin_memcpy(e.tag, "lpy-prf", 8);
    if (bpf_perf_event_output(ctx, &perf_events, BPF_F_CURRENT_CPU, &e, sizeof(e)))
        __sync_fetch_and_add(&dropped[1], 1);
    return XDP_PASS;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
