/* C helpers of the attach layer (libbpf_py/attach.py, features.py, link.py).
 *
 * They exist because the options they fill are unions that CFFI cannot declare
 * partially (bpf_link_create_opts, bpf_link_info, bpf_iter_link_info), and because
 * perf_event_open has no libc wrapper. Every function returns -errno on failure. */
#include <errno.h>
#include <string.h>
#include <unistd.h>
#include <sys/syscall.h>
#include <linux/perf_event.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "attach.h"

/* "r0 = retval; exit": the smallest program a feature probe can load. token.c, which
 * comes later in the one compiled source, uses it too. */
static void lpy_retval_exit(struct bpf_insn insns[2], int retval)
{
    memset(insns, 0, 2 * sizeof(insns[0]));
    insns[0].code = BPF_ALU64 | BPF_MOV | BPF_K;
    insns[0].dst_reg = BPF_REG_0;
    insns[0].imm = retval;
    insns[1].code = BPF_JMP | BPF_EXIT;
}

/* Load "r0 = retval; exit" for a probe that attaches it. */
static int lpy_prog_load_min(int prog_type, int expected_attach_type, int attach_btf_id,
                             int attach_prog_fd, int retval)
{
    struct bpf_insn insns[2];
    LIBBPF_OPTS(bpf_prog_load_opts, opts);
    int fd;

    lpy_retval_exit(insns, retval);
    opts.expected_attach_type = expected_attach_type;
    opts.attach_btf_id = attach_btf_id;
    opts.attach_prog_fd = attach_prog_fd;
    fd = bpf_prog_load(prog_type, "lpy_probe", "GPL", insns, 2, &opts);
    return fd < 0 ? -errno : fd;
}

/* Load "r0 = retval; exit" for a network device (prog_ifindex) with load flags, as a
 * device-bound or offloaded program. */
static int lpy_prog_load_for_device(int prog_type, __u32 prog_flags, __u32 ifindex, int retval)
{
    struct bpf_insn insns[2];
    LIBBPF_OPTS(bpf_prog_load_opts, opts);
    int fd;

    lpy_retval_exit(insns, retval);
    opts.prog_flags = prog_flags;
    opts.prog_ifindex = ifindex;
    fd = bpf_prog_load(prog_type, "lpy_probe", "GPL", insns, 2, &opts);
    return fd < 0 ? -errno : fd;
}

/* perf_event_open(2) with the fields the attach kinds need: software events, tracepoint
 * ids, and the kprobe/uprobe PMUs (config1 = name or path, config2 = offset). */
static int lpy_perf_event_open(__u32 type, __u64 config, __u64 config1, __u64 config2,
                               __u64 period, int freq, int pid, int cpu)
{
    struct perf_event_attr attr;
    long fd;

    memset(&attr, 0, sizeof(attr));
    attr.size = sizeof(attr);
    attr.type = type;
    attr.config = config;
    attr.config1 = config1;
    attr.config2 = config2;
    if (freq) {
        attr.freq = 1;
        attr.sample_freq = period;
    } else {
        attr.sample_period = period;
    }
    fd = syscall(__NR_perf_event_open, &attr, pid, cpu, -1, PERF_FLAG_FD_CLOEXEC);
    return fd < 0 ? -errno : (int)fd;
}

static int lpy_link_create_kprobe_multi(int prog_fd, const char **syms, __u32 cnt,
                                        __u32 flags)
{
    LIBBPF_OPTS(bpf_link_create_opts, opts);
    int fd;

    opts.kprobe_multi.syms = syms;
    opts.kprobe_multi.cnt = cnt;
    opts.kprobe_multi.flags = flags;
    fd = bpf_link_create(prog_fd, 0, BPF_TRACE_KPROBE_MULTI, &opts);
    return fd < 0 ? -errno : fd;
}

/* A kprobe session link (entry and return in one program, Linux 6.10+): for the probe. */
static int lpy_link_create_kprobe_session(int prog_fd, const char **syms, __u32 cnt)
{
    LIBBPF_OPTS(bpf_link_create_opts, opts);
    int fd;

    opts.kprobe_multi.syms = syms;
    opts.kprobe_multi.cnt = cnt;
    fd = bpf_link_create(prog_fd, 0, BPF_TRACE_KPROBE_SESSION, &opts);
    return fd < 0 ? -errno : fd;
}

