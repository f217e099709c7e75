// The pre-BTF "maps" section (struct bpf_map_def), which libbpf 1.x refuses to open.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct bpf_map_def_legacy {
	unsigned int type;
	unsigned int key_size;
	unsigned int value_size;
	unsigned int max_entries;
	unsigned int map_flags;
};

struct bpf_map_def_legacy SEC("maps") old_counts = {
	.type = BPF_MAP_TYPE_HASH,
	.key_size = 4,
	.value_size = 8,
	.max_entries = 64,
	.map_flags = 0,
};

struct bpf_map_def_legacy SEC("maps") old_array = {
	.type = BPF_MAP_TYPE_ARRAY,
	.key_size = 4,
	.value_size = 16,
	.max_entries = 2,
	.map_flags = 0,
};

SEC("socket")
int legacy(struct __sk_buff *skb)
{
	unsigned int key = 0;
	void *v = bpf_map_lookup_elem(&old_counts, &key);

	return v ? 1 : bpf_map_lookup_elem(&old_array, &key) != 0;
}

char LICENSE[] SEC("license") = "GPL";
unsigned int _version SEC("version") = 0x060000;
