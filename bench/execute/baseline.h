/* What the C baselines of bench_execute.py share: the clock, and loading the object and
 * finding the program as the Python side does (same vendored libbpf, same calls). */
#ifndef BENCH_BASELINE_H
#define BENCH_BASELINE_H

#include <stdio.h>
#include <time.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

static double now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Load OBJ (opened from PATH, already adjusted by the caller) and return the fd of its
 * program NAME, or -1 after saying what failed. */
static int load_program(struct bpf_object *obj, const char *path, const char *name)
{
    struct bpf_program *prog;

    if (!obj || bpf_object__load(obj)) {
        fprintf(stderr, "cannot load %s\n", path);
        return -1;
    }
    prog = bpf_object__find_program_by_name(obj, name);
    if (!prog) {
        fprintf(stderr, "%s has no program %s\n", path, name);
        return -1;
    }
    return bpf_program__fd(prog);
}

#endif
