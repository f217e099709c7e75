// SPDX-License-Identifier: GPL-2.0
/* BPF cookies: each program counts its runs under the cookie it was attached with
 * (bpf_get_attach_cookie), in seen[cookie]. A test attaches with a cookie of its own
 * choosing, makes the event happen and finds the count under that cookie, and nowhere
 * else.
 *
 * The tracepoint, uprobe and perf-event programs load on every kernel tested. The
 * others load on request ("?"): raw tracepoint programs may call
 * bpf_get_attach_cookie from Linux 6.10, and kprobes, kprobe_multi and fentry are
 * refused on some kernels (this machine's lockdown); tests enable them after probing.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include "counters.h"

struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(max_entries, 64);
    __type(key, __u64);
    __type(value, __u64);
} seen SEC(".maps");

static __always_inline void count(__u64 cookie)
{
    __u64 one = 1, *value;

    if (!wanted_pid())
        return;
    value = bpf_map_lookup_elem(&seen, &cookie);
    if (value)
        __sync_fetch_and_add(value, 1);
    else
        bpf_map_update_elem(&seen, &cookie, &one, BPF_NOEXIST);
}

SEC("tracepoint/syscalls/sys_enter_getpid")
int tp_cookie(void *ctx)
{
    count(bpf_get_attach_cookie(ctx));
    return 0;
}

SEC("perf_event")
int perf_cookie(struct bpf_perf_event_data *ctx)
{
    count(bpf_get_attach_cookie(ctx));
    return 0;
}

SEC("uprobe")
int uprobe_cookie(struct pt_regs *ctx)
{
    count(bpf_get_attach_cookie(ctx));
    return 0;
}

SEC("uprobe.multi")
int uprobe_multi_cookie(struct pt_regs *ctx)
{
    count(bpf_get_attach_cookie(ctx));
    return 0;
}

SEC("?raw_tracepoint/sys_enter")
int raw_tp_cookie(struct bpf_raw_tracepoint_args *ctx)
{
    if (ctx->args[1] == 39 /* __NR_getpid on x86-64 */)
        count(bpf_get_attach_cookie(ctx));
    return 0;
}

SEC("?kprobe")
int kprobe_cookie(struct pt_regs *ctx)
{
    count(bpf_get_attach_cookie(ctx));
    return 0;
}

SEC("?kprobe.multi")
int kprobe_multi_cookie(struct pt_regs *ctx)
{
    count(bpf_get_attach_cookie(ctx));
    return 0;
}

/* __do_sys_getppid: see probes.bpf.c for why this name on every kernel tested. */
SEC("?fentry/__do_sys_getppid")
int BPF_PROG(fentry_cookie, const struct pt_regs *regs)
{
    count(bpf_get_attach_cookie(ctx));
    return 0;
}

char LICENSE[] SEC("license") = "GPL";
