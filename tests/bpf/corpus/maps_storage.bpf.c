// Local storage maps (socket, inode, task, cgroup) and the old cgroup storage maps.
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

struct owner { u32 uid; u64 when; };

struct {
	__uint(type, BPF_MAP_TYPE_SK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct owner);
} sk_owner SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_INODE_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, u64);
} inode_marks SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct owner);
} task_owner SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_CGRP_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, u64);
} cgrp_bytes SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_CGROUP_STORAGE);
	__type(key, struct bpf_cgroup_storage_key);
	__type(value, u64);
} legacy_cg SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_CGROUP_STORAGE);
	__type(key, struct bpf_cgroup_storage_key);
	__type(value, u64);
} legacy_cg_percpu SEC(".maps");

SEC("lsm/inode_unlink")
int BPF_PROG(mark_unlink, struct inode *dir, struct dentry *victim)
{
	struct task_struct *task = bpf_get_current_task_btf();
	struct owner *o = bpf_task_storage_get(&task_owner, task, 0,
					       BPF_LOCAL_STORAGE_GET_F_CREATE);
	u64 *m = bpf_inode_storage_get(&inode_marks, dir, 0, BPF_LOCAL_STORAGE_GET_F_CREATE);

	if (o)
		o->when = bpf_ktime_get_ns();
	if (m)
		*m += 1;
	return 0;
}

SEC("cgroup_skb/egress")
int egress_bytes(struct __sk_buff *skb)
{
	u64 *v = bpf_get_local_storage(&legacy_cg, 0);
	u64 *pc = bpf_get_local_storage(&legacy_cg_percpu, 0);
	struct bpf_sock *sk = skb->sk;
	struct owner *o;

	*v += skb->len;
	*pc += 1;
	if (!sk)
		return 1;
	sk = bpf_sk_fullsock(sk);
	if (!sk)
		return 1;
	o = bpf_sk_storage_get(&sk_owner, sk, 0, BPF_SK_STORAGE_GET_F_CREATE);
	if (o)
		o->uid = bpf_get_current_uid_gid();
	return 1;
}

SEC("tp_btf/cgroup_mkdir")
int BPF_PROG(on_mkdir, struct cgroup *cgrp, const char *path)
{
	u64 *b = bpf_cgrp_storage_get(&cgrp_bytes, cgrp, 0, BPF_LOCAL_STORAGE_GET_F_CREATE);

	if (b)
		*b = 1;
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
