/* Types of the attach helpers (csrc/attach.c), shared with Python: the C sources
 * #include this file, and cdef/40-attach.h names it (see build_ffi.py). */
#ifndef LIBBPF_PY_ATTACH_H
#define LIBBPF_PY_ATTACH_H
#include <linux/types.h>

/* What Link.info() reports about a link, read with one bpf_link_get_info_by_fd call
 * (lpy_link_get_info): the kind-specific union of bpf_link_info spread into plain
 * fields. Fields that do not apply to the link's kind are 0 or empty. */
struct lpy_link_info {
    /* In, kept: the kind the kernel reported for this link before (0: not known yet).
     * Kinds that report a name need its buffer set up before the call, and where it
     * goes depends on the kind: a right guess saves a second call. */
    __u32 expect;
    __u32 type;
    __u32 id;
    __u32 prog_id;
    __u32 attach_type;
    __u32 ifindex;
    __u32 netns_ino;
    __u32 map_id;
    __u64 cgroup_id;
    /* netfilter */
    __u32 pf;
    __u32 hooknum;
    __s32 priority;
    /* kprobe_multi, uprobe_multi: functions or offsets; uprobe_multi: its pid */
    __u32 count;
    __u32 pid;
    /* tracing: the program (freplace) or BTF object of the target */
    __u32 target_obj_id;
    /* perf_event: uprobe, kprobe, tracepoint or event; for an event, its type and
     * config; for a probe, its offset */
    __u32 perf_type;
    __u32 event_type;
    __u64 config;
    __u64 offset;
    /* The tracepoint, iterator target, function or file (PATH_MAX bytes). */
    char name[4096];
};

#endif
