// SPDX-License-Identifier: GPL-2.0
/* CO-RE relocations that do not simply resolve, for tests/inspect/test_core_resolve.py
 * to compare the offline resolver with libbpf on: fields and types no kernel has
 * (guarded and not), an index past the kernel's array, a signed field of another size
 * read directly (poisoned) and an unsigned one (the load is resized), enumerators that
 * do not exist. Flavors (___suffix) give each local view of task_struct its own layout. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_tracing.h>

struct task_struct___fake {
    int no_such_field;
} __attribute__((preserve_access_index));

struct task_struct___old {
    long state;
} __attribute__((preserve_access_index));

struct task_struct___big {
    char comm[32];
} __attribute__((preserve_access_index));

struct task_struct___wide {
    long pid;
} __attribute__((preserve_access_index));

struct task_struct___uwide {
    unsigned long long flags;
} __attribute__((preserve_access_index));

struct no_such_type___x {
    int a;
} __attribute__((preserve_access_index));

enum pid_type___fake { PIDTYPE_NOPE = 9 };

char LICENSE[] SEC("license") = "GPL";
long out;

SEC("tp_btf/task_newtask")
int BPF_PROG(guarded, struct task_struct *task, u64 clone_flags)
{
    struct task_struct___fake *f = (void *)task;
    struct task_struct___old *o = (void *)task;

    if (bpf_core_field_exists(f->no_such_field))
        out = BPF_CORE_READ(f, no_such_field);
    if (bpf_core_field_exists(o->state))
        out += BPF_CORE_READ(o, state);
    return 0;
}

SEC("tp_btf/task_newtask")
int BPF_PROG(unguarded, struct task_struct *task, u64 clone_flags)
{
    struct task_struct___fake *f = (void *)task;

    out = BPF_CORE_READ(f, no_such_field);
    out += bpf_core_enum_value(enum pid_type___fake, PIDTYPE_NOPE);
    return 0;
}

SEC("tp_btf/task_newtask")
int BPF_PROG(out_of_range, struct task_struct *task, u64 clone_flags)
{
    struct task_struct___big *b = (void *)task;

    out = BPF_CORE_READ(b, comm[20]);
    return 0;
}

SEC("tp_btf/task_newtask")
int BPF_PROG(sizes, struct task_struct *task, u64 clone_flags)
{
    struct task_struct___wide *w = (void *)task;
    struct task_struct___uwide *u = (void *)task;

    out = w->pid;
    out += u->flags;
    return 0;
}

SEC("tp_btf/task_newtask")
int BPF_PROG(types_and_enums, struct task_struct *task, u64 clone_flags)
{
    out = bpf_core_type_exists(struct no_such_type___x);
    out += bpf_core_enum_value_exists(enum pid_type___fake, PIDTYPE_NOPE);
    out += bpf_core_type_size(struct no_such_type___x);
    out += bpf_core_type_matches(struct task_struct___old);
    return 0;
}
