"""What a program's ELF section name tells: program type, attach type, attach target.

The rules are libbpf 1.7's: a table of section names tried in order, where a name
ending in ``+`` matches either exactly or followed by ``/target``, any other name must
match exactly, and a leading ``?`` only switches autoload off.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

from libbpf_py.enums import AttachType, ProgType

__all__ = ["SectionRule", "match_section"]

_SLEEPABLE = 1
_ATTACH_BTF = 2
_XDP_FRAGS = 4
_USDT = 8

P = ProgType
A = AttachType

# (section name, program type, expected attach type or None for libbpf's literal 0, flags)
_TABLE: tuple[tuple[str, ProgType, AttachType | None, int], ...] = (
    ("socket", P.SOCKET_FILTER, None, 0),
    ("sk_reuseport/migrate", P.SK_REUSEPORT, A.SK_REUSEPORT_SELECT_OR_MIGRATE, 0),
    ("sk_reuseport", P.SK_REUSEPORT, A.SK_REUSEPORT_SELECT, 0),
    ("kprobe+", P.KPROBE, None, 0),
    ("uprobe+", P.KPROBE, None, 0),
    ("uprobe.s+", P.KPROBE, None, _SLEEPABLE),
    ("kretprobe+", P.KPROBE, None, 0),
    ("uretprobe+", P.KPROBE, None, 0),
    ("uretprobe.s+", P.KPROBE, None, _SLEEPABLE),
    ("kprobe.multi+", P.KPROBE, A.TRACE_KPROBE_MULTI, 0),
    ("kretprobe.multi+", P.KPROBE, A.TRACE_KPROBE_MULTI, 0),
    ("kprobe.session+", P.KPROBE, A.TRACE_KPROBE_SESSION, 0),
    ("uprobe.multi+", P.KPROBE, A.TRACE_UPROBE_MULTI, 0),
    ("uretprobe.multi+", P.KPROBE, A.TRACE_UPROBE_MULTI, 0),
    ("uprobe.session+", P.KPROBE, A.TRACE_UPROBE_SESSION, 0),
    ("uprobe.multi.s+", P.KPROBE, A.TRACE_UPROBE_MULTI, _SLEEPABLE),
    ("uretprobe.multi.s+", P.KPROBE, A.TRACE_UPROBE_MULTI, _SLEEPABLE),
    ("uprobe.session.s+", P.KPROBE, A.TRACE_UPROBE_SESSION, _SLEEPABLE),
    ("ksyscall+", P.KPROBE, None, 0),
    ("kretsyscall+", P.KPROBE, None, 0),
    ("usdt+", P.KPROBE, None, _USDT),
    ("usdt.s+", P.KPROBE, None, _USDT | _SLEEPABLE),
    ("tc/ingress", P.SCHED_CLS, A.TCX_INGRESS, 0),
    ("tc/egress", P.SCHED_CLS, A.TCX_EGRESS, 0),
    ("tcx/ingress", P.SCHED_CLS, A.TCX_INGRESS, 0),
    ("tcx/egress", P.SCHED_CLS, A.TCX_EGRESS, 0),
    ("tc", P.SCHED_CLS, None, 0),
    ("classifier", P.SCHED_CLS, None, 0),
    ("action", P.SCHED_ACT, None, 0),
    ("netkit/primary", P.SCHED_CLS, A.NETKIT_PRIMARY, 0),
    ("netkit/peer", P.SCHED_CLS, A.NETKIT_PEER, 0),
    ("tracepoint+", P.TRACEPOINT, None, 0),
    ("tp+", P.TRACEPOINT, None, 0),
    ("raw_tracepoint+", P.RAW_TRACEPOINT, None, 0),
    ("raw_tp+", P.RAW_TRACEPOINT, None, 0),
    ("raw_tracepoint.w+", P.RAW_TRACEPOINT_WRITABLE, None, 0),
    ("raw_tp.w+", P.RAW_TRACEPOINT_WRITABLE, None, 0),
    ("tp_btf+", P.TRACING, A.TRACE_RAW_TP, _ATTACH_BTF),
    ("fentry+", P.TRACING, A.TRACE_FENTRY, _ATTACH_BTF),
    ("fmod_ret+", P.TRACING, A.MODIFY_RETURN, _ATTACH_BTF),
    ("fexit+", P.TRACING, A.TRACE_FEXIT, _ATTACH_BTF),
    ("fentry.s+", P.TRACING, A.TRACE_FENTRY, _ATTACH_BTF | _SLEEPABLE),
    ("fmod_ret.s+", P.TRACING, A.MODIFY_RETURN, _ATTACH_BTF | _SLEEPABLE),
    ("fexit.s+", P.TRACING, A.TRACE_FEXIT, _ATTACH_BTF | _SLEEPABLE),
    ("fsession+", P.TRACING, A.TRACE_FSESSION, _ATTACH_BTF),
    ("fsession.s+", P.TRACING, A.TRACE_FSESSION, _ATTACH_BTF | _SLEEPABLE),
    ("freplace+", P.EXT, None, _ATTACH_BTF),
    ("lsm+", P.LSM, A.LSM_MAC, _ATTACH_BTF),
    ("lsm.s+", P.LSM, A.LSM_MAC, _ATTACH_BTF | _SLEEPABLE),
    ("lsm_cgroup+", P.LSM, A.LSM_CGROUP, _ATTACH_BTF),
    ("iter+", P.TRACING, A.TRACE_ITER, _ATTACH_BTF),
    ("iter.s+", P.TRACING, A.TRACE_ITER, _ATTACH_BTF | _SLEEPABLE),
    ("syscall", P.SYSCALL, None, _SLEEPABLE),
    ("xdp.frags/devmap", P.XDP, A.XDP_DEVMAP, _XDP_FRAGS),
    ("xdp/devmap", P.XDP, A.XDP_DEVMAP, 0),
    ("xdp.frags/cpumap", P.XDP, A.XDP_CPUMAP, _XDP_FRAGS),
    ("xdp/cpumap", P.XDP, A.XDP_CPUMAP, 0),
    ("xdp.frags", P.XDP, A.XDP, _XDP_FRAGS),
    ("xdp", P.XDP, A.XDP, 0),
    ("perf_event", P.PERF_EVENT, None, 0),
    ("lwt_in", P.LWT_IN, None, 0),
    ("lwt_out", P.LWT_OUT, None, 0),
    ("lwt_xmit", P.LWT_XMIT, None, 0),
    ("lwt_seg6local", P.LWT_SEG6LOCAL, None, 0),
    ("sockops", P.SOCK_OPS, A.CGROUP_SOCK_OPS, 0),
    ("sk_skb/stream_parser", P.SK_SKB, A.SK_SKB_STREAM_PARSER, 0),
    ("sk_skb/stream_verdict", P.SK_SKB, A.SK_SKB_STREAM_VERDICT, 0),
    ("sk_skb/verdict", P.SK_SKB, A.SK_SKB_VERDICT, 0),
    ("sk_skb", P.SK_SKB, None, 0),
    ("sk_msg", P.SK_MSG, A.SK_MSG_VERDICT, 0),
    ("lirc_mode2", P.LIRC_MODE2, A.LIRC_MODE2, 0),
    ("flow_dissector", P.FLOW_DISSECTOR, A.FLOW_DISSECTOR, 0),
    ("cgroup_skb/ingress", P.CGROUP_SKB, A.CGROUP_INET_INGRESS, 0),
    ("cgroup_skb/egress", P.CGROUP_SKB, A.CGROUP_INET_EGRESS, 0),
    ("cgroup/skb", P.CGROUP_SKB, None, 0),
    ("cgroup/sock_create", P.CGROUP_SOCK, A.CGROUP_INET_SOCK_CREATE, 0),
    ("cgroup/sock_release", P.CGROUP_SOCK, A.CGROUP_INET_SOCK_RELEASE, 0),
    ("cgroup/sock", P.CGROUP_SOCK, A.CGROUP_INET_SOCK_CREATE, 0),
    ("cgroup/post_bind4", P.CGROUP_SOCK, A.CGROUP_INET4_POST_BIND, 0),
    ("cgroup/post_bind6", P.CGROUP_SOCK, A.CGROUP_INET6_POST_BIND, 0),
    ("cgroup/bind4", P.CGROUP_SOCK_ADDR, A.CGROUP_INET4_BIND, 0),
    ("cgroup/bind6", P.CGROUP_SOCK_ADDR, A.CGROUP_INET6_BIND, 0),
    ("cgroup/connect4", P.CGROUP_SOCK_ADDR, A.CGROUP_INET4_CONNECT, 0),
    ("cgroup/connect6", P.CGROUP_SOCK_ADDR, A.CGROUP_INET6_CONNECT, 0),
    ("cgroup/connect_unix", P.CGROUP_SOCK_ADDR, A.CGROUP_UNIX_CONNECT, 0),
    ("cgroup/sendmsg4", P.CGROUP_SOCK_ADDR, A.CGROUP_UDP4_SENDMSG, 0),
    ("cgroup/sendmsg6", P.CGROUP_SOCK_ADDR, A.CGROUP_UDP6_SENDMSG, 0),
    ("cgroup/sendmsg_unix", P.CGROUP_SOCK_ADDR, A.CGROUP_UNIX_SENDMSG, 0),
    ("cgroup/recvmsg4", P.CGROUP_SOCK_ADDR, A.CGROUP_UDP4_RECVMSG, 0),
    ("cgroup/recvmsg6", P.CGROUP_SOCK_ADDR, A.CGROUP_UDP6_RECVMSG, 0),
    ("cgroup/recvmsg_unix", P.CGROUP_SOCK_ADDR, A.CGROUP_UNIX_RECVMSG, 0),
    ("cgroup/getpeername4", P.CGROUP_SOCK_ADDR, A.CGROUP_INET4_GETPEERNAME, 0),
    ("cgroup/getpeername6", P.CGROUP_SOCK_ADDR, A.CGROUP_INET6_GETPEERNAME, 0),
    ("cgroup/getpeername_unix", P.CGROUP_SOCK_ADDR, A.CGROUP_UNIX_GETPEERNAME, 0),
    ("cgroup/getsockname4", P.CGROUP_SOCK_ADDR, A.CGROUP_INET4_GETSOCKNAME, 0),
    ("cgroup/getsockname6", P.CGROUP_SOCK_ADDR, A.CGROUP_INET6_GETSOCKNAME, 0),
    ("cgroup/getsockname_unix", P.CGROUP_SOCK_ADDR, A.CGROUP_UNIX_GETSOCKNAME, 0),
    ("cgroup/sysctl", P.CGROUP_SYSCTL, A.CGROUP_SYSCTL, 0),
    ("cgroup/getsockopt", P.CGROUP_SOCKOPT, A.CGROUP_GETSOCKOPT, 0),
    ("cgroup/setsockopt", P.CGROUP_SOCKOPT, A.CGROUP_SETSOCKOPT, 0),
    ("cgroup/dev", P.CGROUP_DEVICE, A.CGROUP_DEVICE, 0),
    ("struct_ops+", P.STRUCT_OPS, None, 0),
    ("struct_ops.s+", P.STRUCT_OPS, None, _SLEEPABLE),
    ("sk_lookup", P.SK_LOOKUP, A.SK_LOOKUP, 0),
    ("netfilter", P.NETFILTER, A.NETFILTER, 0),
)


@dataclass(frozen=True, slots=True)
class SectionRule:
    """What libbpf derives from one program section name.

    ``type`` is ``ProgType.UNSPEC`` and ``rule`` empty when no rule matches (libbpf then
    opens the program but cannot load it without an explicit type).
    ``expected_attach_type`` is ``None`` where libbpf leaves it 0 without meaning.
    """

    section: str
    rule: str
    type: ProgType
    expected_attach_type: AttachType | None
    autoload: bool
    sleepable: bool
    attach_btf: bool
    xdp_frags: bool
    attach_target: str | None


def _matches(rule: str, name: str) -> bool:
    if rule.endswith("+"):
        stem = rule[:-1]
        return name == stem or name.startswith(stem + "/")
    return name == rule


@functools.lru_cache(maxsize=1024)
def match_section(section: str) -> SectionRule:
    """Apply libbpf's section-name rules to ``section`` (which may start with ``?``)."""
    autoload = not section.startswith("?")
    name = section if autoload else section[1:]
    result = SectionRule(section, "", ProgType.UNSPEC, None, autoload, False, False, False, None)
    for rule, ptype, atype, flags in _TABLE:
        if _matches(rule, name):
            stem = rule.rstrip("+")
            target = name[len(stem) + 1 :] if rule.endswith("+") and name != stem else None
            result = SectionRule(
                section,
                rule,
                ptype,
                atype,
                autoload,
                bool(flags & _SLEEPABLE),
                bool(flags & _ATTACH_BTF),
                bool(flags & _XDP_FRAGS),
                target or None,
            )
            break
    return result
