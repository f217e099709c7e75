"""Ring buffers on the real kernel: nothing lost, typed records, batches, errors, signals."""

from __future__ import annotations

import errno
import os
import signal
import subprocess
import sys
import threading
import time
import traceback
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import libbpf_py
from libbpf_py._lowlevel import lib
from libbpf_py.errors import LayoutError, PhaseError
from libbpf_py.ringbuf import RecordBatch, RingBuffer
from tests.conftest import requires_root
from tests.execute.conftest import PACKET, Loader
from tests.execute.helpers import EXEC_ARGS, EXEC_ARGS_OFFSET, read_globals, send_exec

pytestmark = [requires_root, pytest.mark.usefixtures("no_fd_leak")]

HANG_GUARD_S = 60  # how long a wait may take before it counts as a hang
EVENT_SIZE = 24  # struct event: u64 seq, u32 producer, u32 flags, char tag[8]


def test_a_million_records_all_in_order(load: Loader, execute_objects: dict[str, Path]) -> None:
    n = 1_000_000
    with (
        load("producer", ring_a=1 << 25) as obj,
        RingBuffer(obj.maps["ring_a"], record_type="struct event") as ring,
    ):
        obj.programs["produce_a"].test_run(PACKET, repeat=n)
        state = ring.state()
        assert state.available == n * (8 + EVENT_SIZE)  # each record has an 8-byte header
        batch = ring.drain()
        assert len(batch) == n
        events = batch.to_numpy()
        assert events.dtype.names == ("seq", "producer", "flags", "tag")
        assert np.array_equal(events["seq"], np.arange(n, dtype=np.uint64))
        assert (events["tag"] == b"lpy-evt").all()
        counters = read_globals(
            obj, libbpf_py.ObjectFile(execute_objects["producer"]), "next_seq", "dropped"
        )
        assert counters["next_seq"][0] == n and counters["dropped"][0] == 0
        after = ring.state()
        assert after.available == 0 and after.consumer_pos == after.producer_pos
        assert len(ring.drain()) == 0


@pytest.fixture(params=["plain", "sse2", "avx2"])
def copy_kind(request: pytest.FixtureRequest) -> Iterator[None]:
    """Large drains use this copy (by default the best the CPU has) for one test."""
    kind = ["plain", "sse2", "avx2"].index(request.param)
    before = lib.lpy_ring_set_copy(kind)
    if before == -errno.ENOTSUP:
        pytest.skip(
            f"this CPU has no {request.param} streaming stores (probed by the CPU "
            "feature check of lpy_ring_set_copy)"
        )
    yield
    lib.lpy_ring_set_copy(before)


@pytest.mark.parametrize("n", [3_000, 40_000], ids=["small-drain", "large-drain"])
def test_records_of_any_length_are_copied_whole(load: Loader, n: int, copy_kind: None) -> None:
    # 40,000 records (5.3 MB) take drain's large-drain copy, 3,000 (400 kB) its plain one;
    # lengths 65..200 put record starts and ends at every alignment.
    with load("producer", ring_a=1 << 23) as obj, RingBuffer(obj.maps["ring_a"]) as ring:
        obj.programs["produce_odd"].test_run(PACKET, repeat=n)
        batch = ring.drain()
        assert len(batch) == n
        for seq in range(n):
            record = bytes(batch[seq])
            size = 65 + seq % 136
            assert len(record) == size
            expected = seq.to_bytes(8, "little") + bytes((seq + i) & 0xFF for i in range(8, size))
            assert record == expected, f"record {seq} differs"


def _check_stream(seqs: np.ndarray, produced: int, dropped: int) -> None:
    """Numbers strictly increase, and every number produced is seen or counted dropped."""
    assert (np.diff(seqs.astype(np.int64)) > 0).all()
    assert len(seqs) + dropped == produced
    if len(seqs):
        assert int(seqs[-1]) < produced


