"""The C fast path of Program.test_run (csrc/fastcall.c) against the Python one.

``test_run(packet)`` and ``test_run(packet, repeat=n)`` run in C; every other call shape
(bytearray data, a ``ctx``, ``flags``, keywords...) goes through the Python method. The
two must give the same results, the same errors, and leak nothing.
"""

from __future__ import annotations

import contextlib
import gc
import inspect
import logging
import os
import socket
import sys
import threading
import time
import tracemalloc
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

import libbpf_py
from libbpf_py import LoadedObject
from libbpf_py._lowlevel import fastcall
from libbpf_py.errors import LayoutError, PhaseError
from libbpf_py.packets import ETH_P_ARP, ethernet, ipv4, udp
from libbpf_py.program import Program, TestRunResult
from tests.conftest import requires_root
from tests.execute.conftest import Loader

pytestmark = [requires_root, pytest.mark.usefixtures("no_fd_leak")]

XDP_DROP, XDP_PASS, XDP_TX = 1, 2, 3
BLOCKED, ALLOWED, DST = "198.18.11.2", "198.18.11.3", "198.18.11.1"


def frame(src: str, payload: bytes = b"fast") -> bytes:
    return ethernet(ipv4(udp(payload, src=src, dst=DST), src=src, dst=DST))


@pytest.fixture
def filt(filter_object: Path) -> Iterator[LoadedObject]:
    """The shipped filter, loaded, with BLOCKED on its blocklist."""
    with libbpf_py.ObjectFile(filter_object).open() as opened, opened.load() as loaded:
        loaded.maps["blocklist"][socket.inet_aton(BLOCKED)] = 1
        yield loaded


def slow(prog: Program, data: bytes, **options: int) -> TestRunResult:
    """The same run through the Python method's general path (data not exactly bytes)."""
    return prog.test_run(bytearray(data), **options)


def same(fast: TestRunResult, general: TestRunResult) -> None:
    assert type(fast) is TestRunResult and type(general) is TestRunResult
    assert (fast.retval, fast.data_out, fast.ctx_out, fast.context) == (
        general.retval,
        general.data_out,
        general.ctx_out,
        general.context,
    )
    assert type(fast.data_out) is bytes
    assert fast.duration_ns > 0 and general.duration_ns > 0


def test_fast_and_general_paths_agree_on_the_filter(filt: LoadedObject) -> None:
    prog = filt.programs["xdp_filter"]
    counters = filt.maps["counters"]
    for data, verdict in (
        (frame(ALLOWED), XDP_PASS),
        (frame(BLOCKED), XDP_DROP),
        (ethernet(b"\0" * 28, proto=ETH_P_ARP), XDP_PASS),
        (frame(BLOCKED)[:14], XDP_PASS),
    ):
        fast = prog.test_run(data)
        assert fast.retval == verdict
        assert fast.data_out == data
        same(fast, slow(prog, data))
        same(prog.test_run(data, repeat=5), slow(prog, data, repeat=5))
    # Every run counted once: 1 + 1 + 5 + 5 drops of the blocked frame, no retries.
    assert counters[1].sum() == 12


def test_fast_and_general_paths_agree_on_a_rewriting_program(load: Loader) -> None:
    with load("kinds") as obj:
        prog = obj.programs["xdp_rewrite"]
        data = ethernet(
            ipv4(udp(b"x", src=ALLOWED, dst=DST), src=ALLOWED, dst=DST, ttl=9),
            src=b"\1" * 6,
            dst=b"\2" * 6,
        )
        fast = prog.test_run(data)
        assert fast.retval == XDP_TX
        assert fast.data_out != data and fast.data_out[:12] == b"\1" * 6 + b"\2" * 6
        same(fast, slow(prog, data))
        assert prog.test_run(data).data_out == fast.data_out


def test_every_call_shape_gives_the_same_result(filt: LoadedObject) -> None:
    prog = filt.programs["xdp_filter"]
    data, big = frame(BLOCKED), frame(BLOCKED, b"p" * 2100)
    assert len(big) > fastcall.FAST_MAX
    reference = slow(prog, data)
    shapes = [
        prog.test_run(data),
        prog.test_run(data, repeat=1),
        prog.test_run(data, repeat=0),  # the kernel runs it once
        prog.test_run(data=data),
        prog.test_run(data, ctx=None, flags=0, cpu=None, batch_size=None),
        prog.test_run(memoryview(data)),
        Program.test_run(prog, data),
    ]
    for result in shapes:
        same(result, reference)
    same(prog.test_run(big), slow(prog, big))  # over the fast path's size: the general one
    assert prog.test_run(big).retval == XDP_DROP


