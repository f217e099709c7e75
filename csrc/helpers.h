/* Types shared by csrc/helpers.c and its CFFI declarations (cdef/90-helpers.h). */
#ifndef LIBBPF_PY_HELPERS_H
#define LIBBPF_PY_HELPERS_H
#include <linux/types.h>

struct lpy_link_info {
    __u32 type;
    __u32 id;
    __u32 prog_id;
    __u32 attach_type;
    __u32 ifindex;
    __u64 cgroup_id;
    __u32 netns_ino;
    char target[256];
};

#endif