def test_two_producers_two_rings_one_poller_while_producing(
    load: Loader, execute_objects: dict[str, Path]
) -> None:
    per_producer = 500_000
    # Small rings and producers running while we consume: records may find no room,
    # and then the producer counts them. Nothing may vanish without being counted.
    with load("producer", ring_a=1 << 18, ring_b=1 << 18) as obj, RingBuffer() as ring:
        assert ring.add(obj.maps["ring_a"], record_type="struct event") == 0
        assert ring.add(obj.maps["ring_b"], record_type="struct event") == 1
        errors: list[BaseException] = []

        def produce(name: str) -> None:
            try:
                obj.programs[name].test_run(PACKET, repeat=per_producer)
            except BaseException as exc:  # pragma: no cover - reported below
                errors.append(exc)

        threads = [threading.Thread(target=produce, args=(p,)) for p in ("produce_a", "produce_b")]
        seen: list[list[np.ndarray]] = [[], []]
        for t in threads:
            t.start()
        while any(t.is_alive() for t in threads):
            ring.poll(timeout=0.05)
            batch = ring.drain()
            for r in (0, 1):
                seen[r].append(batch.to_numpy(ring=r)["seq"])
        for t in threads:
            t.join()
        batch = ring.drain()
        for r in (0, 1):
            seen[r].append(batch.to_numpy(ring=r)["seq"])
        assert not errors
        counters = read_globals(
            obj, libbpf_py.ObjectFile(execute_objects["producer"]), "next_seq", "dropped"
        )
        for r in (0, 1):
            seqs = np.concatenate(seen[r])
            assert counters["next_seq"][r] == per_producer
            _check_stream(seqs, per_producer, counters["dropped"][r])
            assert len(seqs) > 0


def test_callbacks_get_typed_records(load: Loader) -> None:
    got: list[object] = []
    with (
        load("producer") as obj,
        RingBuffer(obj.maps["ring_a"], got.append, record_type="struct event") as ring,
    ):
        obj.programs["produce_a"].test_run(PACKET, repeat=100)
        assert ring.poll(timeout=1) == 100
        assert [e.seq for e in got] == list(range(100))  # type: ignore[attr-defined]
        first = got[0]
        assert first.producer == 0 and first.tag == b"lpy-evt"  # type: ignore[attr-defined]
        assert ring.consume() == 0


def test_raw_bytes_records_and_iteration(load: Loader) -> None:
    with load("producer") as obj, RingBuffer(obj.maps["ring_a"]) as ring:
        obj.programs["produce_small"].test_run(PACKET, repeat=5)
        records = []
        for record in ring:
            records.append(record)
            if len(records) == 5:
                break
        assert records == [i.to_bytes(8, "little") for i in range(5)]


def _boom(record: bytes) -> None:
    if int.from_bytes(record[:8], "little") == 3:
        raise ValueError("record 3 is bad")


def test_a_raising_callback_stops_the_poll_and_reraises(load: Loader) -> None:
    seen: list[int] = []

    def callback(record: bytes) -> None:
        seen.append(int.from_bytes(record[:8], "little"))
        _boom(record)

    with load("producer") as obj, RingBuffer(obj.maps["ring_a"], callback) as ring:
        obj.programs["produce_a"].test_run(PACKET, repeat=10)
        with pytest.raises(ValueError, match="record 3 is bad") as info:
            ring.poll(timeout=1)
        frames = [f.name for f in traceback.extract_tb(info.value.__traceback__)]
        assert "_boom" in frames and "callback" in frames
        assert seen == [0, 1, 2, 3]
        # The poll stopped: the rest is still in the ring, and comes next.
        assert ring.state().available == 6 * (8 + EVENT_SIZE)
        assert ring.consume() == 6
        assert seen == list(range(10))


def test_drain_takes_every_ring_and_honours_max_records(load: Loader) -> None:
    with load("producer") as obj, RingBuffer() as ring:
        ring.add(obj.maps["ring_a"], lambda r: None, record_type="struct event")
        ring.add(obj.maps["ring_b"])
        obj.programs["produce_a"].test_run(PACKET, repeat=7)
        obj.programs["produce_b"].test_run(PACKET, repeat=3)
        first = ring.drain(max_records=4)
        assert isinstance(first, RecordBatch) and len(first) == 4
        rest = ring.drain()
        assert len(rest) == 6
        assert len(ring.drain()) == 0
        assert [first.ring(i) for i in range(4)] == [0] * 4
        assert [rest.ring(i) for i in range(6)] == [0, 0, 0, 1, 1, 1]
        typed, raw = first[0], rest[3]
        assert typed.seq == 0  # ring 0 has a record type
        assert isinstance(raw, memoryview) and len(raw) == EVENT_SIZE  # ring 1 has none
        assert int.from_bytes(raw[:8], "little") == 0
        assert first[-1].seq == 3 and first[1:3][0].seq == 1
        assert rest.sizes() == [EVENT_SIZE] * 6
        assert rest.nbytes == 6 * EVENT_SIZE
        with pytest.raises(IndexError):
            first[4]
        # only typed ring 0 contributed to `first`: its BTF type is enough
        assert first.to_numpy()["seq"].tolist() == [0, 1, 2, 3]
        with pytest.raises(LayoutError, match="no single BTF record type"):
            rest.to_numpy()
        seqs = rest.to_numpy(np.dtype([("seq", "<u8"), ("rest", "V16")]), ring=1)["seq"]
        assert seqs.tolist() == [0, 1, 2]
        with pytest.raises(LayoutError, match="do not fit a dtype of 8 bytes"):
            rest.to_numpy("<u8")


