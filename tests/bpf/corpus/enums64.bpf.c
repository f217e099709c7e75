// Enums: plain, signed, packed, 64-bit (ENUM64), and CO-RE enum value relocations.
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>

enum color { RED, GREEN = 4, BLUE };
enum neg { MINUS_ONE = -1, ZERO = 0, PLUS = 1 };
enum __attribute__((packed)) tiny { T0, T1, T255 = 255 };
enum big { SMALL = 1, HUGE = 0xfedcba9876543210ULL };
enum sbig { NEG_HUGE = -0x7000000000000000LL, POS = 1 };

const volatile enum color favourite = BLUE;
const volatile enum neg sign = MINUS_ONE;
const volatile enum tiny tiny_val = T255;
const volatile enum big big_val = HUGE;
enum sbig sbig_val = NEG_HUGE;

SEC("fentry/__x64_sys_getppid")
int enum_core(void *ctx)
{
	long r = 0;

	if (bpf_core_enum_value_exists(enum pid_type, PIDTYPE_TGID))
		r += bpf_core_enum_value(enum pid_type, PIDTYPE_TGID);
	if (bpf_core_enum_value_exists(enum bpf_map_type, BPF_MAP_TYPE_ARENA))
		r += bpf_core_enum_value(enum bpf_map_type, BPF_MAP_TYPE_ARENA);
	return r + favourite + sign + tiny_val + (big_val >> 60) + (sbig_val < 0);
}

char LICENSE[] SEC("license") = "GPL";
