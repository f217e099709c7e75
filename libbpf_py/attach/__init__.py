"""Phase 5, attach: one method per hook kind, each returning a :class:`~libbpf_py.Link`.

This package owns :class:`AttachMixin`, the attach half of :class:`~libbpf_py.Program`,
split by family: the packet path (``_net``), sockets (``_socket``), trace points and
perf events (``_trace``), probes (``_probe``) and cgroups (``_cgroup``), over the
shared plumbing of ``_base``. It sits above links and maps and below the program; the
object a program belongs to is a ``ParentObject`` Protocol here.
"""

from __future__ import annotations

from libbpf_py.attach import _mixin
from libbpf_py.attach._mixin import AttachMixin, PerfEvent, xdp_holder

# Named again here, with their doc comments, so the reference documents them at this path.
#: Hardware perf events by the name ``perf list`` gives them, each to its
#: ``PERF_COUNT_HW_*`` number.
PERF_HARDWARE_EVENTS = _mixin.PERF_HARDWARE_EVENTS
#: Software perf events by the name ``perf list`` gives them, each to its
#: ``PERF_COUNT_SW_*`` number.
PERF_SOFTWARE_EVENTS = _mixin.PERF_SOFTWARE_EVENTS

__all__ = [
    "PERF_HARDWARE_EVENTS",
    "PERF_SOFTWARE_EVENTS",
    "AttachMixin",
    "PerfEvent",
    "xdp_holder",
]
