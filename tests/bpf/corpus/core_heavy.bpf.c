// Every CO-RE relocation kind: field offset/size/exists/signed/lshift/rshift, type id
// local/target, type exists/size/matches, enum value exists/value, with nested and
// array accesses.
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_tracing.h>

struct task_struct___old {
	long state;
} __attribute__((preserve_access_index));

struct my_missing_type {
	int nothing;
};

long results[24];

SEC("fentry/wake_up_new_task")
int BPF_PROG(core_kinds, struct task_struct *p)
{
	struct task_struct___old *old = (void *)p;
	int i = 0;

	results[i++] = bpf_core_field_offset(p->se.vruntime);
	results[i++] = bpf_core_field_size(p->comm);
	results[i++] = bpf_core_field_exists(p->__state);
	results[i++] = bpf_core_field_exists(old->state);
	results[i++] = __builtin_preserve_field_info(p->pid, BPF_FIELD_SIGNED);
	results[i++] = BPF_CORE_READ_BITFIELD_PROBED(p, sched_reset_on_fork);
	results[i++] = bpf_core_type_id_local(struct task_struct);
	results[i++] = bpf_core_type_id_kernel(struct task_struct);
	results[i++] = bpf_core_type_exists(struct my_missing_type);
	results[i++] = bpf_core_type_size(struct mm_struct);
	results[i++] = bpf_core_type_matches(struct list_head);
	results[i++] = bpf_core_enum_value_exists(enum pid_type, PIDTYPE_SID);
	results[i++] = bpf_core_enum_value(enum pid_type, PIDTYPE_PGID);
	results[i++] = BPF_CORE_READ(p, real_parent, real_parent, pid);
	results[i++] = BPF_CORE_READ(p, mm, mmap_base);
	results[i++] = BPF_CORE_READ(p, comm[3]);
	results[i++] = BPF_CORE_READ(p, thread_info.flags);
	results[i++] = BPF_CORE_READ(p, nsproxy, pid_ns_for_children, level);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
