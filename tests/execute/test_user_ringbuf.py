"""User ring buffers: Python writes, a BPF program drains with bpf_user_ringbuf_drain."""

from __future__ import annotations

import struct
import sys
import threading
from pathlib import Path

import pytest

import libbpf_py
from libbpf_py.errors import LayoutError, MapFullError, PhaseError
from libbpf_py.user_ringbuf import UserRingBuffer
from tests.conftest import requires_root
from tests.execute.conftest import Loader
from tests.execute.helpers import read_globals

pytestmark = [requires_root, pytest.mark.usefixtures("no_fd_leak")]

HANG_GUARD_S = 60  # how long a wait may take before it counts as a hang
_BLOCKING_RESERVE = "user_ring_buffer__reserve_blocking"  # what reserve(timeout=) calls


def drained(obj: libbpf_py.LoadedObject, source: Path) -> dict[str, int]:
    got = read_globals(obj, libbpf_py.ObjectFile(source), "total", "records", "bad_size")
    return {k: v[0] for k, v in got.items()}


def test_written_records_reach_the_program(load: Loader, execute_objects: dict[str, Path]) -> None:
    with (
        load("user_ring") as obj,
        UserRingBuffer(obj.maps["commands"], record_type="struct command") as ring,
    ):
        for value in range(1, 11):
            ring.write({"op": 1, "value": value})
        with ring.reserve() as record:  # the record type's size
            record.write(struct.pack("<II", 1, 100))
        skipped = ring.reserve(8)
        skipped.data[:] = struct.pack("<II", 1, 1000)
        skipped.discard()
        ring.write(struct.pack("<II", 2, 5000))  # op 2 is not added up
        result = obj.programs["drain"].test_run(ctx=b"")
        assert result.retval == 12  # bpf_user_ringbuf_drain returns how many it took
        assert drained(obj, execute_objects["user_ring"]) == {
            "total": 155,
            "records": 12,
            "bad_size": 0,
        }


def test_a_full_ring_refuses_then_waits(load: Loader) -> None:
    with load("user_ring") as obj, UserRingBuffer(obj.maps["commands"]) as ring:
        count = 0
        with pytest.raises(MapFullError, match="no room"):
            while True:
                ring.write(b"\1" * 64)
                count += 1
        assert count > 10
        with pytest.raises(MapFullError, match=r"after waiting 0\.2 s"):
            ring.reserve(64, timeout=0.2)
        # A reserve that waits gets the room the program makes while it waits. Another
        # thread runs the program once this one calls libbpf's blocking reserve (a
        # profile hook sees the call begin; the other thread runs when the call lets go
        # of the GIL), so the room was not there before the wait began. The timeout
        # is a hang guard: should the room never be seen, MapFullError fails the test.
        entered, done = threading.Event(), threading.Event()
        drained_in_wait: list[int] = []

        def on_call(frame: object, event: str, arg: object) -> None:
            if event == "c_call" and getattr(arg, "__name__", "") == _BLOCKING_RESERVE:
                entered.set()

        def drain_once_waiting() -> None:
            entered.wait(HANG_GUARD_S)
            if not done.is_set():  # not after the reserve returned: during its wait
                drained_in_wait.append(obj.programs["drain"].test_run(ctx=b"").retval)

        drainer = threading.Thread(target=drain_once_waiting)
        drainer.start()
        sys.setprofile(on_call)
        try:
            ring.reserve(64, timeout=HANG_GUARD_S).submit()
        finally:
            sys.setprofile(None)
            done.set()
            entered.set()
            drainer.join()
        # The program took the records while the reserve waited for room.
        assert drained_in_wait and drained_in_wait[0] > 10


def test_record_misuse_and_bad_sizes(load: Loader) -> None:
    with load("user_ring") as obj:
        with UserRingBuffer(obj.maps["commands"]) as ring:
            record = ring.reserve(8)
            record.submit()
            with pytest.raises(PhaseError, match="already submitted"):
                record.submit()
            with pytest.raises(ValueError):
                record.data[0] = 1  # released with the submit
            with pytest.raises(LayoutError):
                ring.reserve(0)
            with pytest.raises(LayoutError):
                ring.reserve(1 << 20)
            with pytest.raises(TypeError, match="needs a size"):
                ring.reserve()
            with pytest.raises(LayoutError, match="do not fit"):
                ring.reserve(4).write(b"12345")
            with pytest.raises(RuntimeError), ring.reserve(8):
                raise RuntimeError("discarded, not submitted")
            with pytest.raises(LayoutError, match="user_ringbuf"):
                UserRingBuffer(next(m for n, m in obj.maps.items() if n.endswith(".bss")))
        ring.close()
        with pytest.raises(PhaseError):
            ring.reserve(8)
