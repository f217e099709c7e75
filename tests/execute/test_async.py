"""asyncio: a ring buffer and a perf buffer consumed in one loop, woken by their epoll fds."""

from __future__ import annotations

import asyncio
import os
import threading

import pytest

from libbpf_py.perfbuf import PerfBuffer, PerfSample
from libbpf_py.ringbuf import RingBuffer
from tests.conftest import requires_root
from tests.execute.conftest import PACKET, Loader

pytestmark = [requires_root, pytest.mark.usefixtures("no_fd_leak")]


def test_ring_and_perf_in_one_loop_while_another_coroutine_runs(load: Loader) -> None:
    n_ring, n_perf = 3000, 300

    async def main() -> tuple[list[int], list[int], int]:
        with (
            load("producer", ring_a=1 << 20) as obj,
            RingBuffer(obj.maps["ring_a"], record_type="struct event") as ring,
            PerfBuffer(obj.maps["perf_events"], record_type="struct event") as perf,
        ):
            ring_seen: list[int] = []
            perf_seen: list[int] = []
            ticks = 0
            stop = asyncio.Event()

            async def read_ring() -> None:
                async for event in ring:
                    ring_seen.append(event.seq)
                    if len(ring_seen) == n_ring:
                        return

            async def read_perf() -> None:
                async for item in perf:
                    assert isinstance(item, PerfSample)
                    perf_seen.append(item.record.seq)
                    if len(perf_seen) == n_perf:
                        return

            async def ticker() -> None:
                nonlocal ticks
                while not stop.is_set():
                    ticks += 1
                    await asyncio.sleep(0.001)

            def produce() -> None:
                # From another thread, in bursts, so that the readers really wait. The
                # thread stays on one CPU: perf buffers are per CPU, and a producer
                # that migrates mid-run (a loaded machine) delivers samples of two
                # buffers out of their global order.
                os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})  # this thread only
                for _ in range(10):
                    obj.programs["produce_a"].test_run(PACKET, repeat=n_ring // 10)
                    obj.programs["produce_perf"].test_run(PACKET, repeat=n_perf // 10)

            tick_task = asyncio.create_task(ticker())
            readers = asyncio.gather(read_ring(), read_perf())
            await asyncio.sleep(0.05)  # both readers are now waiting on their fds
            producer = threading.Thread(target=produce)
            producer.start()
            await asyncio.wait_for(readers, timeout=30)
            producer.join()
            stop.set()
            await tick_task
            return ring_seen, perf_seen, ticks

    ring_seen, perf_seen, ticks = asyncio.run(main())
    assert ring_seen == list(range(n_ring))
    assert perf_seen == list(range(n_perf))
    assert ticks > 10  # the loop kept running other work while the readers waited


def test_cancellation_closes_cleanly(load: Loader) -> None:
    async def main() -> None:
        loop = asyncio.get_running_loop()
        with (
            load("producer") as obj,
            RingBuffer(obj.maps["ring_a"]) as ring,
            PerfBuffer(obj.maps["perf_events"]) as perf,
        ):
            got: list[bytes] = []

            async def read_ring() -> None:
                async for record in ring:
                    got.append(record)

            async def read_perf() -> None:
                async for _ in perf:
                    pass

            tasks = [asyncio.create_task(read_ring()), asyncio.create_task(read_perf())]
            obj.programs["produce_a"].test_run(PACKET, repeat=5)
            await asyncio.sleep(0.1)
            assert len(got) == 5
            fds = (ring.fileno(), perf.fileno())
            selector_map = loop._selector.get_map()  # type: ignore[attr-defined]
            assert all(fd in selector_map for fd in fds)  # both are waiting on their fds
            for task in tasks:
                task.cancel()
            for task in tasks:
                with pytest.raises(asyncio.CancelledError):
                    await task
            assert not any(fd in selector_map for fd in fds)  # readers removed
            # The buffers still work after a cancelled reader.
            obj.programs["produce_a"].test_run(PACKET, repeat=2)
            assert await ring.poll_async(timeout=1) == 2
            assert len(ring.drain()) == 2

    asyncio.run(main())


def test_poll_async_times_out_without_blocking_the_loop(load: Loader) -> None:
    async def main() -> int:
        with load("producer") as obj, RingBuffer(obj.maps["ring_a"], lambda r: None) as ring:
            assert await ring.poll_async(timeout=0.05) == 0
            obj.programs["produce_a"].test_run(PACKET, repeat=3)
            return await ring.poll_async(timeout=1)

    assert asyncio.run(main()) == 3
