"""Phase 5, attach: one method per hook kind, each returning a :class:`~libbpf_py.Link`.

:class:`AttachMixin` is part of :class:`~libbpf_py.Program`; it is its own module so that
each attach kind stays short and the program module stays about the program. Where this
kernel lacks a kind, the method raises :class:`~libbpf_py.errors.NotSupported` with the
reason :mod:`libbpf_py.features` probed.

The methods live by family, one module each: the packet path (XDP, tc, tcx, netfilter),
sockets and network namespaces, fixed trace points (tracepoints, fentry/LSM, freplace,
perf events, iterators), probes (kprobe, uprobe, USDT) and cgroups. They share the
plumbing of ``libbpf_py.attach._base``.
"""

from __future__ import annotations

from libbpf_py.attach._cgroup import CgroupAttach
from libbpf_py.attach._net import NetworkAttach
from libbpf_py.attach._perf_event import HARDWARE_EVENTS, SOFTWARE_EVENTS, PerfEvent
from libbpf_py.attach._probe import ProbeAttach
from libbpf_py.attach._socket import SocketAttach
from libbpf_py.attach._trace import TraceAttach
from libbpf_py.netdev import xdp_holder

__all__ = [
    "PERF_HARDWARE_EVENTS",
    "PERF_SOFTWARE_EVENTS",
    "AttachMixin",
    "PerfEvent",
    "xdp_holder",
]

#: Software perf events by the name ``perf list`` gives them (``PERF_COUNT_SW_*``).
PERF_SOFTWARE_EVENTS = SOFTWARE_EVENTS

#: Hardware perf events by the name ``perf list`` gives them (``PERF_COUNT_HW_*``).
PERF_HARDWARE_EVENTS = HARDWARE_EVENTS


class AttachMixin(NetworkAttach, SocketAttach, TraceAttach, ProbeAttach, CgroupAttach):
    """The attach methods of a loaded program."""