def test_batch_outlives_the_ring_buffer(load: Loader) -> None:
    with load("producer") as obj:
        with RingBuffer(obj.maps["ring_a"]) as ring:
            obj.programs["produce_small"].test_run(PACKET, repeat=3)
            batch = ring.drain()
            view = batch[2]
        assert bytes(view) == (2).to_bytes(8, "little")
        assert batch.to_numpy("<u8").tolist() == [0, 1, 2]


def test_bad_input_gives_library_errors(load: Loader) -> None:
    with load("producer") as obj:
        with pytest.raises(LayoutError, match="no BTF type named 'struct nosuch'"):
            RingBuffer(obj.maps["ring_a"], record_type="struct nosuch")
        with pytest.raises(LayoutError, match="perf_event_array map"):
            RingBuffer(obj.maps["perf_events"])
        with pytest.raises(TypeError):
            RingBuffer(obj.maps["ring_a"], callback=42)  # type: ignore[arg-type]
        ring = RingBuffer(obj.maps["ring_a"])
        with pytest.raises(ValueError):
            ring.drain(max_records=-1)
    # The object (and so the map) is closed now: a clear PhaseError, not a crash.
    with pytest.raises(PhaseError, match="closed"):
        ring.poll(timeout=0)
    with pytest.raises(PhaseError):
        ring.drain()
    ring.close()
    with pytest.raises(PhaseError):
        ring.consume()
    with load("producer") as obj:
        ring_map = obj.maps["ring_a"]
    with pytest.raises(PhaseError):
        RingBuffer(ring_map)


class _Interrupted(Exception):
    pass


def test_a_signal_interrupts_a_blocking_poll_promptly(load: Loader) -> None:
    def on_alarm(signum: int, frame: object) -> None:
        raise _Interrupted

    previous = signal.signal(signal.SIGALRM, on_alarm)
    try:
        with load("producer") as obj, RingBuffer(obj.maps["ring_a"]) as ring:
            # A hang guard, not a speed check: should the signal fail to end the wait,
            # the guard closes the ring from another thread, which ends the poll with
            # PhaseError instead of _Interrupted, and the test fails (it never hangs).
            fired = threading.Event()

            def guard() -> None:
                fired.set()
                ring.close()

            watchdog = threading.Timer(HANG_GUARD_S, guard)
            watchdog.start()
            try:
                signal.setitimer(signal.ITIMER_REAL, 0.2)
                with pytest.raises(_Interrupted):
                    ring.poll()  # waits forever but for the signal
            finally:
                watchdog.cancel()
                watchdog.join()
            # The signal ended the wait, not the guard.
            assert not fired.is_set()
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


# The child installs Python's Ctrl-C handler itself: a process that a non-interactive
# shell started in the background (`nohup ... &`, as CI runners may) inherits SIGINT
# ignored, and Python then installs none, so the signal would be lost, not the poll stuck.
_CTRL_C_SCRIPT = """
import signal, sys, time
import libbpf_py
from libbpf_py.ringbuf import RingBuffer
signal.signal(signal.SIGINT, signal.default_int_handler)
with libbpf_py.ObjectFile(sys.argv[1]).open() as o, o.load() as obj:
    with RingBuffer(obj.maps["ring_a"]) as ring:
        print("polling", flush=True)
        try:
            ring.poll()
        except KeyboardInterrupt:
            print("interrupted", flush=True)
"""


