"""One peer library measured on maps bench/peers/run.py pinned: run by the peers venv.

It never imports libbpf_py. It reads one JSON command a line from stdin and answers
each with one JSON line on stdout, so that the parent can interleave the peer's
repetitions with C's and libbpf_py's under the same load:

- ``{"op": "open", "peer": "pylibbpf"|"bpfmaps", ...}`` opens the pinned hash (and says
  which calls worked, and why one did not);
- ``{"op": "lookup"|"update", "n": N, "rounds": R}``: ``m[k]``-style single operations
  over keys 0..N-1, median ns per operation of R rounds after a warm-up;
- ``{"op": "iterate", "rounds": R}``: every item of the map, median ns per entry;
- ``{"op": "perf", "events": E, "rounds": R, "pages": P}``: samples through the peer's
  perf buffer, median ns per sample (the bench's program, opened by its id, sends them
  with test_run);
- ``{"op": "quit"}``.
"""

from __future__ import annotations

import ctypes
import inspect
import json
import os
import statistics
import sys
import time
from collections.abc import Callable
from importlib import metadata
from typing import Any

SYS_BPF = 321  # x86_64
BPF_PROG_GET_FD_BY_ID = 13
BPF_PROG_TEST_RUN = 10
BPFFS = "/sys/fs/bpf"

_libc = ctypes.CDLL(None, use_errno=True)


class _GetFdById(ctypes.Structure):
    _fields_ = [("id", ctypes.c_uint32), ("next_id", ctypes.c_uint32), ("flags", ctypes.c_uint32)]


class _TestRun(ctypes.Structure):
    _fields_ = [
        ("prog_fd", ctypes.c_uint32),
        ("retval", ctypes.c_uint32),
        ("data_size_in", ctypes.c_uint32),
        ("data_size_out", ctypes.c_uint32),
        ("data_in", ctypes.c_uint64),
        ("data_out", ctypes.c_uint64),
        ("repeat", ctypes.c_uint32),
        ("duration", ctypes.c_uint32),
    ]


def _bpf(cmd: int, attr: ctypes.Structure) -> int:
    ret = _libc.syscall(SYS_BPF, cmd, ctypes.byref(attr), ctypes.sizeof(attr))
    if ret < 0:
        err = ctypes.get_errno()
        raise OSError(err, os.strerror(err))
    return int(ret)


def prog_fd_by_id(prog_id: int) -> int:
    """An fd of the program with kernel id ``prog_id`` (the peers have no such call)."""
    return _bpf(BPF_PROG_GET_FD_BY_ID, _GetFdById(prog_id, 0, 0))


def send_events(prog_fd: int, events: int) -> None:
    """Run the pinned program ``events`` times: it sends one sample per run."""
    packet = ctypes.create_string_buffer(64)
    _bpf(BPF_PROG_TEST_RUN, _TestRun(prog_fd, 0, 64, 0, ctypes.addressof(packet), 0, events, 0))


def run_ns(fn: Callable[[], object], ops: int, rounds: int) -> float:
    """ns per operation: one warm-up call of ``fn``, then the median of ``rounds``."""
    fn()
    times = []
    for _ in range(rounds):
        t0 = time.perf_counter_ns()
        fn()
        times.append((time.perf_counter_ns() - t0) / ops)
    return statistics.median(times)


class Peer:
    """What the bench needs of a peer: single operations, iteration, perf samples."""

    name = ""
    hash_map: Any = None
    notes: list[str]

    def lookup(self, k: int) -> Any:
        raise NotImplementedError

    def update(self, k: int, v: int) -> None:
        raise NotImplementedError

    def items(self) -> int:
        raise NotImplementedError

    def perf(self, prog_fd: int, events: int, rounds: int, pages: int) -> float | str:
        return f"{self.name} has no perf buffer"


class PyLibbpf(Peer):
    """pylibbpf: loads the bench's object, whose maps are pinned by name, so libbpf
    reuses the maps the bench pinned (it has no call to open a pinned map)."""

    name = "pylibbpf"

    def __init__(self, cmd: dict[str, Any]) -> None:
        import pylibbpf

        self.obj = pylibbpf.BpfObject(cmd["object"])
        self.obj.load()
        self.hash_map = self.obj[cmd["hash_name"]]
        self.events_name = cmd["events_name"]
        self.notes = [
            "opened by loading the bench object: its maps are pinned by name, so libbpf "
            "reuses the maps pinned under /sys/fs/bpf"
        ]

    def lookup(self, k: int) -> Any:
        return self.hash_map.lookup(k)

    def update(self, k: int, v: int) -> None:
        self.hash_map.update(k, v)

    def items(self) -> int:
        return len(self.hash_map.items())

    def perf(self, prog_fd: int, events: int, rounds: int, pages: int) -> float | str:
        import pylibbpf

        seen = [0]

        def on_sample(*args: Any) -> None:
            seen[0] += 1

        perf_map = self.obj._obj[self.events_name]  # the bare map: PerfEventArray takes it
        times = []
        for r in range(rounds + 1):
            pb = pylibbpf.PerfEventArray(perf_map, pages, on_sample)
            seen[0] = 0
            send_events(prog_fd, events)
            t0 = time.perf_counter_ns()
            while seen[0] < events:
                if pb.consume() <= 0 and seen[0] < events:
                    return f"only {seen[0]} of {events} samples arrived"
            if r:
                times.append((time.perf_counter_ns() - t0) / events)
            del pb
        return statistics.median(times)


