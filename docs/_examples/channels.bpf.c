// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* The programs docs/execute.md runs with BPF_PROG_TEST_RUN: producers for a ring buffer
 * and a perf buffer, the consumer of a user ring buffer, and one program per test-run
 * kind. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

struct event {
    __u64 seq;
    __u32 length;
    char tag[8];
};

struct command {
    __u32 op;
    __u32 value;
};

/* BTF keeps only types something global refers to: these bring the record types in. */
struct event *event_type __attribute__((unused));
struct command *command_type __attribute__((unused));

struct {
    __uint(type, BPF_MAP_TYPE_RINGBUF);
    __uint(max_entries, 1 << 16);
} events SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_RINGBUF);
    __uint(max_entries, 1 << 12);
} other SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_PERF_EVENT_ARRAY);
    __uint(key_size, sizeof(__u32));
    __uint(value_size, sizeof(__u32));
} samples SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_USER_RINGBUF);
    __uint(max_entries, 1 << 12);
} commands SEC(".maps");

__u64 next_seq;         /* the number of the next event */
__u64 total;            /* the sum of the values of the commands with op 1 */

static __always_inline void fill(struct event *e, struct xdp_md *ctx)
{
    e->seq = __sync_fetch_and_add(&next_seq, 1);
    e->length = ctx->data_end - ctx->data;
    __builtin_memcpy(e->tag, "packet", 7);
}

/* One numbered event per packet into the ring buffer `events`. */
SEC("xdp")
int emit(struct xdp_md *ctx)
{
    struct event *e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);

    if (!e)
        return XDP_PASS;
    fill(e, ctx);
    bpf_ringbuf_submit(e, 0);
    return XDP_PASS;
}

/* 8-byte records (the number alone) into the ring buffer `other`. */
SEC("xdp")
int emit_other(struct xdp_md *ctx)
{
    __u64 seq = __sync_fetch_and_add(&next_seq, 1);

    bpf_ringbuf_output(&other, &seq, sizeof(seq), 0);
    return XDP_PASS;
}

/* The same events through the perf buffer of the CPU it runs on. */
SEC("xdp")
int sample(struct xdp_md *ctx)
{
    struct event e = {};

    fill(&e, ctx);
    bpf_perf_event_output(ctx, &samples, BPF_F_CURRENT_CPU, &e, sizeof(e));
    return XDP_PASS;
}

/* Records as tools such as execsnoop send them: the arguments, NUL-separated, in a
 * large trailing array, submitted only as far as they go. */
struct exec_event {
    __u64 seq;
    __u32 args_count;
    __u32 args_size;   /* bytes of args used, NULs included */
    char args[256];
};

struct exec_event *exec_event_type __attribute__((unused));

struct {
    __uint(type, BPF_MAP_TYPE_RINGBUF);
    __uint(max_entries, 1 << 12);
} exec_events SEC(".maps");

struct exec_event exec_buf;  /* built here: too large for the BPF stack */
__u64 exec_seq;

static __always_inline __u32 fill_exec(void)
{
    exec_buf.seq = __sync_fetch_and_add(&exec_seq, 1);
    exec_buf.args_count = 4;
    exec_buf.args_size = sizeof("ls\0-l\0--color=auto\0/tmp");  /* 24 */
    __builtin_memcpy(exec_buf.args, "ls\0-l\0--color=auto\0/tmp", 24);
    return __builtin_offsetof(struct exec_event, args) + 24;
}

/* offsetof(args) + args_size = 40 bytes of the 272-byte struct into `exec_events`. */
SEC("xdp")
int exec(struct xdp_md *ctx)
{
    bpf_ringbuf_output(&exec_events, &exec_buf, fill_exec(), 0);
    return XDP_PASS;
}

/* The same through the perf buffer `samples`. */
SEC("xdp")
int exec_sample(struct xdp_md *ctx)
{
    __u32 size = fill_exec();

    bpf_perf_event_output(ctx, &samples, BPF_F_CURRENT_CPU, &exec_buf, size);
    return XDP_PASS;
}

/* A broken record: 10 bytes, cut inside args_count. */
SEC("xdp")
int exec_broken(struct xdp_md *ctx)
{
    fill_exec();
    bpf_ringbuf_output(&exec_events, &exec_buf, 10, 0);
    return XDP_PASS;
}

/* A line in trace_pipe per packet. */
SEC("xdp")
int hello(struct xdp_md *ctx)
{
    bpf_printk("hello from libbpf_py, %d bytes", (int)(ctx->data_end - ctx->data));
    return XDP_PASS;
}

static long take(struct bpf_dynptr *dynptr, void *ctx)
{
    struct command cmd;

    if (bpf_dynptr_read(&cmd, sizeof(cmd), dynptr, 0, 0))
        return 0;
    if (cmd.op == 1)
        total += cmd.value;
    return 0;
}

/* Takes what Python wrote into the user ring buffer; returns how many records. */
SEC("syscall")
int drain(void *ctx)
{
    return bpf_user_ringbuf_drain(&commands, take, NULL, 0);
}

/* A tc classifier returns what the context says: test runs set __sk_buff fields. */
SEC("tc")
int mark_of(struct __sk_buff *skb)
{
    skb->priority = skb->mark + 1;
    return skb->mark;
}

/* A raw tracepoint gets its arguments as u64s. */
SEC("raw_tracepoint/sys_enter")
int add_args(struct bpf_raw_tracepoint_args *ctx)
{
    return ctx->args[0] + ctx->args[1];
}

/* A syscall program's context is its own struct, written back after the run. */
struct sum_args {
    __u32 a;
    __u32 b;
    __u32 sum;
};

SEC("syscall")
int sum(struct sum_args *args)
{
    args->sum = args->a + args->b;
    return 0;
}

/* Tracepoints run on their event only: the kernel cannot test-run them. */
SEC("tracepoint/syscalls/sys_enter_getpid")
int on_getpid(void *ctx)
{
    return 0;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