def test_ctrl_c_interrupts_a_blocking_poll(execute_objects: dict[str, Path]) -> None:
    proc = subprocess.Popen(
        [sys.executable, "-c", _CTRL_C_SCRIPT, str(execute_objects["producer"])],
        stdout=subprocess.PIPE,
        text=True,
        cwd=Path(__file__).resolve().parents[2],
    )
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == "polling"
        time.sleep(0.3)
        os.kill(proc.pid, signal.SIGINT)
        # A guard against a hang, not a speed check.
        out, _ = proc.communicate(timeout=60)
        assert "interrupted" in out
        assert proc.returncode == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_unsigned_char_arrays_in_records_keep_every_byte(load: Loader) -> None:
    # struct big { u64 seq; u8 payload[120]; }: payload[0] is the low byte of seq,
    # payload[119] is 0xab, the rest zero. Binary data reads whole, also through numpy.
    with (
        load("producer", ring_a=1 << 20) as obj,
        RingBuffer(obj.maps["ring_a"], record_type="struct big") as ring,
    ):
        obj.programs["produce_big"].test_run(PACKET, repeat=300)
        batch = ring.drain()
        for seq, record in enumerate(batch):
            assert record.seq == seq
            assert record.payload == bytes([seq & 0xFF]) + bytes(118) + b"\xab"
        table = batch.to_numpy()
        assert table["payload"].shape == (300, 120)
        assert (table["payload"][:, 0] == np.arange(300) % 256).all()
        assert (table["payload"][:, 119] == 0xAB).all()
        assert not table["payload"][:, 1:119].any()


def test_records_cut_short_as_tools_send_them_keep_every_argument(load: Loader) -> None:
    # struct exec_event { u64 ts; u32 pid, args_count, args_size; char comm[16];
    # char args[512]; }, submitted as offsetof(args) + args_size bytes.
    got: list[Any] = []
    with load("truncated") as obj:
        with RingBuffer(obj.maps["exec_ring"], got.append, record_type="struct exec_event") as ring:
            sizes = [send_exec(obj, "exec_to_ring", args) for args in EXEC_ARGS]
            assert ring.poll(timeout=1) == len(EXEC_ARGS)
        for record, args in zip(got, EXEC_ARGS, strict=True):
            assert (record.pid, record.comm, record.args_count) == (4242, b"lpy-exec", len(args))
            assert record.args.split(b"\0") == args
            assert len(record.args) == record.args_size - 1  # only the last NUL is stripped
        # The same records kept for drain(): RecordBatch, iteration and numpy.
        with RingBuffer(obj.maps["exec_ring"], record_type="struct exec_event") as ring:
            for args in EXEC_ARGS:
                send_exec(obj, "exec_to_ring", args)
            batch = ring.drain()
            assert batch.sizes() == batch.sizes(ring=0) == sizes
            assert [r.args.split(b"\0") for r in batch] == EXEC_ARGS
            assert [batch[i].args.split(b"\0") for i in range(len(batch))] == EXEC_ARGS
            assert [bytes(batch.raw(i)) for i in range(len(batch))] == [
                bytes(batch.raw(i))[:n] for i, n in enumerate(sizes)
            ]
            for table in (batch.to_numpy(), batch.to_numpy(ring=0)):
                assert table.dtype == batch.to_numpy().dtype and table.shape == (len(EXEC_ARGS),)
                assert [bytes(a).split(b"\0") for a in table["args"]] == EXEC_ARGS
                assert list(table["args_size"]) == [n - EXEC_ARGS_OFFSET for n in sizes]
                assert list(table["pid"]) == [4242] * len(EXEC_ARGS)
                # The padding is zeros: every row's tail past its record is empty.
                rows = table.view(np.uint8).reshape(len(EXEC_ARGS), -1)
                assert not any(rows[i, n:].any() for i, n in enumerate(sizes))
            # With an explicit dtype, records must still have its size.
            with pytest.raises(LayoutError, match="do not fit a dtype of 552 bytes"):
                batch.to_numpy(table.dtype)


def test_a_record_cut_inside_a_scalar_names_the_field(load: Loader) -> None:
    got: list[Any] = []
    with (
        load("truncated") as obj,
        RingBuffer(obj.maps["exec_ring"], got.append, record_type="struct exec_event") as ring,
    ):
        send_exec(obj, "exec_to_ring", EXEC_ARGS[0], cut=10)
        with pytest.raises(LayoutError, match=r"10 bytes .* ends inside field 'pid'"):
            ring.poll(timeout=1)
        assert got == []
    with (
        load("truncated") as obj,
        RingBuffer(obj.maps["exec_ring"], record_type="struct exec_event") as ring,
    ):
        send_exec(obj, "exec_to_ring", EXEC_ARGS[0])
        send_exec(obj, "exec_to_ring", EXEC_ARGS[0], cut=26)
        batch = ring.drain()
        assert batch.sizes() == [EXEC_ARGS_OFFSET + 24, 26]
        assert batch[0].args.split(b"\0") == EXEC_ARGS[0]
        for fail in (lambda: batch[1], lambda: list(batch), batch.to_numpy):
            with pytest.raises(LayoutError, match=r"26 bytes .* ends inside field 'comm'"):
                fail()
