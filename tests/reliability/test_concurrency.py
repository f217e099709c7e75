"""Concurrency: map operations from several threads, a ring buffer closed while another
thread polls it, asyncio cancellation mid-poll, and fork after load."""

from __future__ import annotations

import asyncio
import gc
import os
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import libbpf_py
from libbpf_py.errors import KeyNotFound, PhaseError
from libbpf_py.netns import VethPair
from libbpf_py.ringbuf import RingBuffer
from tests.reliability.conftest import Figures, open_fds, scale
from tests.reliability.tc_hook import attach_tc_hook, tc_hook_programs

pytestmark = pytest.mark.usefixtures("root_only", "bpf_leak_check")

PACKET = b"\0" * 64


@pytest.fixture
def loaded(soak_object: Path) -> libbpf_py.LoadedObject:
    with libbpf_py.ObjectFile(soak_object).open() as opened:
        obj = opened.load()
    yield obj
    obj.close()


def test_map_operations_from_several_threads(
    loaded: libbpf_py.LoadedObject, figures: Figures
) -> None:
    table = loaded.maps["table"]
    per_thread, threads = 256, 4
    rounds = scale(20, 400)
    errors: list[BaseException] = []
    start = threading.Barrier(threads + 1)

    def worker(t: int) -> None:
        try:
            start.wait()
            keys = range(t * per_thread, (t + 1) * per_thread)
            for r in range(rounds):
                for k in keys:
                    table[k] = k * 1000 + r
                for k in keys:
                    assert table[k] == k * 1000 + r  # no other thread writes these keys
                table.update_batch(keys, [k + r for k in keys])
                for k in keys[::2]:
                    del table[k]
                for k in keys[::2]:
                    with pytest.raises(KeyNotFound):
                        table[k]
        except BaseException as exc:  # reported by the main thread
            errors.append(exc)

    def reader() -> None:
        try:
            start.wait()
            for _ in range(rounds):
                for k, v in table.items():
                    assert v >= 0 and 0 <= k < threads * per_thread
                len(table)
        except BaseException as exc:
            errors.append(exc)

    pool = [threading.Thread(target=worker, args=(t,)) for t in range(threads)]
    pool.append(threading.Thread(target=reader))
    for th in pool:
        th.start()
    for th in pool:
        th.join()
    assert not errors, errors[0]
    assert len(table) == threads * per_thread // 2
    figures.add("concurrency.map_ops", threads * rounds * per_thread * 4)


def in_child(body: Callable[[], None]) -> str:
    """Run ``body`` in a forked child; return "" if it finished, else what went wrong.

    A crash in C (a use-after-free) kills the child, not the test run.
    """
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        import faulthandler

        faulthandler.disable()  # a crash is reported by the parent, in one line
        os.close(r)
        code = 0
        try:
            body()
        except BaseException as exc:
            os.write(w, f"{type(exc).__name__}: {exc}".encode()[:4000])
            code = 1
        os._exit(code)
    os.close(w)
    with os.fdopen(r, "rb") as report:
        text = report.read().decode()
    _, status = os.waitpid(pid, 0)
    if os.WIFSIGNALED(status):
        return f"the child died of signal {os.WTERMSIG(status)} ({text})"
    return text if os.WEXITSTATUS(status) else ""


def _close_while_polling(make: Callable[[], Any], wake: Callable[[], object], rounds: int) -> None:
    for i in range(rounds):
        reader = make()
        outcome: list[object] = []
        started = threading.Event()

        def poller(
            reader: Any = reader,
            outcome: list[object] = outcome,
            started: threading.Event = started,
        ) -> None:
            started.set()
            try:
                while True:
                    outcome.append(reader.poll(5.0))
            except BaseException as exc:  # PhaseError expected: closed under it
                outcome.append(exc)

        th = threading.Thread(target=poller)
        th.start()
        started.wait()
        time.sleep(0.001 * (i % 5))
        if i % 2:
            wake()
        reader.close()
        th.join(10)
        assert not th.is_alive(), "the poller did not return after close()"
        assert isinstance(outcome[-1], PhaseError), outcome


