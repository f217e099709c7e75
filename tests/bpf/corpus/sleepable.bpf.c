// Sleepable programs: fentry.s, lsm.s, iter.s, syscall, and an ordinary lsm.
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>

char path_buf[256];
int denied;

SEC("lsm.s/file_open")
int BPF_PROG(check_open, struct file *file)
{
	long n = bpf_d_path(&file->f_path, path_buf, sizeof(path_buf));
	return n < 0 ? 0 : 0;
}

SEC("lsm/bpf")
int BPF_PROG(check_bpf, int cmd, union bpf_attr *attr, unsigned int size)
{
	if (cmd == 0x7fff) {
		denied++;
		return -1;
	}
	return 0;
}

SEC("fentry.s/__x64_sys_getpgid")
int BPF_PROG(sleepy_getpgid, struct pt_regs *regs)
{
	return 0;
}

SEC("iter.s/task")
int dump_task(struct bpf_iter__task *ctx)
{
	struct task_struct *task = ctx->task;

	if (!task)
		return 0;
	BPF_SEQ_PRINTF(ctx->meta->seq, "%d\n", task->pid);
	return 0;
}

SEC("syscall")
int run_syscall(void *ctx)
{
	return bpf_get_current_pid_tgid() & 0xff;
}

char LICENSE[] SEC("license") = "GPL";
