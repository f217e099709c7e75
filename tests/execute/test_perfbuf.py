"""Perf buffers on the real kernel: per-CPU samples, losses always reported, errors."""

from __future__ import annotations

import os
import traceback
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import libbpf_py
from libbpf_py.errors import LayoutError, PhaseError
from libbpf_py.perfbuf import LostSamples, LostSamplesWarning, PerfBuffer, PerfSample
from tests.conftest import requires_root
from tests.execute.conftest import PACKET, Loader
from tests.execute.helpers import EXEC_ARGS, read_globals, send_exec

pytestmark = [requires_root, pytest.mark.usefixtures("no_fd_leak")]


@pytest.fixture
def one_cpu() -> Iterator[None]:
    """Run on one CPU: the kernel reports a buffer's losses with that CPU's next sample."""
    before = os.sched_getaffinity(0)
    os.sched_setaffinity(0, {min(before)})
    try:
        yield
    finally:
        os.sched_setaffinity(0, before)


def overflow(obj: libbpf_py.LoadedObject, perf: PerfBuffer, n: int) -> None:
    """Produce n samples into full buffers, drain them, then one more that carries the
    kernel's lost-samples report."""
    obj.programs["produce_perf"].test_run(PACKET, repeat=n)
    while perf.poll(timeout=0.2):
        pass
    obj.programs["produce_perf"].test_run(PACKET)
    while perf.poll(timeout=0.2):
        pass


def test_samples_arrive_typed_with_their_cpu(load: Loader) -> None:
    got: list[tuple[int, object]] = []
    with (
        load("producer") as obj,
        PerfBuffer(
            obj.maps["perf_events"],
            lambda cpu, rec: got.append((cpu, rec)),
            record_type="struct event",
        ) as perf,
    ):
        assert perf.buffer_count >= 1
        obj.programs["produce_perf"].test_run(PACKET, repeat=50)
        delivered = 0
        while delivered < 50:
            n = perf.poll(timeout=2)
            assert n > 0
            delivered += n
        assert [rec.seq for _, rec in got] == list(range(50))  # type: ignore[attr-defined]
        assert all(0 <= cpu < perf.buffer_count for cpu, _ in got)
        assert got[0][1].tag == b"lpy-prf"  # type: ignore[attr-defined]
        assert perf.lost == 0
        # Every one of them went from C to the callback (libbpf_py._lowlevel.perfcore),
        # not through the Python side.
        assert perf._reader is not None and perf._reader.delivered() == 50


@pytest.mark.usefixtures("one_cpu")
def test_lost_samples_are_reported_and_accounted(
    load: Loader, execute_objects: dict[str, Path]
) -> None:
    n = 20_000
    received: list[int] = []
    lost: list[tuple[int, int]] = []
    with (
        load("producer") as obj,
        PerfBuffer(
            obj.maps["perf_events"],
            lambda cpu, rec: received.append(int.from_bytes(rec[:8], "little")),
            lambda cpu, count: lost.append((cpu, count)),
            page_count=1,
        ) as perf,
    ):
        # One page per CPU holds about a hundred samples: most of these cannot fit.
        overflow(obj, perf, n)
        counters = read_globals(obj, libbpf_py.ObjectFile(execute_objects["producer"]), "dropped")
        assert lost, "a full buffer must report lost samples"
        assert sum(c for _, c in lost) == perf.lost == sum(perf.lost_by_cpu.values())
        # Every sample is received, or counted lost by the kernel and by the producer.
        assert len(received) + perf.lost == n + 1
        assert perf.lost == counters["dropped"][1]
        assert received == sorted(received)


@pytest.mark.usefixtures("one_cpu")
def test_without_callbacks_losses_come_with_the_samples(load: Loader) -> None:
    with load("producer") as obj, PerfBuffer(obj.maps["perf_events"], page_count=1) as perf:
        overflow(obj, perf, 1999)
        items = []
        for item in perf:
            items.append(item)
            if sum(1 for i in items if isinstance(i, PerfSample)) + perf.lost == 2000 and any(
                isinstance(i, LostSamples) for i in items
            ):
                break
        samples = [i for i in items if isinstance(i, PerfSample)]
        losses = [i for i in items if isinstance(i, LostSamples)]
        assert losses and sum(x.count for x in losses) == perf.lost
        assert len(samples) + perf.lost == 2000


