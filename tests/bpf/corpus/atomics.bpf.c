// Every atomic operation, 32- and 64-bit, with and without fetch.
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

u64 a64 = 1;
u32 a32 = 1;
u64 results[16];

SEC("tp/syscalls/sys_enter_sync")
int atomics(void *ctx)
{
	__sync_fetch_and_add(&a64, 1);
	__sync_fetch_and_add(&a32, 1);
	results[0] = __sync_fetch_and_add(&a64, 2);
	results[1] = __sync_fetch_and_add(&a32, 2);
	results[2] = __sync_fetch_and_and(&a64, 0xff);
	results[3] = __sync_fetch_and_or(&a32, 0x10);
	results[4] = __sync_fetch_and_xor(&a64, 0x3);
	results[5] = __sync_fetch_and_sub(&a64, 1);
	results[6] = __sync_lock_test_and_set(&a64, 42);
	results[7] = __sync_lock_test_and_set(&a32, 43);
	results[8] = __sync_val_compare_and_swap(&a64, 42, 44);
	results[9] = __sync_val_compare_and_swap(&a32, 43, 45);
	__atomic_fetch_and(&a32, 0xf, __ATOMIC_RELAXED);
	__atomic_fetch_or(&a64, 0x100, __ATOMIC_RELAXED);
	__atomic_fetch_xor(&a32, 0x1, __ATOMIC_RELAXED);
	results[10] = __atomic_exchange_n(&a32, 7, __ATOMIC_SEQ_CST);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
