// btf_decl_tag and btf_type_tag, floats, restrict/volatile/const qualifiers, function
// pointers, and a global function with a tagged parameter.
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

#define __tag(x) __attribute__((btf_decl_tag(x)))
#define __ttag(x) __attribute__((btf_type_tag(x)))

struct tagged {
	int a __tag("member_tag");
	int __ttag("user") *up;
	const volatile u64 cv;
	double ratio;
	float f;
	int (*callback)(int, char *restrict);
	long long int matrix[2][3];
} __tag("struct_tag");

struct tagged tagged_global = { .a = 1, .ratio = 2.5, .f = -0.5, .matrix = {{1, 2, 3},
								       {4, 5, 6}} };

__noinline int tagged_fn(int x __tag("param_tag"), struct tagged *t) __tag("func_tag")
{
	return x + t->a;
}

SEC("tp/syscalls/sys_enter_read")
int use_tags(void *ctx)
{
	return tagged_fn(3, &tagged_global) + (int)tagged_global.matrix[1][2];
}

char LICENSE[] SEC("license") = "GPL";
