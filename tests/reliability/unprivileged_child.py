"""Entry points that touch the kernel, called without capabilities.

    setpriv --bounding-set=-all --inh-caps=-all python -m tests.reliability.unprivileged_child \
        fresh OBJECT PIN_DIR MAP_ID PROG_ID LINK_ID
    python -m tests.reliability.unprivileged_child dropped OBJECT PIN_DIR

``fresh`` starts without any capability. ``dropped`` loads and attaches while it still
has them, then drops every capability (capset, bounding set) and uses those handles.
Prints one JSON object: entry point → ``"ok"`` or ``[exception class, message]``.
"""

from __future__ import annotations

import ctypes
import json
import sys
from collections.abc import Callable
from typing import Any

import libbpf_py
from libbpf_py.maps import Map
from libbpf_py.ringbuf import RingBuffer

_CAP_VERSION_3 = 0x20080522
_PR_CAPBSET_DROP = 24


def drop_all_capabilities() -> None:
    """Empty the bounding, effective, permitted and inheritable sets of this thread."""
    libc = ctypes.CDLL(None, use_errno=True)
    for cap in range(64):
        libc.prctl(_PR_CAPBSET_DROP, cap, 0, 0, 0)
    header = (ctypes.c_uint32 * 2)(_CAP_VERSION_3, 0)
    data = (ctypes.c_uint32 * 6)()
    if libc.capset(header, data) != 0:
        raise OSError(ctypes.get_errno(), "capset")


def attempt(results: dict[str, Any], name: str, call: Callable[[], object]) -> None:
    """Record how ``call`` ended."""
    try:
        call()
        results[name] = "ok"
    except Exception as exc:
        results[name] = [type(exc).__name__, str(exc)]


def fresh(obj: str, pin_dir: str, map_id: int, prog_id: int, link_id: int) -> dict[str, Any]:
    """Entry points from nothing: load, create, open by pin or id."""
    r: dict[str, Any] = {}
    attempt(r, "OpenObject.load", lambda: libbpf_py.ObjectFile(obj).open().load())
    attempt(r, "Map.create", lambda: Map.create("hash", 4, 4, 8))
    attempt(r, "Map.from_pin", lambda: Map.from_pin(f"{pin_dir}/map"))
    attempt(r, "Link.from_pin", lambda: libbpf_py.Link.from_pin(f"{pin_dir}/link"))
    attempt(r, "Program.from_pin", lambda: libbpf_py.Program.from_pin(f"{pin_dir}/link"))
    attempt(r, "Map.from_id", lambda: Map.from_id(map_id))
    attempt(r, "Program.from_id", lambda: libbpf_py.Program.from_id(prog_id))
    attempt(r, "Link.from_id", lambda: libbpf_py.Link.from_id(link_id))
    return r


def dropped(obj: str, pin_dir: str) -> dict[str, Any]:
    """Handles made with capabilities, used after dropping them."""
    opened = libbpf_py.ObjectFile(obj).open()
    loaded = opened.load()
    table, events = loaded.maps["table"], loaded.maps["events"]
    xdp, tp = loaded.programs["soak_xdp"], loaded.programs["soak_tp"]
    link = tp.attach_tracepoint("syscalls/sys_enter_getppid")
    drop_all_capabilities()
    r: dict[str, Any] = {}
    attempt(r, "Map.__setitem__", lambda: table.__setitem__(1, 2))
    attempt(r, "Map.__getitem__", lambda: table[1])
    attempt(r, "Map.items", lambda: list(table.items()))
    attempt(r, "Map.update_batch", lambda: table.update_batch([1], [2]))
    attempt(r, "Map.pin", lambda: table.pin(f"{pin_dir}/dropped_map"))
    attempt(r, "Map.info", table.info)
    attempt(r, "Program.test_run", lambda: xdp.test_run(b"\0" * 64))
    attempt(r, "Program.info", xdp.info)
    attempt(r, "Program.attach_xdp", lambda: xdp.attach_xdp("lo"))
    attempt(r, "Program.attach_tcx", lambda: loaded.programs["soak_tc"].attach_tcx("lo"))
    attempt(r, "Program.attach_tc", lambda: loaded.programs["soak_tc"].attach_tc("lo"))
    attempt(
        r, "Program.attach_tracepoint", lambda: tp.attach_tracepoint("syscalls/sys_enter_getppid")
    )
    attempt(r, "Link.pin", lambda: link.pin(f"{pin_dir}/dropped_link"))
    attempt(r, "Link.info", link.info)
    attempt(r, "RingBuffer", lambda: RingBuffer(events))
    attempt(r, "Link.detach", link.detach)
    return r


if __name__ == "__main__":
    mode = sys.argv[1]
    if mode == "fresh":
        out = fresh(sys.argv[2], sys.argv[3], *map(int, sys.argv[4:7]))
    else:
        out = dropped(sys.argv[2], sys.argv[3])
    print(json.dumps(out))
