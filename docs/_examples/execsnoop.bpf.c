// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* A small execsnoop, the program docs/howto/execsnoop.md builds on: one event per
 * execve(), with the process, its parent, the command name, the result, and the
 * filename plus arguments as NUL-separated strings. Only the filled part of the event
 * goes to user space. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>

#define ARG_SIZE 128                    /* at most this many bytes per string, NUL included */
#define MAX_ARGS 20                     /* the filename and up to 19 arguments after argv[0] */
#define ARGS_BYTES (ARG_SIZE * MAX_ARGS)

struct event {
    __u32 pid;
    __u32 ppid;
    __s32 retval;                       /* what execve() returned: 0, or -errno */
    __u32 args_count;                   /* how many strings are in args */
    __u32 args_size;                    /* how many bytes of args they use, NULs included */
    char comm[16];
    char args[ARGS_BYTES];
};

/* Set before load: 0 traces every process, otherwise only children of this process. */
const volatile __u32 target_ppid = 0;
/* Set before load: which channel the events take. The verifier drops the other branch. */
const volatile bool use_perf = false;

/* The event is built at the entry of execve() and sent at its exit, when the new comm
 * and the result are known. In between it lives here, keyed by thread id: at 2.6 KB it
 * does not fit the 512-byte BPF stack. */
struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(max_entries, 1024);          /* execve() calls in flight at once */
    __type(key, __u32);
    __type(value, struct event);
} execs SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_RINGBUF);
    __uint(max_entries, 256 * 1024);
} events SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_PERF_EVENT_ARRAY);
    __uint(key_size, sizeof(__u32));
    __uint(value_size, sizeof(__u32));
} perf_events SEC(".maps");

/* The zeroed value a new entry of `execs` starts from. */
static const struct event empty_event = {};

SEC("tracepoint/syscalls/sys_enter_execve")
int enter_execve(struct trace_event_raw_sys_enter *ctx)
{
    struct task_struct *task = (struct task_struct *)bpf_get_current_task();
    __u64 id = bpf_get_current_pid_tgid();
    __u32 tid = (__u32)id;
    __u32 ppid = BPF_CORE_READ(task, real_parent, tgid);
    const char *const *argv = (const char *const *)ctx->args[1];
    const char *arg;
    struct event *e;
    long n;
    int i;

    if (target_ppid && ppid != target_ppid)
        return 0;
    if (bpf_map_update_elem(&execs, &tid, &empty_event, BPF_NOEXIST))
        return 0;
    e = bpf_map_lookup_elem(&execs, &tid);
    if (!e)
        return 0;
    e->pid = id >> 32;
    e->ppid = ppid;

    /* The filename first (the path that is run), then argv[1], argv[2], ... */
    n = bpf_probe_read_user_str(e->args, ARG_SIZE, (const char *)ctx->args[0]);
    if (n <= 0)
        return 0;
    e->args_count = 1;
    e->args_size = n;
    for (i = 1; i < MAX_ARGS; i++) {
        __u32 used = e->args_size;

        if (bpf_probe_read_user(&arg, sizeof(arg), &argv[i]) || !arg)
            break;
        /* Leave room for a whole string: this bound is also what the verifier needs
         * to accept the variable offset into args. */
        if (used > ARGS_BYTES - ARG_SIZE)
            break;
        n = bpf_probe_read_user_str(&e->args[used], ARG_SIZE, arg);
        if (n <= 0)
            break;
        e->args_count++;
        e->args_size = used + n;
    }
    return 0;
}

SEC("tracepoint/syscalls/sys_exit_execve")
int exit_execve(struct trace_event_raw_sys_exit *ctx)
{
    __u32 tid = (__u32)bpf_get_current_pid_tgid();
    struct event *e = bpf_map_lookup_elem(&execs, &tid);
    __u32 used;

    if (!e)
        return 0;
    e->retval = ctx->ret;
    bpf_get_current_comm(e->comm, sizeof(e->comm));   /* the new program's name */
    used = e->args_size;
    if (used <= ARGS_BYTES) {
        /* Only the header and the strings: offsetof(args) + args_size bytes. */
        __u32 size = __builtin_offsetof(struct event, args) + used;

        if (use_perf)
            bpf_perf_event_output(ctx, &perf_events, BPF_F_CURRENT_CPU, e, size);
        else
            bpf_ringbuf_output(&events, e, size, 0);
    }
    bpf_map_delete_elem(&execs, &tid);
    return 0;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