class BpfMaps(Peer):
    """bpfmaps: ctypes over its own bundled libbpf; it finds maps through
    ``BPF_Map.get_map_by_name``."""

    name = "bpfmaps"

    def __init__(self, cmd: dict[str, Any]) -> None:
        import bpfmaps

        self.notes = []
        self.lookup_by_name = _why_by_name(bpfmaps, cmd["probe_name"], cmd["probe_where"])
        self.notes.append(self.lookup_by_name)
        self.hash_map = bpfmaps.BPF_Map.get_map_by_name(cmd["hash_name"])
        self.notes.append(
            f"get_map_by_name({cmd['hash_name']!r}) found the bench's hash: it is pinned at "
            f"{BPFFS}/{cmd['hash_name']}"
        )

    def lookup(self, k: int) -> Any:
        return self.hash_map[k]

    def update(self, k: int, v: int) -> None:
        self.hash_map[k] = v

    def items(self) -> int:
        return sum(1 for _ in self.hash_map)

    def perf(self, prog_fd: int, events: int, rounds: int, pages: int) -> float | str:
        import bpfmaps

        if not any("perf" in n.lower() for n in dir(bpfmaps)):
            return f"bpfmaps {metadata.version('bpfmaps')} has no perf buffer API"
        return f"bpfmaps {metadata.version('bpfmaps')}: this bench does not know its perf API"


def _why_by_name(bpfmaps: Any, name: str, where: str) -> str:
    """What get_map_by_name does with a map's kernel name, read from its source and
    tried on a map the bench made with that name but pinned elsewhere."""
    source = inspect.getsource(bpfmaps.BPF_Map.get_map_by_name)
    calls = [ln.strip() for ln in source.splitlines() if "bpf_obj_get" in ln]
    try:
        bpfmaps.BPF_Map.get_map_by_name(name)
    except AssertionError as exc:
        return (
            f"get_map_by_name({name!r}) failed ({exc}) on a map the kernel has under that "
            f"name, pinned at {where}: its source does {calls[0] if calls else '?'}, so it "
            f"opens the pin path {BPFFS}/<name> and never looks maps up by name; a map "
            f"pinned anywhere else (or not pinned) is not found"
        )
    return f"get_map_by_name({name!r}) found a map pinned at {where}"


def single_ops(peer: Peer, op: str, n: int, rounds: int) -> float:
    """Median ns of one lookup or update (``op``) over keys 0..n-1."""
    keys = range(n)

    def lookups() -> None:
        for k in keys:
            peer.lookup(k)

    def updates() -> None:
        for k in keys:
            peer.update(k, k * 3)

    return run_ns(lookups if op == "lookup" else updates, n, rounds)


PEERS: dict[str, type[Peer]] = {"pylibbpf": PyLibbpf, "bpfmaps": BpfMaps}


def main() -> None:
    """Answer the parent's commands until it says quit."""
    peer: Peer | None = None
    prog_fd = -1
    for line in sys.stdin:
        cmd = json.loads(line)
        op = cmd["op"]
        try:
            if op == "quit":
                break
            if op == "open":
                peer = PEERS[cmd["peer"]](cmd)
                prog_fd = prog_fd_by_id(cmd["prog_id"])
                answer: dict[str, Any] = {
                    "version": metadata.version(cmd["peer"]),
                    "notes": peer.notes,
                }
            elif peer is None:
                answer = {"error": "open first"}
            elif op in ("lookup", "update"):
                answer = {"ns": single_ops(peer, op, cmd["n"], cmd["rounds"])}
            elif op == "iterate":
                count = peer.items()
                answer = {"ns": run_ns(peer.items, count, cmd["rounds"]), "count": count}
            elif op == "perf":
                got = peer.perf(prog_fd, cmd["events"], cmd["rounds"], cmd["pages"])
                answer = {"ns": got} if isinstance(got, float) else {"unsupported": got}
            else:
                answer = {"error": f"unknown op {op!r}"}
        except Exception as exc:  # a peer that fails is reported, not fatal
            answer = {"error": f"{type(exc).__name__}: {exc}"}
        print(json.dumps(answer), flush=True)


if __name__ == "__main__":
    main()
