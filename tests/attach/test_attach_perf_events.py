"""Perf events by type and config: the PerfEvent value, software events sampled for real,
and hardware events, which need a CPU PMU (these VMs have none: refused with the probed
reason there; sampled for real where one exists)."""

from __future__ import annotations

import mmap
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

import libbpf_py
from libbpf_py import features
from libbpf_py._lowlevel import lib
from libbpf_py.attach import PERF_HARDWARE_EVENTS, PERF_SOFTWARE_EVENTS, PerfEvent
from libbpf_py.errors import NotFound, NotSupported
from libbpf_py.loaded import LoadedObject
from tests.attach.helpers import TRACE_ON_REQUEST, enable_supported, moved, need
from tests.conftest import requires_root

PAGE = mmap.PAGESIZE


@pytest.fixture
def obj(attach_objects: dict[str, Path]) -> Iterator[LoadedObject]:
    """tests/bpf/attach/trace.bpf.o: on_cpu_clock bumps hits[2] on every sample."""
    with libbpf_py.ObjectFile(attach_objects["trace"]).open() as opened:
        enable_supported(opened, TRACE_ON_REQUEST)
        with opened.load() as loaded:
            yield loaded


def touch_pages(n: int) -> None:
    """Fault in ``n`` fresh anonymous pages (one page fault each, at least one in all)."""
    with mmap.mmap(-1, n * PAGE) as area:
        for i in range(n):
            area[i * PAGE] = 1


def test_the_value_round_trips_before_attach() -> None:
    cycles = PerfEvent.hardware("cycles")
    assert (cycles.type, cycles.config) == (lib.PERF_TYPE_HARDWARE, lib.PERF_COUNT_HW_CPU_CYCLES)
    assert cycles == PerfEvent(lib.PERF_TYPE_HARDWARE, lib.PERF_COUNT_HW_CPU_CYCLES)
    assert cycles.name == "cycles" and str(cycles) == "cycles" and cycles.needs_pmu
    assert PerfEvent.hardware("cpu-cycles") == cycles  # perf list's other spelling
    for name, config in PERF_HARDWARE_EVENTS.items():
        event = PerfEvent.named(name)
        assert (event.type, event.config, event.name) == (lib.PERF_TYPE_HARDWARE, config, name)
        assert PerfEvent(event.type, event.config) == event
    for name, config in PERF_SOFTWARE_EVENTS.items():
        event = PerfEvent.named(name)
        assert (event.type, event.config, event.name) == (lib.PERF_TYPE_SOFTWARE, config, name)
        assert event == PerfEvent.software(name) and not event.needs_pmu
    assert PerfEvent.software("cpu-clock").config == lib.PERF_COUNT_SW_CPU_CLOCK
    raw = PerfEvent.raw(0x1A2B)
    assert (raw.type, raw.config, raw.name, raw.needs_pmu) == (
        lib.PERF_TYPE_RAW,
        0x1A2B,
        None,
        True,
    )
    assert str(raw) == f"type={lib.PERF_TYPE_RAW},config=0x1a2b"
    assert len({cycles, PerfEvent.hardware("cycles"), raw}) == 2  # hashable, by value
    with pytest.raises(ValueError, match="no hardware perf event 'cpu-clock'"):
        PerfEvent.hardware("cpu-clock")
    with pytest.raises(ValueError, match="no software perf event 'cycles'"):
        PerfEvent.software("cycles")
    with pytest.raises(ValueError, match="no software or hardware perf event 'lpy-clock'"):
        PerfEvent.named("lpy-clock")
    with pytest.raises(ValueError, match="u32"):
        PerfEvent(2**32, 0)
    with pytest.raises(ValueError, match="u64"):
        PerfEvent(lib.PERF_TYPE_RAW, -1)
    with pytest.raises(TypeError, match="is an int"):
        PerfEvent("hardware", 0)  # type: ignore[arg-type]


@requires_root
@pytest.mark.usefixtures("no_fd_leak")
def test_a_software_event_by_value_samples_then_stops(obj: LoadedObject) -> None:
    need("attach:perf_event")
    program = obj.programs["on_cpu_clock"]
    # period=1: the program runs on every page fault of this process.
    link = program.attach_perf_event(PerfEvent.software("page-faults"), period=1)
    assert moved(obj, 2, lambda: touch_pages(32)) > 0
    link.detach()
    assert moved(obj, 2, lambda: touch_pages(32)) == 0
    # The name alone still works, as before PerfEvent.
    with program.attach_perf_event("page-faults", period=1):
        assert moved(obj, 2, lambda: touch_pages(8)) > 0


@requires_root
@pytest.mark.usefixtures("no_fd_leak")
def test_a_hardware_event_samples_or_is_refused_with_the_reason(obj: LoadedObject) -> None:
    need("attach:perf_event")
    program = obj.programs["on_cpu_clock"]
    reason = features.check("attach:perf_event_hardware")
    if reason is not None:
        for event in (PerfEvent.hardware("instructions"), "cycles", PerfEvent.raw(0xC0)):
            with pytest.raises(NotSupported) as err:
                program.attach_perf_event(event, period=100_000)
            assert reason in str(err.value) and "hardware perf events" in str(err.value)
        return

    def burn() -> None:
        end = time.process_time() + 0.2
        while time.process_time() < end:
            pass

    link = program.attach_perf_event(PerfEvent.hardware("cycles"), period=1_000_000)
    assert moved(obj, 2, burn) > 0
    link.detach()
    assert moved(obj, 2, burn) == 0


@requires_root
@pytest.mark.usefixtures("no_fd_leak")
def test_an_event_type_no_pmu_counts_and_bad_names(obj: LoadedObject) -> None:
    need("attach:perf_event")
    program = obj.programs["on_cpu_clock"]
    # A dynamic PMU type number that no PMU of this machine has.
    taken = {
        int(Path(p, "type").read_text())
        for p in Path("/sys/bus/event_source/devices").iterdir()
        if Path(p, "type").exists()
    }
    unused = max(taken | {lib.PERF_TYPE_BREAKPOINT}) + 1000
    with pytest.raises(
        NotSupported, match=f"no PMU of this machine counts perf event type {unused}"
    ):
        program.attach_perf_event(PerfEvent(unused, 0), period=1000)
    with pytest.raises(NotFound, match="no software or hardware perf event 'lpy-clock'"):
        program.attach_perf_event("lpy-clock")
    with pytest.raises(TypeError, match="a perf event is"):
        program.attach_perf_event(1.5)  # type: ignore[arg-type]
