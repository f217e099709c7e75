"""Phase 5's result: :class:`Link`, which keeps a program attached while it is held.

This package owns the link handle and the detach plumbing every attach kind hands it
(``Detacher``). It sits below maps, programs and objects: its program is named by the
:class:`LinkedProgram` Protocol, never imported, and what the kernel says about a link
(:class:`LinkInfo`) comes from :mod:`libbpf_py.query`.
"""

from __future__ import annotations

from libbpf_py.link._link import Link, LinkedProgram, LinkInfo, link_info

__all__ = ["Link", "LinkInfo", "LinkedProgram", "link_info"]
