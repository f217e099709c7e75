"""Phase 5's result: :class:`Link`, which keeps a program attached while it is held.

This package owns the link handle: the public :class:`Link` and the private kinds behind
it that attach methods make (a link libbpf made, libbpf's USDT group, and the base of the
attachments that are not BPF links, whose subclasses live beside their attach code in
:mod:`libbpf_py.attach`). It sits below maps, programs and objects: its program is named by the
:class:`LinkedProgram` Protocol, never imported, and what the kernel says about a link
(:class:`LinkInfo`) comes from :mod:`libbpf_py.query`.
"""

from __future__ import annotations

from libbpf_py.link._link import Link, LinkedProgram, LinkInfo, link_info

__all__ = ["Link", "LinkInfo", "LinkedProgram", "link_info"]
