/* bpf/btf.h: the BTF objects libbpf builds (the pure-Python reader is libbpf_py.inspect). */
void btf__free(struct btf *btf);
struct btf *btf__new(const void *data, __u32 size);
struct btf_ext;
struct btf *btf__parse(const char *path, struct btf_ext **btf_ext);
struct btf *btf__load_vmlinux_btf(void);
struct btf *btf__load_from_kernel_by_id(__u32 id);
__s32 btf__find_by_name(const struct btf *btf, const char *type_name);
__s32 btf__find_by_name_kind(const struct btf *btf, const char *type_name, __u32 kind);
__u32 btf__type_cnt(const struct btf *btf);
__s64 btf__resolve_size(const struct btf *btf, __u32 type_id);
int btf__fd(const struct btf *btf);
const void *btf__raw_data(const struct btf *btf, __u32 *size);
const char *btf__name_by_offset(const struct btf *btf, __u32 offset);

/* The header every BTF type starts with; kind-specific data follows it in memory. */
struct btf_type {
    __u32 name_off;
    __u32 info;
    union {
        __u32 size;
        __u32 type;
    };
};
const struct btf_type *btf__type_by_id(const struct btf *btf, __u32 id);