static int lpy_link_create_uprobe_multi(int prog_fd, const char *path,
                                        const unsigned long *offsets, __u32 cnt,
                                        __u32 flags, int pid)
{
    LIBBPF_OPTS(bpf_link_create_opts, opts);
    int fd;

    opts.uprobe_multi.path = path;
    opts.uprobe_multi.offsets = offsets;
    opts.uprobe_multi.cnt = cnt;
    opts.uprobe_multi.flags = flags;
    opts.uprobe_multi.pid = pid;
    fd = bpf_link_create(prog_fd, 0, BPF_TRACE_UPROBE_MULTI, &opts);
    return fd < 0 ? -errno : fd;
}

/* A link carrying BPF cookie `cookie`, for the feature probes: a perf-event link
 * (target_fd: the perf event) or a tracing link (fentry, fexit, fmod_ret, lsm). */
static int lpy_link_create_cookie(int prog_fd, int target_fd, int attach_type, __u64 cookie)
{
    LIBBPF_OPTS(bpf_link_create_opts, opts);
    int fd;

    if (attach_type == BPF_PERF_EVENT)
        opts.perf_event.bpf_cookie = cookie;
    else
        opts.tracing.cookie = cookie;
    fd = bpf_link_create(prog_fd, target_fd, attach_type, &opts);
    return fd < 0 ? -errno : fd;
}

/* tcx and netkit share the relative-ordering options. */
static int lpy_link_create_ordered(int prog_fd, int ifindex, int attach_type, __u32 flags,
                                   __u32 relative_fd, __u32 relative_id,
                                   __u64 expected_revision)
{
    LIBBPF_OPTS(bpf_link_create_opts, opts);
    int fd;

    opts.flags = flags;
    opts.tcx.relative_fd = relative_fd;
    opts.tcx.relative_id = relative_id;
    opts.tcx.expected_revision = expected_revision;
    fd = bpf_link_create(prog_fd, ifindex, attach_type, &opts);
    return fd < 0 ? -errno : fd;
}

static int lpy_link_create_netfilter(int prog_fd, __u32 pf, __u32 hooknum, __s32 priority,
                                     __u32 flags)
{
    LIBBPF_OPTS(bpf_link_create_opts, opts);
    int fd;

    opts.netfilter.pf = pf;
    opts.netfilter.hooknum = hooknum;
    opts.netfilter.priority = priority;
    opts.netfilter.flags = flags;
    fd = bpf_link_create(prog_fd, 0, BPF_NETFILTER, &opts);
    return fd < 0 ? -errno : fd;
}

/* An iterator over one map's elements (map_fd >= 0) or a target without parameters. */
static struct bpf_link *lpy_program_attach_iter(const struct bpf_program *prog, int map_fd)
{
    union bpf_iter_link_info info;
    LIBBPF_OPTS(bpf_iter_attach_opts, opts);

    if (map_fd < 0)
        return bpf_program__attach_iter(prog, NULL);
    memset(&info, 0, sizeof(info));
    info.map.map_fd = map_fd;
    opts.link_info = &info;
    opts.link_info_len = sizeof(info);
    return bpf_program__attach_iter(prog, &opts);
}

/* The link kinds that report a name through a buffer the caller sets up. */
static __u32 lpy__named_kind(__u32 type)
{
    switch (type) {
    case BPF_LINK_TYPE_RAW_TRACEPOINT:
    case BPF_LINK_TYPE_ITER:
    case BPF_LINK_TYPE_UPROBE_MULTI:
    case BPF_LINK_TYPE_PERF_EVENT:
        return type;
    default:
        return 0;
    }
}

/* One bpf_link_get_info_by_fd call with the name buffer placed where links of `kind`
 * look for it (kind 0: no buffer). Placed for the wrong kind, the fields are refused
 * (EINVAL) or harmless, with one exception the lengths below allow for: a kprobe_multi
 * link reads the raw tracepoint's or iterator's (pointer, length) as (addresses, count)
 * and writes count 8-byte addresses. */
static int lpy__ask_link(int link_fd, struct bpf_link_info *info, __u32 kind,
                         char *name, __u32 size)
{
    __u32 len = sizeof(*info);
    __u64 buf = (__u64)(unsigned long)name;

    memset(info, 0, sizeof(*info));
    name[0] = '\0';
    switch (kind) {
    case BPF_LINK_TYPE_RAW_TRACEPOINT:
        /* Tracepoint and iterator target names are short. */
        info->raw_tracepoint.tp_name = buf;
        info->raw_tracepoint.tp_name_len = size / 8;
        break;
    case BPF_LINK_TYPE_ITER:
        info->iter.target_name = buf;
        info->iter.target_name_len = size / 8;
        break;
    case BPF_LINK_TYPE_UPROBE_MULTI:
        info->uprobe_multi.path = buf;
        info->uprobe_multi.path_size = size;
        break;
    case BPF_LINK_TYPE_PERF_EVENT:
        /* Every perf-event kind keeps its name pointer and length at the same place. */
        info->perf_event.uprobe.file_name = buf;
        info->perf_event.uprobe.name_len = size;
        break;
    default:
        break;
    }
    return bpf_link_get_info_by_fd(link_fd, info, &len);
}