# Found by this suite: close() freed libbpf's reader while another thread was inside
# ring_buffer__poll/perf_buffer__poll (SIGSEGV). Fixed in libbpf_py/_inside.py: the free
# waits for the last thread to leave C, and polls wait in slices to notice the close.
def test_ring_buffer_closed_while_another_thread_polls(
    loaded: libbpf_py.LoadedObject, figures: Figures
) -> None:
    events = loaded.maps["events"]
    rounds = scale(30, 500)
    problem = in_child(
        lambda: _close_while_polling(
            lambda: RingBuffer(events), lambda: loaded.programs["soak_xdp"].test_run(PACKET), rounds
        )
    )
    assert not problem, problem
    figures.add("concurrency.close_during_poll", rounds)


def test_perf_buffer_closed_while_another_thread_polls(
    bpf_compile: Callable[..., Path], figures: Figures
) -> None:
    from libbpf_py.perfbuf import PerfBuffer

    rounds = scale(30, 500)
    src = Path(__file__).resolve().parents[1] / "bpf" / "execute" / "producer.bpf.c"
    with libbpf_py.ObjectFile(bpf_compile(src)).open() as opened, opened.load() as obj:
        perf = obj.maps["perf_events"]
        problem = in_child(
            lambda: _close_while_polling(lambda: PerfBuffer(perf), lambda: None, rounds)
        )
    assert not problem, problem
    figures.add("concurrency.close_during_poll", rounds)


def test_asyncio_cancellation_mid_poll(loaded: libbpf_py.LoadedObject, figures: Figures) -> None:
    events = loaded.maps["events"]
    fds = open_fds()

    async def main() -> int:
        with RingBuffer(events) as ring:
            for _ in range(scale(20, 300)):
                task = asyncio.create_task(ring.poll_async(None))
                await asyncio.sleep(0)
                task.cancel()
                with pytest.raises(asyncio.CancelledError):
                    await task
            # Still usable after every cancellation: a record arrives and is read.
            loaded.programs["soak_xdp"].test_run(PACKET)
            assert await ring.poll_async(2.0) == 1
            return len(ring.drain())

    assert asyncio.run(main()) == 1
    gc.collect()
    assert open_fds() == fds
    figures.add("concurrency.async_cancellations", scale(20, 300))


@pytest.mark.parametrize("child_ends", ["closing_links", "closing_object"])
def test_fork_after_load(soak_object: Path, child_ends: str, figures: Figures) -> None:
    """The child's handles work; closing them there (by hand, or by the garbage
    collector, which calls the same close()) leaves the parent's attachments alone.

    Regression: closing an inherited netlink XDP link in a child removed the parent's
    attachment, and closing an inherited tracepoint link disabled the parent's perf
    event.
    """
    with (
        libbpf_py.ObjectFile(soak_object).open() as opened,
        opened.load() as obj,
        VethPair() as net,
    ):
        obj.globals.my_pid = os.getpid()
        tp = obj.programs["soak_tp"].attach_tracepoint("syscalls/sys_enter_getppid")
        xdp = obj.programs["soak_xdp"].attach_xdp(net.host, netlink=True)
        tc = attach_tc_hook(obj.programs["soak_tc"], net.host)
        counts = obj.maps["counts"]

        def child() -> None:
            counts[3] = 42
            assert counts[3] == 42
            assert obj.programs["soak_xdp"].test_run(PACKET).retval == 2  # XDP_PASS
            with RingBuffer(obj.maps["events"]) as ring:
                assert len(ring.drain()) >= 1
            if child_ends == "closing_links":
                for link in (tp, xdp, tc):
                    link.close()
            obj.close()
            with pytest.raises(PhaseError):
                counts[3]

        problem = in_child(child)
        assert not problem, problem
        # The parent's handles and attachments are untouched by the child.
        assert counts[3] == 42
        before = counts[2]
        for _ in range(3):
            os.getppid()
        assert counts[2] == before + 3, "the child disabled the parent's tracepoint"
        from libbpf_py.attach import xdp_holder

        assert xdp_holder(net.ifindex)[0] == obj.programs["soak_xdp"].info().id, (
            "the child removed the parent's XDP attachment"
        )
        assert tc_hook_programs(net.host) == [obj.programs["soak_tc"].info().id], (
            "the child removed the parent's tc attachment"
        )
        for link in (tp, xdp, tc):
            link.detach()
    figures.add("concurrency.forks", 1)
