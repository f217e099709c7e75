// SPDX-License-Identifier: BSD-2-Clause
/* libFuzzer target: libbpf's ELF/BTF parser on arbitrary bytes, the C half of the open()
 * fuzzing. Built with the vendored libbpf under AddressSanitizer and coverage by
 * tests/reliability/fuzz/native.sh; every crash it finds is replayed through
 * ObjectFile(...).open() by tests/reliability/test_fuzz.py, which must end in a library
 * error. */
#include <stddef.h>
#include <stdint.h>
#include <bpf/libbpf.h>

static int quiet(enum libbpf_print_level level, const char *fmt, va_list args)
{
    (void)level; (void)fmt; (void)args;
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    LIBBPF_OPTS(bpf_object_open_opts, opts, .object_name = "fuzz");
    struct bpf_object *obj;

    libbpf_set_print(quiet);
    obj = bpf_object__open_mem(data, size, &opts);
    if (!libbpf_get_error(obj))
        bpf_object__close(obj);
    return 0;
}
