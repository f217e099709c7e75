// Hand-written instructions of every class, so the disassembler sees each form:
// ALU/ALU64 with registers and immediates, neg, arsh, endianness, JMP/JMP32 of every
// comparison, ST with immediates, LDX/STX of every size, ld_abs/ld_ind, ld_imm64.
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

u64 slot;

SEC("socket")
int alu_forms(struct __sk_buff *skb)
{
	asm volatile (
		"r2 = 7;"
		"w3 = 9;"
		"r2 += r3; r2 -= 1; r2 *= r3; r2 /= 3; r2 |= r3; r2 &= 0xff; r2 <<= 2;"
		"r2 >>= r3; r2 ^= -1; r2 %%= 5; r2 s>>= 1; r2 = -r2;"
		"w2 += w3; w2 -= 1; w2 *= w3; w2 /= 3; w2 |= w3; w2 &= 0xff; w2 <<= 2;"
		"w2 >>= w3; w2 ^= -1; w2 %%= 5; w2 s>>= 1; w2 = -w2; w2 = w3;"
		"r2 = be16 r2; r2 = be32 r2; r2 = be64 r2;"
		"r2 = le16 r2; r2 = le32 r2; r2 = le64 r2;"
		"r4 = 0x1122334455667788 ll;"
		"r5 = -1 ll;"
		::: "r2", "r3", "r4", "r5");
	return 0;
}

SEC("socket")
int jmp_forms(struct __sk_buff *skb)
{
	asm volatile (
		"r2 = 1; r3 = 2; r0 = 0;"
		"if r2 == r3 goto 1f; if r2 != 3 goto 1f; if r2 > r3 goto 1f; if r2 >= 4 goto 1f;"
		"if r2 < r3 goto 1f; if r2 <= 5 goto 1f; if r2 s> r3 goto 1f; if r2 s>= -6 goto 1f;"
		"if r2 s< r3 goto 1f; if r2 s<= -7 goto 1f; if r2 & r3 goto 1f; if r2 & 8 goto 1f;"
		"if w2 == w3 goto 1f; if w2 != 3 goto 1f; if w2 > w3 goto 1f; if w2 >= 4 goto 1f;"
		"if w2 < w3 goto 1f; if w2 <= 5 goto 1f; if w2 s> w3 goto 1f; if w2 s>= -6 goto 1f;"
		"if w2 s< w3 goto 1f; if w2 s<= -7 goto 1f; if w2 & w3 goto 1f; if w2 & 8 goto 1f;"
		"r0 = 1;"
		"1:"
		::: "r0", "r2", "r3");
	return 0;
}

SEC("socket")
int mem_forms(struct __sk_buff *skb)
{
	asm volatile (
		"r6 = r1;"
		"*(u8 *)(r10 - 8) = 1; *(u16 *)(r10 - 8) = 2; *(u32 *)(r10 - 8) = 3;"
		"*(u64 *)(r10 - 8) = -4;"
		"r2 = 5;"
		"*(u8 *)(r10 - 16) = r2; *(u16 *)(r10 - 16) = r2; *(u32 *)(r10 - 16) = r2;"
		"*(u64 *)(r10 - 16) = r2;"
		"r3 = *(u8 *)(r10 - 16); r3 = *(u16 *)(r10 - 16); r3 = *(u32 *)(r10 - 16);"
		"r3 = *(u64 *)(r10 - 16);"
		"r0 = *(u8 *)skb[12]; r0 = *(u16 *)skb[12]; r0 = *(u32 *)skb[12];"
		"r7 = 2;"
		"r0 = *(u8 *)skb[r7]; r0 = *(u16 *)skb[r7]; r0 = *(u32 *)skb[r7];"
		::: "r0", "r2", "r3", "r6", "r7");
	slot = 1;
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
