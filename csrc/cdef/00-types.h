/* Kernel UAPI types and enums (linux/bpf.h of the pinned libbpf), declared partially:
 * "..." lets the C compiler fill in layouts and values, so only what we use is named. */
typedef uint8_t __u8;
typedef int8_t __s8;
typedef uint16_t __u16;
typedef int16_t __s16;
typedef uint32_t __u32;
typedef int32_t __s32;
typedef unsigned long long __u64;
typedef long long __s64;
typedef int pid_t;

enum bpf_prog_type { BPF_PROG_TYPE_UNSPEC, BPF_PROG_TYPE_XDP, BPF_PROG_TYPE_NETFILTER, ... };
enum bpf_map_type { BPF_MAP_TYPE_UNSPEC, BPF_MAP_TYPE_HASH, BPF_MAP_TYPE_INSN_ARRAY, ... };
enum bpf_attach_type { BPF_CGROUP_INET_INGRESS, BPF_XDP, BPF_TRACE_FSESSION, ... };
enum bpf_link_type { BPF_LINK_TYPE_UNSPEC, BPF_LINK_TYPE_XDP, BPF_LINK_TYPE_SOCKMAP, ... };
enum bpf_func_id { BPF_FUNC_unspec, ... };
enum bpf_stats_type { BPF_STATS_RUN_TIME, ... };
enum libbpf_print_level { LIBBPF_WARN, LIBBPF_INFO, LIBBPF_DEBUG, ... };

#define BPF_ANY ...
#define BPF_NOEXIST ...
#define BPF_EXIST ...
#define BPF_F_LOCK ...
#define BPF_F_MMAPABLE ...
#define BPF_F_RDONLY_PROG ...
#define BPF_OBJ_NAME_LEN ...
#define BPF_TAG_SIZE ...
#define XDP_FLAGS_UPDATE_IF_NOEXIST ...
#define XDP_FLAGS_SKB_MODE ...
#define XDP_FLAGS_DRV_MODE ...
#define XDP_FLAGS_HW_MODE ...
#define XDP_FLAGS_REPLACE ...

struct bpf_insn {
    __u8 code;
    __u8 dst_reg:4;
    __u8 src_reg:4;
    __s16 off;
    __s32 imm;
};

struct bpf_prog_info {
    __u32 type;
    __u32 id;
    __u8 tag[8];
    __u32 jited_prog_len;
    __u32 xlated_prog_len;
    __u64 jited_prog_insns;
    __u64 xlated_prog_insns;
    __u64 load_time;
    __u32 created_by_uid;
    __u32 nr_map_ids;
    __u64 map_ids;
    char name[16];
    __u32 ifindex;
    __u64 netns_dev;
    __u64 netns_ino;
    __u32 btf_id;
    __u32 nr_func_info;
    __u32 nr_line_info;
    __u64 run_time_ns;
    __u64 run_cnt;
    __u64 recursion_misses;
    __u32 verified_insns;
    __u32 attach_btf_obj_id;
    __u32 attach_btf_id;
    ...;
};

struct bpf_map_info {
    __u32 type;
    __u32 id;
    __u32 key_size;
    __u32 value_size;
    __u32 max_entries;
    __u32 map_flags;
    char name[16];
    __u32 ifindex;
    __u32 btf_vmlinux_value_type_id;
    __u64 netns_dev;
    __u64 netns_ino;
    __u32 btf_id;
    __u32 btf_key_type_id;
    __u32 btf_value_type_id;
    __u64 map_extra;
    ...;
};

struct bpf_btf_info {
    __u64 btf;
    __u32 btf_size;
    __u32 id;
    __u64 name;
    __u32 name_len;
    __u32 kernel_btf;
    ...;
};

/* The per-kind union of bpf_link_info is read by a C helper (lpy_link_get_info). */
struct bpf_link_info {
    __u32 type;
    __u32 id;
    __u32 prog_id;
    ...;
};

struct bpf_line_info {
    __u32 insn_off;
    __u32 file_name_off;
    __u32 line_off;
    __u32 line_col;
};

struct bpf_func_info {
    __u32 insn_off;
    __u32 type_id;
};
