"""Network interfaces by name or index, with errors that say which namespace was searched."""

from __future__ import annotations

import os
import socket

from libbpf_py.errors import NotFound

__all__ = ["interface_index", "interface_name"]


def _netns() -> str:
    try:
        return os.readlink("/proc/self/ns/net")
    except OSError:  # pragma: no cover - /proc is always there on Linux
        return "this network namespace"


def interface_index(dev: str | int) -> int:
    """Return the ifindex of ``dev`` (a name or an index) in this network namespace."""
    if isinstance(dev, bool) or not isinstance(dev, int | str):
        raise TypeError(f"an interface is a name or an index, not {type(dev).__name__}")
    if isinstance(dev, int):
        interface_name(dev)  # raises NotFound for an index that does not exist
        return dev
    try:
        return socket.if_nametoindex(dev)
    except OSError:
        raise NotFound(f"no network interface named {dev!r} in {_netns()} "
                       "(see 'ip link show' for the ones that exist)") from None


def interface_name(ifindex: int) -> str:
    """Return the name of the interface with index ``ifindex``."""
    try:
        return socket.if_indextoname(ifindex)
    except OSError:
        raise NotFound(f"no network interface with index {ifindex} in {_netns()}") from None
