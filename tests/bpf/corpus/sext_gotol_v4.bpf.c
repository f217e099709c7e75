// Compiled with -mcpu=v4: sign-extending loads and moves, signed division, bswap,
// gotol (a jump too long for 16 bits) and may_goto.
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

s8 s8v = -5;
s16 s16v = -300;
s32 s32v = -70000;
long out[8];

SEC("tp/syscalls/sys_enter_getuid")
int sext(void *ctx)
{
	long a = s8v, b = s16v, c = s32v;
	int x = (s8)bpf_get_prandom_u32();
	long y = (s16)bpf_get_prandom_u32();
	long z = (s32)bpf_ktime_get_ns();

	out[0] = a / (b | 1);
	out[1] = c % (a | 1);
	out[2] = x + y + z;
	out[3] = __builtin_bswap64(z);
	out[4] = __builtin_bswap32(x);
	out[5] = __builtin_bswap16(y);
	out[6] = (int)x / (int)(s32v | 1);
	out[7] = (int)x % (int)(s8v | 1);
	return 0;
}

SEC("tp/syscalls/sys_enter_getgid")
int may_goto_loop(void *ctx)
{
	asm volatile (
		"r1 = 0;"
		"1: may_goto 2f;"
		"r1 += 1;"
		"if r1 < 100 goto 1b;"
		"2: r0 = r1;"
		::: "r0", "r1");
	return 0;
}

SEC("tp/syscalls/sys_enter_geteuid")
int long_jump(void *ctx)
{
	asm volatile (
		"r0 = 0;"
		"if r1 == 0 goto 1f;"
		"gotol 2f;"
		"1:"
		".rept 40000\n"
		"r0 += 1;\n"
		".endr\n"
		"2: r0 = 1;"
		::: "r0", "r1");
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
