// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* One struct through every channel: a hash map value, a global, a ring buffer record and
 * a perf sample, all written by one run of `emit`. User space must read the same Python
 * value, of the same Python type, from each. `name` holds NUL-separated strings and
 * `addr` a zero byte, for the char rule: char[N] strips only trailing NULs, unsigned
 * char[N] keeps every byte. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

enum lpy_colour { LPY_RED = 1, LPY_GREEN = 2 };

struct lpy_sample {
    __u64 seq;
    __s32 delta;
    enum lpy_colour colour;
    char name[12];
    unsigned char addr[6];
    _Bool ok;
    union {
        __u32 port;
        __u16 halves[2];
    };
    struct { __u16 lo; __u16 hi; } pair;
    __u32 flags: 3, kind: 5;
};

struct lpy_sample *sample_type __attribute__((unused));
struct lpy_sample last;
/* Initialised, so its initial value read from the file (read_object, no kernel) is not
 * all zeros: it must equal what the loaded object's globals view reads, as the same
 * Python type. */
struct lpy_sample first = {
    .seq = 7, .delta = -1, .colour = LPY_RED, .name = "ab\0cd",
    .addr = { 0x0a, 0, 0, 1, 0, 0 }, .ok = 1, .port = 0x00350035,
    .pair = { .lo = 3, .hi = 4 }, .flags = 5, .kind = 17,
};

struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(max_entries, 4);
    __type(key, __u32);
    __type(value, struct lpy_sample);
} samples SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_RINGBUF);
    __uint(max_entries, 1 << 12);
} ring SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_PERF_EVENT_ARRAY);
    __uint(key_size, sizeof(__u32));
    __uint(value_size, sizeof(__u32));
} perf SEC(".maps");

SEC("xdp")
int emit(struct xdp_md *ctx)
{
    struct lpy_sample s = {};
    __u32 key = 1;

    s.seq = 42;
    s.delta = -7;
    s.colour = LPY_GREEN;
    __builtin_memcpy(s.name, "ab\0cd\0\0\0\0\0\0\0", 12);
    __builtin_memcpy(s.addr, "\x0a\x00\x00\x01\x00\x00", 6);
    s.ok = 1;
    s.port = 0x00350035;
    s.pair.lo = 3;
    s.pair.hi = 4;
    s.flags = 5;
    s.kind = 17;
    last = s;
    bpf_map_update_elem(&samples, &key, &s, BPF_ANY);
    bpf_ringbuf_output(&ring, &s, sizeof(s), 0);
    bpf_perf_event_output(ctx, &perf, BPF_F_CURRENT_CPU, &s, sizeof(s));
    return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
