// uprobes, uretprobes, sleepable uprobes, usdt-style and multi uprobes.
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>

struct bash_line {
	u32 pid;
	char text[80];
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, u32);
	__type(value, struct bash_line);
} scratch SEC(".maps");

SEC("uretprobe//bin/bash:readline")
int BPF_URETPROBE(readline_ret, const void *ret)
{
	u32 zero = 0;
	struct bash_line *l = bpf_map_lookup_elem(&scratch, &zero);

	if (!l || !ret)
		return 0;
	l->pid = bpf_get_current_pid_tgid() >> 32;
	bpf_probe_read_user_str(l->text, sizeof(l->text), ret);
	return 0;
}

SEC("uprobe//lib/x86_64-linux-gnu/libc.so.6:malloc")
int BPF_UPROBE(malloc_entry, size_t size)
{
	return size > 4096;
}

SEC("uprobe.s//bin/bash:shell_execve")
int BPF_UPROBE(sleepy_execve, const char *path)
{
	char buf[32];

	bpf_copy_from_user(buf, sizeof(buf), path);
	return buf[0] == '/';
}

SEC("uprobe.multi//lib/x86_64-linux-gnu/libc.so.6:str*")
int multi_str(struct pt_regs *ctx)
{
	return 0;
}

SEC("kprobe/do_sys_openat2")
int BPF_KPROBE(open_probe, int dfd, const char *filename)
{
	return dfd;
}

SEC("ksyscall/kill")
int BPF_KSYSCALL(kill_probe, pid_t pid, int sig)
{
	return sig == 9;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
