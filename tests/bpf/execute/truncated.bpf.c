// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* Records as real tools send them: an execsnoop-style struct whose last member is a
 * large `char args[]` of NUL-separated strings, submitted only as far as it was filled,
 * `offsetof(struct exec_event, args) + args_size` bytes, through a ring buffer and a
 * perf buffer.
 *
 * User space sets the arguments (`input`, `input_len`) in .bss before a test run. With
 * `cut` non-zero, exactly `cut` bytes are submitted instead: a record that ends
 * wherever the test wants, inside a scalar too. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

#define ARGS_SIZE 512

struct exec_event {
    __u64 ts;
    __u32 pid;
    __u32 args_count;
    __u32 args_size;
    char comm[16];
    char args[ARGS_SIZE];
};

/* Trailing arrays of other element types, for the decode tests. */
struct readings {
    __u32 count;
    __u32 values[16];
};

struct blob {
    __u16 len;
    __u8 data[30];
};

/* No trailing array: a record holds every member (only its trailing padding may be
 * missing). */
struct pair {
    __u64 a;
    __u32 b;
};

struct exec_event *exec_event_type __attribute__((unused));
struct readings *readings_type __attribute__((unused));
struct blob *blob_type __attribute__((unused));
struct pair *pair_type __attribute__((unused));

struct {
    __uint(type, BPF_MAP_TYPE_RINGBUF);
    __uint(max_entries, 1 << 16);
} exec_ring SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_PERF_EVENT_ARRAY);
    __uint(key_size, sizeof(__u32));
    __uint(value_size, sizeof(__u32));
} exec_perf SEC(".maps");

/* The event is too large for the stack: it is built in a per-CPU array, as tools do. */
struct {
    __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
    __uint(max_entries, 1);
    __type(key, __u32);
    __type(value, struct exec_event);
} heap SEC(".maps");

char input[ARGS_SIZE];  /* NUL-separated arguments, set by user space */
__u32 input_len;        /* how many bytes of input are used */
__u32 input_count;      /* how many arguments they are */
__u32 cut;              /* non-zero: submit exactly this many bytes */
__u64 next_ts;

static __always_inline struct exec_event *build(__u32 *size)
{
    __u32 zero = 0, len = input_len, n;
    struct exec_event *e = bpf_map_lookup_elem(&heap, &zero);

    if (!e)
        return 0;
    e->ts = ++next_ts;
    e->pid = 4242;
    e->args_count = input_count;
    __builtin_memcpy(e->comm, "lpy-exec", 9);
    __builtin_memcpy(e->args, input, ARGS_SIZE);
    /* Bound the lengths where the verifier can see it. */
    asm volatile("" : "+r"(len));
    if (len > ARGS_SIZE)
        len = ARGS_SIZE;
    e->args_size = len;
    n = cut ? cut : __builtin_offsetof(struct exec_event, args) + len;
    asm volatile("" : "+r"(n));
    if (n > sizeof(*e))
        return 0;
    *size = n;
    return e;
}

SEC("xdp")
int exec_to_ring(struct xdp_md *ctx)
{
    __u32 size = 0;
    struct exec_event *e = build(&size);

    if (e && size)
        bpf_ringbuf_output(&exec_ring, e, size, 0);
    return XDP_PASS;
}

SEC("xdp")
int exec_to_perf(struct xdp_md *ctx)
{
    __u32 size = 0;
    struct exec_event *e = build(&size);

    if (e && size)
        bpf_perf_event_output(ctx, &exec_perf, BPF_F_CURRENT_CPU, e, size);
    return XDP_PASS;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
