/* Small C helpers of libbpf_py (csrc/helpers.c). */

/* libbpf's print callback takes a va_list, which Python cannot receive: the C
 * trampoline formats each message and hands the text to this Python function. */
extern "Python" void lpy_on_print(int level, const char *msg, size_t len);

/* Messages less urgent than this level (LIBBPF_WARN=0 ... LIBBPF_DEBUG=2) are dropped
 * in C, so quiet runs never enter Python for libbpf's debug chatter. */
void lpy_print_install(void);
void lpy_print_set_level(int level);
int lpy_print_get_level(void);

/* Write a C header of every type in a BTF blob (vmlinux.h) through libbpf's btf_dump. */
int lpy_write_btf_header(const char *btf_path, const char *out_path);

/* Read the kind-specific union of bpf_link_info into plain fields. */
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
int lpy_link_get_info(int link_fd, struct lpy_link_info *out);