def test_results_are_real_named_tuples_and_stay_as_returned(filt: LoadedObject) -> None:
    prog = filt.programs["xdp_filter"]
    first = prog.test_run(frame(ALLOWED))
    kept = [prog.test_run(frame(BLOCKED)) for _ in range(100)]
    # Later runs (with other packets) never change a result someone holds.
    assert first.retval == XDP_PASS and first.data_out == frame(ALLOWED)
    assert all(r.retval == XDP_DROP and r.data_out == frame(BLOCKED) for r in kept)
    assert len({id(r) for r in kept}) == len(kept)
    assert first._asdict()["retval"] == XDP_PASS
    assert first._replace(retval=7).retval == 7
    assert first == (XDP_PASS, frame(ALLOWED), None, first.duration_ns, None)
    assert hash(first) == hash(tuple(first))
    assert not hasattr(first, "__dict__")


def test_threads_get_their_own_results(filt: LoadedObject, load: Loader) -> None:
    prog = filt.programs["xdp_filter"]
    with load("kinds") as kinds:
        rewrite = kinds.programs["xdp_rewrite"]
        v4 = ethernet(
            ipv4(udp(b"t", src=ALLOWED, dst=DST), src=ALLOWED, dst=DST, ttl=64),
            src=b"\3" * 6,
            dst=b"\4" * 6,
        )
        cases = [(prog, frame(ALLOWED, bytes([i]) * 20 * (i + 1))) for i in range(3)]
        cases += [(prog, frame(BLOCKED)), (rewrite, v4)]
        expected = [slow(p, data) for p, data in cases]
        failures: list[str] = []
        start = threading.Barrier(len(cases))

        def worker(index: int) -> None:
            p, data = cases[index]
            want = expected[index]
            start.wait()
            kept = []
            for i in range(3000):
                got = p.test_run(data)
                if (got.retval, got.data_out) != (want.retval, want.data_out):
                    failures.append(f"thread {index}, call {i}: {got!r} != {want!r}")
                    return
                if i % 100 == 0:
                    kept.append(got)
            if any((r.retval, r.data_out) != (want.retval, want.data_out) for r in kept):
                failures.append(f"thread {index}: a kept result changed")

        threads = [threading.Thread(target=worker, args=(i,)) for i in range(len(cases))]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=120)
        assert not any(t.is_alive() for t in threads)
        assert failures == []


def test_the_gil_is_released_while_the_kernel_runs(filt: LoadedObject) -> None:
    prog = filt.programs["xdp_filter"]
    ticks = [0]
    stop = threading.Event()

    def spin() -> None:
        while not stop.is_set():
            ticks[0] += 1
            time.sleep(1e-4)  # gives the GIL up, then must take it back to count

    spinner = threading.Thread(target=spin)
    spinner.start()
    interval = sys.getswitchinterval()
    # No forced switches: the spinner counts during the run only if test_run itself
    # lets go of the GIL.
    sys.setswitchinterval(30.0)
    try:
        before = ticks[0]
        result = prog.test_run(frame(ALLOWED), repeat=2_000_000)
        during = ticks[0] - before
    finally:
        sys.setswitchinterval(interval)
        stop.set()
        spinner.join()
    assert result.retval == XDP_PASS
    assert during > 0


def test_closed_object_and_closed_program_raise_phase_error(filter_object: Path) -> None:
    with libbpf_py.ObjectFile(filter_object).open() as opened, opened.load() as loaded:
        prog = loaded.programs["xdp_filter"]
        assert prog.test_run(frame(ALLOWED)).retval == XDP_PASS
        prog_id = prog.info().id
        standalone = Program.from_id(prog_id)
    for shape in ({}, {"repeat": 3}):
        with pytest.raises(PhaseError):
            prog.test_run(frame(ALLOWED), **shape)
    # The standalone handle keeps the program loaded after its object closed.
    assert standalone.test_run(frame(ALLOWED)).retval == XDP_PASS
    standalone.close()
    for shape in ({}, {"repeat": 3}):
        with pytest.raises(PhaseError):
            standalone.test_run(frame(ALLOWED), **shape)


def test_the_c_method_runs_open_programs_itself(filter_object: Path) -> None:
    """The contract between the Python handle and csrc/fastcall.c: while a program is
    open (of an object, or standalone) the C method runs test_run(packet) itself; once it
    is closed, or in teaching mode, or for another call shape, the Python method does. A
    rename on the Python side that the C side no longer finds fails here, instead of
    quietly sending every call down the slow path."""

    def fast(call: Callable[[], object]) -> int:
        before = fastcall.fast_calls()
        for _ in range(5):
            with contextlib.suppress(PhaseError):
                call()
        return fastcall.fast_calls() - before

    with libbpf_py.ObjectFile(filter_object).open() as opened, opened.load() as loaded:
        prog = loaded.programs["xdp_filter"]
        packet = frame(ALLOWED)
        assert fast(lambda: prog.test_run(packet)) == 5
        assert fast(lambda: prog.test_run(packet, repeat=2)) == 5
        before = fastcall.fast_calls()
        with pytest.raises(LayoutError):
            prog.test_run(b"\0" * 5)  # refused by the kernel, on the fast path
        assert fastcall.fast_calls() == before + 1
        assert fast(lambda: prog.test_run(bytearray(packet))) == 0
        with libbpf_py.explain():
            assert fast(lambda: prog.test_run(packet)) == 0
        standalone = Program.from_id(prog.info().id)
    assert fast(lambda: prog.test_run(packet)) == 0  # its object closed: PhaseError
    assert fast(lambda: standalone.test_run(packet)) == 5
    standalone.close()
    assert fast(lambda: standalone.test_run(packet)) == 0


