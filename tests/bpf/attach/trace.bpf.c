// SPDX-License-Identifier: GPL-2.0
/* Tracing attach kinds: tracepoints, perf events, uprobes, USDT, iterators, kprobes. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/usdt.bpf.h>
#include "counters.h"

SEC("tracepoint/syscalls/sys_enter_getpid")
int tp_getpid(void *ctx)
{
    if (wanted_pid())
        bump(0);
    return 0;
}

SEC("raw_tracepoint/sys_enter")
int raw_sys_enter(struct bpf_raw_tracepoint_args *ctx)
{
    if (wanted_pid() && ctx->args[1] == 39 /* __NR_getpid on x86-64 */)
        bump(1);
    return 0;
}

SEC("perf_event")
int on_cpu_clock(struct bpf_perf_event_data *ctx)
{
    bump(2);
    return 0;
}

SEC("uprobe")
int on_target(struct pt_regs *ctx)
{
    bump(3);
    return 0;
}

SEC("uretprobe")
int on_target_ret(struct pt_regs *ctx)
{
    bump(4);
    return 0;
}

SEC("usdt")
int on_tick(struct pt_regs *ctx)
{
    long n = 0;

    bpf_usdt_arg(ctx, 0, &n);
    if (n == 42)
        bump(5);
    return 0;
}

SEC("uprobe.multi")
int on_targets(struct pt_regs *ctx)
{
    bump(6);
    return 0;
}

/* Iterators load only on request ("?"): kernels differ per iterator target (some
 * refuse map-element iterators while allowing others), and a refused program would
 * otherwise fail the whole object's load. Tests enable them after probing. */
SEC("?iter/bpf_map_elem")
int dump_hits(struct bpf_iter__bpf_map_elem *ctx)
{
    __u32 *key = ctx->key;
    __u64 *value = ctx->value;

    if (!key || !value)
        return 0;
    bump(7);
    BPF_SEQ_PRINTF(ctx->meta->seq, "%u %llu\n", *key, *value);
    return 0;
}

SEC("?iter/bpf_map")
int dump_maps(struct bpf_iter__bpf_map *ctx)
{
    struct bpf_map *map = ctx->map;

    if (!map)
        return 0;
    bump(10);
    BPF_SEQ_PRINTF(ctx->meta->seq, "map %u %u\n", map->id, map->max_entries);
    return 0;
}

SEC("kprobe")
int on_vfs_read(struct pt_regs *ctx)
{
    bump(8);
    return 0;
}

SEC("kprobe.multi")
int on_vfs_many(struct pt_regs *ctx)
{
    bump(9);
    return 0;
}

char LICENSE[] SEC("license") = "GPL";
