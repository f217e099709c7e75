/* BPF tokens (Linux 6.9+): delegated BPF in a user namespace (csrc/token.c). */
#define BPF_F_TOKEN_FD ...

struct bpf_token_create_opts {
    size_t sz;
    __u32 flags;
    ...;
};
int bpf_token_create(int bpffs_fd, struct bpf_token_create_opts *opts);
int bpf_object__token_fd(const struct bpf_object *obj);

/* The feature probes' programs, loaded through a token. Each returns -errno on failure. */
int lpy_token_prog_load_min(int token_fd, int prog_type, int expected_attach_type, int attach_btf_id, int attach_prog_fd, int retval);
int lpy_token_probe_helper(int token_fd, int prog_type, int expected_attach_type, int helper_id);
