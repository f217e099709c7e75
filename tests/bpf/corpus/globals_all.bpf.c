// Globals in every section kind: .data, .rodata, .bss, custom .data.foo/.rodata.bar,
// statics, structs, arrays, strings, enums and a hidden global.
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

enum level { LOW = 1, MID = 5, HIGH = 10 };

struct config {
	u32 version;
	char tag[8];
	enum level lvl;
	u16 ports[3];
	struct { u8 a; s8 b; } pair;
};

const volatile struct config cfg = {
	.version = 3, .tag = "cfg", .lvl = MID, .ports = {80, 443, 8080},
	.pair = { .a = 200, .b = -3 },
};
const volatile char banner[] = "hello, bpf";
const volatile s64 negative = -12345678901LL;
const volatile bool enabled = true;
volatile u64 counter = 7;
int table[4] = {1, 2, 3, 4};
u32 zeroed_bss;
struct config bss_cfg;
static u64 hidden_static = 99;
__hidden int hidden_global = 5;

u64 foo_counter SEC(".data.foo") = 11;
u32 foo_array[2] SEC(".data.foo") = {21, 22};
const volatile char bar_name[16] SEC(".rodata.bar") = "bar section";
const volatile u8 bar_byte SEC(".rodata.bar") = 0xab;
u32 big_bss_buf[64] SEC(".bss.big");

SEC("tp/syscalls/sys_enter_write")
int use_globals(void *ctx)
{
	if (!enabled)
		return 0;
	counter += cfg.version + banner[0] + table[zeroed_bss & 3];
	hidden_static++;
	foo_counter += bar_byte + bar_name[1] + foo_array[1] + hidden_global;
	big_bss_buf[counter & 63] = (u32)negative;
	bss_cfg.ports[0] = cfg.ports[2];
	return cfg.lvl == MID;
}

char LICENSE[] SEC("license") = "GPL";
