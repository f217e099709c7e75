// Program types that fit nowhere else: flow dissector, lwt, lirc, netfilter, an
// unknown section, and a multi-kprobe/kretprobe.
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

SEC("flow_dissector")
int dissect(struct __sk_buff *skb) { return BPF_OK; }

SEC("lwt_in")
int lwt_in_prog(struct __sk_buff *skb) { return BPF_OK; }

SEC("lwt_xmit")
int lwt_xmit_prog(struct __sk_buff *skb) { return BPF_OK; }

SEC("lwt_seg6local")
int seg6(struct __sk_buff *skb) { return BPF_OK; }

SEC("lirc_mode2")
int lirc(unsigned int *sample) { return 0; }

SEC("netfilter")
int nf(struct bpf_nf_ctx *ctx) { return 1; }

SEC("kprobe.multi/vfs_*")
int vfs_multi(struct pt_regs *ctx) { return 0; }

SEC("kretprobe/vfs_read")
int vfs_read_ret(struct pt_regs *ctx) { return 0; }

SEC("kprobe.session/vfs_write")
int vfs_session(struct pt_regs *ctx) { return 0; }

SEC("usdt/./prog:provider:probe")
int usdt_probe(struct pt_regs *ctx) { return 0; }

SEC("my_custom_section")
int unknown_kind(void *ctx) { return 0; }

char LICENSE[] SEC("license") = "GPL";
