"""User ring buffers: Python writes, a BPF program drains with bpf_user_ringbuf_drain."""

from __future__ import annotations

import struct
import time
from pathlib import Path

import pytest

import libbpf_py
from libbpf_py.errors import LayoutError, MapFullError, PhaseError
from libbpf_py.user_ringbuf import UserRingBuffer
from tests.conftest import requires_root
from tests.execute.conftest import Loader
from tests.execute.helpers import read_globals

pytestmark = [requires_root, pytest.mark.usefixtures("no_fd_leak")]


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
        start = time.monotonic()
        with pytest.raises(MapFullError, match="after waiting"):
            ring.reserve(64, timeout=0.2)
        assert 0.15 < time.monotonic() - start < 5
        obj.programs["drain"].test_run(ctx=b"")
        ring.reserve(64, timeout=1).submit()  # room again after the program drained


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