@pytest.mark.usefixtures("one_cpu")
def test_losses_warn_when_only_samples_are_handled(load: Loader) -> None:
    with (
        load("producer") as obj,
        PerfBuffer(obj.maps["perf_events"], lambda c, r: None, page_count=1) as perf,
    ):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            overflow(obj, perf, 2000)
        assert perf.lost > 0
        assert any(issubclass(w.category, LostSamplesWarning) for w in caught)


def test_a_raising_callback_stops_delivery_and_keeps_the_rest(load: Loader) -> None:
    got: list[int] = []

    def on_sample(cpu: int, record: bytes) -> None:
        seq = int.from_bytes(record[:8], "little")
        if seq == 5 and 5 not in got:
            got.append(seq)
            raise RuntimeError("sample 5 is bad")
        got.append(seq)

    with load("producer") as obj, PerfBuffer(obj.maps["perf_events"], on_sample) as perf:
        obj.programs["produce_perf"].test_run(PACKET, repeat=20)
        with pytest.raises(RuntimeError, match="sample 5 is bad") as info:
            while True:
                perf.poll(timeout=1)
        assert "on_sample" in [f.name for f in traceback.extract_tb(info.value.__traceback__)]
        assert got == [0, 1, 2, 3, 4, 5]
        while len(got) < 20 and perf.poll(timeout=1):
            pass
        assert got == list(range(6)) + list(range(6, 20))


def test_bad_input(load: Loader) -> None:
    with load("producer") as obj:
        with pytest.raises(LayoutError, match="ringbuf map"):
            PerfBuffer(obj.maps["ring_a"])
        with pytest.raises(ValueError, match="power of two"):
            PerfBuffer(obj.maps["perf_events"], page_count=3)
        with pytest.raises(LayoutError, match="no BTF type named"):
            PerfBuffer(obj.maps["perf_events"], record_type="struct nosuch")
        perf = PerfBuffer(obj.maps["perf_events"])
    with pytest.raises(PhaseError):
        perf.poll(timeout=0)
    perf.close()
    perf.close()


def test_samples_cut_short_as_tools_send_them_keep_every_argument(load: Loader) -> None:
    # execsnoop's way: bpf_perf_event_output(ctx, map, flags, e, offsetof(args) +
    # args_size). perf pads a sample so that it ends on 8 bytes with its 4-byte size.
    got: list[Any] = []
    with (
        load("truncated") as obj,
        PerfBuffer(
            obj.maps["exec_perf"], lambda cpu, rec: got.append(rec), record_type="struct exec_event"
        ) as perf,
    ):
        sizes = [send_exec(obj, "exec_to_perf", args) for args in EXEC_ARGS]
        while len(got) < len(EXEC_ARGS):
            assert perf.poll(timeout=2) > 0
    for record, args in zip(got, EXEC_ARGS, strict=True):
        assert (record.pid, record.comm, record.args_count) == (4242, b"lpy-exec", len(args))
        assert record.args.split(b"\0") == args
    raw: list[Any] = []
    with load("truncated") as obj, PerfBuffer(obj.maps["exec_perf"]) as perf:
        send_exec(obj, "exec_to_perf", EXEC_ARGS[1])
        sample = next(iter(perf))
        assert isinstance(sample, PerfSample)
        raw.append(sample.record)
    assert len(raw[0]) == (sizes[1] + 4 + 7) // 8 * 8 - 4


def test_a_sample_cut_inside_a_scalar_names_the_field(load: Loader) -> None:
    with load("truncated") as obj:
        with PerfBuffer(obj.maps["exec_perf"], record_type="struct exec_event") as perf:
            send_exec(obj, "exec_to_perf", EXEC_ARGS[0], cut=3)  # 4 bytes with the padding
            with pytest.raises(LayoutError, match=r"4 bytes .* ends inside field 'ts'"):
                next(iter(perf))
        got: list[Any] = []
        with PerfBuffer(
            obj.maps["exec_perf"], lambda cpu, rec: got.append(rec), record_type="struct exec_event"
        ) as perf:
            send_exec(obj, "exec_to_perf", EXEC_ARGS[0], cut=26)  # 28 bytes
            with pytest.raises(LayoutError, match=r"28 bytes .* ends inside field 'comm'"):
                perf.poll(timeout=2)
        assert got == []
