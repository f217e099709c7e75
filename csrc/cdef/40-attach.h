/* C helpers of the attach layer (csrc/attach.c). Each returns -errno on failure. */
int lpy_prog_load_min(int prog_type, int expected_attach_type, int attach_btf_id, int attach_prog_fd, int retval);
int lpy_prog_load_for_device(int prog_type, __u32 prog_flags, __u32 ifindex, int retval);
int lpy_perf_event_open(__u32 type, __u64 config, __u64 config1, __u64 config2, __u64 period, int freq, int pid, int cpu);
int lpy_link_create_kprobe_multi(int prog_fd, const char **syms, __u32 cnt, __u32 flags);
int lpy_link_create_kprobe_session(int prog_fd, const char **syms, __u32 cnt);
int lpy_link_create_uprobe_multi(int prog_fd, const char *path, const unsigned long *offsets, __u32 cnt, __u32 flags, int pid);
int lpy_link_create_cookie(int prog_fd, int target_fd, int attach_type, __u64 cookie);
int lpy_link_create_ordered(int prog_fd, int ifindex, int attach_type, __u32 flags, __u32 relative_fd, __u32 relative_id, __u64 expected_revision);
int lpy_link_create_netfilter(int prog_fd, __u32 pf, __u32 hooknum, __s32 priority, __u32 flags);
struct bpf_link *lpy_program_attach_iter(const struct bpf_program *prog, int map_fd);

#include "attach.h"
/* Link.info(): see struct lpy_link_info for `expect`, which saves a second call. */
int lpy_link_get_info(int link_fd, struct lpy_link_info *out);