def test_errors_of_fast_runs_are_the_library_errors(filt: LoadedObject) -> None:
    prog = filt.programs["xdp_filter"]
    for shape in ({}, {"repeat": 4}):
        with pytest.raises(LayoutError, match="at least an Ethernet header") as fast:
            prog.test_run(b"\0" * 5, **shape)
        with pytest.raises(LayoutError, match="at least an Ethernet header") as general:
            prog.test_run(bytearray(5), **shape)
        assert str(fast.value) == str(general.value)
        assert fast.value.errno == general.value.errno
    with pytest.raises(ValueError, match="repeat must be 0 or more"):
        prog.test_run(frame(ALLOWED), repeat=-1)
    with pytest.raises(TypeError):
        prog.test_run(frame(ALLOWED), 1)  # repeat is keyword-only
    with pytest.raises(TypeError):
        prog.test_run(frame(ALLOWED), repat=1)
    with pytest.raises(TypeError):
        Program.test_run(object(), frame(ALLOWED))  # type: ignore[arg-type]


def test_explain_mode_narrates_fast_shapes(
    filt: LoadedObject, caplog: pytest.LogCaptureFixture
) -> None:
    prog = filt.programs["xdp_filter"]
    with caplog.at_level(logging.INFO, logger="libbpf_py.explain"), libbpf_py.explain():
        assert prog.test_run(frame(BLOCKED)).retval == XDP_DROP
        assert prog.test_run(frame(ALLOWED), repeat=2).retval == XDP_PASS
    runs = [r.getMessage() for r in caplog.records if "bpf_prog_test_run_opts" in r.getMessage()]
    assert len(runs) == 2 and "retval 1" in runs[0] and "repeat=2" in runs[1]
    caplog.clear()
    prog.test_run(frame(ALLOWED))  # off again: silent
    assert not [r for r in caplog.records if "bpf_prog_test_run_opts" in r.getMessage()]


def test_signature_and_help_are_the_python_methods() -> None:
    params = list(inspect.signature(Program.test_run).parameters)
    assert params == ["self", "data", "ctx", "repeat", "cpu", "flags", "batch_size"]
    assert "BPF_PROG_TEST_RUN" in (Program.test_run.__doc__ or "")


def test_module_function_answers_for_other_shapes(filt: LoadedObject) -> None:
    fd = filt.programs["xdp_filter"].fd
    data = frame(ALLOWED)
    assert fastcall.test_run_packet(fd, data, 1).retval == XDP_PASS
    assert fastcall.test_run_packet(fd, bytearray(data), 1) == 0  # type: ignore[arg-type]
    assert fastcall.test_run_packet(fd, b"", 1) == 0
    assert fastcall.test_run_packet(fd, data, -1) == 0
    assert fastcall.test_run_packet(fd, data, 2**70) == 0
    assert fastcall.test_run_packet(fd, b"\0" * 5, 1) == 22  # EINVAL from the kernel
    with pytest.raises(TypeError):
        fastcall.test_run_packet(fd, data)  # type: ignore[call-arg]
    with pytest.raises(TypeError):
        fastcall.bind_result_type(tuple)


def _rss_bytes() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def test_no_reference_or_memory_leak(filt: LoadedObject, load: Loader) -> None:
    prog = filt.programs["xdp_filter"]
    data, short = frame(ALLOWED), b"\0" * 5
    run = prog.test_run
    for _ in range(10_000):
        run(data)
    gc.collect()
    # Every result holds its class; an unchanged packet comes back as the caller's own
    # bytes: the reference counts tell whether results were freed.
    type_refs, data_refs = sys.getrefcount(TestRunResult), sys.getrefcount(data)
    rss = _rss_bytes()
    for _ in range(100_000):
        run(data)
        run(data, repeat=1)
    gc.collect()
    assert abs(sys.getrefcount(TestRunResult) - type_refs) <= 1  # the module's spare
    assert abs(sys.getrefcount(data) - data_refs) <= 1
    assert _rss_bytes() - rss < 1 << 20
    short_refs = sys.getrefcount(short)
    for _ in range(2000):
        with pytest.raises(LayoutError):
            run(short)
    gc.collect()
    assert sys.getrefcount(short) == short_refs
    assert abs(sys.getrefcount(TestRunResult) - type_refs) <= 1
    with load("kinds") as kinds:  # a new output packet per run
        rewrite = kinds.programs["xdp_rewrite"].test_run
        tracemalloc.start()
        try:
            for _ in range(5000):
                rewrite(data)
            before = tracemalloc.get_traced_memory()[0]
            for _ in range(50_000):
                rewrite(data)
            grown = tracemalloc.get_traced_memory()[0] - before
        finally:
            tracemalloc.stop()
        assert grown < 64 * 1024
        gc.collect()
        assert abs(sys.getrefcount(TestRunResult) - type_refs) <= 1