/* Everything Link.info() reports, in one call when out->expect names the link's kind
 * or a kind without a name. The union of bpf_link_info means something else for each
 * kind, so a name buffer placed for one kind is garbage (or EINVAL) for another: a
 * wrong or missing guess costs one or two more calls, never a wrong answer. */
static int lpy_link_get_info(int link_fd, struct lpy_link_info *out)
{
    struct bpf_link_info info;
    __u32 expect = out->expect;
    __u32 asked = lpy__named_kind(expect);
    int err;

    memset(out, 0, sizeof(*out));
    out->expect = expect;
    err = lpy__ask_link(link_fd, &info, asked, out->name, sizeof(out->name));
    if (err && asked) {
        asked = 0;
        err = lpy__ask_link(link_fd, &info, 0, out->name, sizeof(out->name));
    }
    if (!err && lpy__named_kind(info.type) != asked) {
        asked = lpy__named_kind(info.type);
        err = lpy__ask_link(link_fd, &info, asked, out->name, sizeof(out->name));
    }
    if (err)
        return err;
    out->type = info.type;
    out->id = info.id;
    out->prog_id = info.prog_id;
    switch (info.type) {
    case BPF_LINK_TYPE_TRACING:
        out->attach_type = info.tracing.attach_type;
        out->target_obj_id = info.tracing.target_obj_id;
        break;
    case BPF_LINK_TYPE_CGROUP:
        out->cgroup_id = info.cgroup.cgroup_id;
        out->attach_type = info.cgroup.attach_type;
        break;
    case BPF_LINK_TYPE_ITER:
        out->map_id = info.iter.map.map_id;
        break;
    case BPF_LINK_TYPE_NETNS:
        out->netns_ino = info.netns.netns_ino;
        out->attach_type = info.netns.attach_type;
        break;
    case BPF_LINK_TYPE_XDP:
        out->ifindex = info.xdp.ifindex;
        out->attach_type = BPF_XDP;
        break;
    case BPF_LINK_TYPE_PERF_EVENT:
        out->perf_type = info.perf_event.type;
        if (info.perf_event.type == BPF_PERF_EVENT_EVENT) {
            out->config = info.perf_event.event.config;
            out->event_type = info.perf_event.event.type;
            out->name[0] = '\0';
        } else if (info.perf_event.type == BPF_PERF_EVENT_UPROBE ||
                   info.perf_event.type == BPF_PERF_EVENT_URETPROBE) {
            out->offset = info.perf_event.uprobe.offset;
        } else if (info.perf_event.type == BPF_PERF_EVENT_KPROBE ||
                   info.perf_event.type == BPF_PERF_EVENT_KRETPROBE) {
            out->offset = info.perf_event.kprobe.offset;
        }
        break;
    case BPF_LINK_TYPE_KPROBE_MULTI:
        out->count = info.kprobe_multi.count;
        break;
    case BPF_LINK_TYPE_STRUCT_OPS:
        out->map_id = info.struct_ops.map_id;
        break;
    case BPF_LINK_TYPE_NETFILTER:
        out->pf = info.netfilter.pf;
        out->hooknum = info.netfilter.hooknum;
        out->priority = info.netfilter.priority;
        break;
    case BPF_LINK_TYPE_TCX:
        out->ifindex = info.tcx.ifindex;
        out->attach_type = info.tcx.attach_type;
        break;
    case BPF_LINK_TYPE_UPROBE_MULTI:
        out->count = info.uprobe_multi.count;
        out->pid = info.uprobe_multi.pid;
        break;
    case BPF_LINK_TYPE_NETKIT:
        out->ifindex = info.netkit.ifindex;
        out->attach_type = info.netkit.attach_type;
        break;
    case BPF_LINK_TYPE_SOCKMAP:
        out->map_id = info.sockmap.map_id;
        out->attach_type = info.sockmap.attach_type;
        break;
    default:
        break;
    }
    out->name[sizeof(out->name) - 1] = '\0';
    return 0;
}
