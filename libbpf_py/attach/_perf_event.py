"""Which perf event a perf_event program samples: a :class:`PerfEvent` names any of them
by the kernel's ``(type, config)`` pair, with constructors for the events ``perf list``
names (hardware counters such as ``cycles``, software events such as ``cpu-clock``).

The numbers come from ``linux/perf_event.h`` through the compiled module
(``PERF_TYPE_*``, ``PERF_COUNT_HW_*``, ``PERF_COUNT_SW_*``), never retyped here.
"""

from __future__ import annotations

import operator
from dataclasses import dataclass

from libbpf_py._lowlevel import lib

__all__ = ["HARDWARE_EVENTS", "SOFTWARE_EVENTS", "PerfEvent"]

#: Software perf events by the name ``perf list`` gives them (``PERF_COUNT_SW_*``).
SOFTWARE_EVENTS: dict[str, int] = {
    "cpu-clock": lib.PERF_COUNT_SW_CPU_CLOCK,
    "task-clock": lib.PERF_COUNT_SW_TASK_CLOCK,
    "page-faults": lib.PERF_COUNT_SW_PAGE_FAULTS,
    "context-switches": lib.PERF_COUNT_SW_CONTEXT_SWITCHES,
    "cpu-migrations": lib.PERF_COUNT_SW_CPU_MIGRATIONS,
    "minor-faults": lib.PERF_COUNT_SW_PAGE_FAULTS_MIN,
    "major-faults": lib.PERF_COUNT_SW_PAGE_FAULTS_MAJ,
    "alignment-faults": lib.PERF_COUNT_SW_ALIGNMENT_FAULTS,
    "emulation-faults": lib.PERF_COUNT_SW_EMULATION_FAULTS,
    "dummy": lib.PERF_COUNT_SW_DUMMY,
    "bpf-output": lib.PERF_COUNT_SW_BPF_OUTPUT,
    "cgroup-switches": lib.PERF_COUNT_SW_CGROUP_SWITCHES,
}

#: Generalized hardware events by the name ``perf list`` gives them
#: (``PERF_COUNT_HW_*``); counted by the CPU's PMU, which virtual machines often lack.
HARDWARE_EVENTS: dict[str, int] = {
    "cycles": lib.PERF_COUNT_HW_CPU_CYCLES,
    "instructions": lib.PERF_COUNT_HW_INSTRUCTIONS,
    "cache-references": lib.PERF_COUNT_HW_CACHE_REFERENCES,
    "cache-misses": lib.PERF_COUNT_HW_CACHE_MISSES,
    "branches": lib.PERF_COUNT_HW_BRANCH_INSTRUCTIONS,
    "branch-misses": lib.PERF_COUNT_HW_BRANCH_MISSES,
    "bus-cycles": lib.PERF_COUNT_HW_BUS_CYCLES,
    "stalled-cycles-frontend": lib.PERF_COUNT_HW_STALLED_CYCLES_FRONTEND,
    "stalled-cycles-backend": lib.PERF_COUNT_HW_STALLED_CYCLES_BACKEND,
    "ref-cycles": lib.PERF_COUNT_HW_REF_CPU_CYCLES,
}

# perf list's other spellings of the same hardware events.
_HARDWARE_ALIASES = {
    "cpu-cycles": "cycles",
    "branch-instructions": "branches",
}

# The types whose events a CPU's PMU counts: a machine without one refuses them all.
_PMU_TYPES = frozenset({lib.PERF_TYPE_HARDWARE, lib.PERF_TYPE_HW_CACHE, lib.PERF_TYPE_RAW})


def _u(value: int, bits: int, what: str) -> int:
    try:
        if isinstance(value, bool):
            raise TypeError
        value = operator.index(value)
    except TypeError:
        raise TypeError(f"a perf event's {what} is an int, not {type(value).__name__}") from None
    if not 0 <= value < 1 << bits:
        raise ValueError(f"a perf event's {what} is a u{bits}; {value} is outside it")
    return value


@dataclass(frozen=True)
class PerfEvent:
    """A perf event as ``perf_event_open(2)`` names it: ``type`` (``PERF_TYPE_*``, or a
    dynamic PMU's number from ``/sys/bus/event_source/devices/<pmu>/type``) and
    ``config`` (the event of that type).

    ``PerfEvent(type, config)`` names any event, raw PMU encodings included;
    :meth:`hardware`, :meth:`software` and :meth:`named` build the common ones by name.
    Raises ``ValueError`` for a type outside u32 or a config outside u64.
    """

    type: int
    config: int

    def __post_init__(self) -> None:
        object.__setattr__(self, "type", _u(self.type, 32, "type"))
        object.__setattr__(self, "config", _u(self.config, 64, "config"))

    @classmethod
    def hardware(cls, name: str) -> PerfEvent:
        """A generalized hardware event by name: one of :data:`HARDWARE_EVENTS`
        (``"cycles"``, ``"instructions"``, ``"cache-misses"``, ...).

        Raises ``ValueError`` for a name that is not one of them.
        """
        key = _HARDWARE_ALIASES.get(name, name)
        if key not in HARDWARE_EVENTS:
            raise ValueError(
                f"no hardware perf event {name!r}; one of {', '.join(HARDWARE_EVENTS)}"
            )
        return cls(lib.PERF_TYPE_HARDWARE, HARDWARE_EVENTS[key])

    @classmethod
    def software(cls, name: str) -> PerfEvent:
        """A software event by name: one of :data:`SOFTWARE_EVENTS` (``"cpu-clock"``,
        ``"page-faults"``, ...).

        Raises ``ValueError`` for a name that is not one of them.
        """
        if name not in SOFTWARE_EVENTS:
            raise ValueError(
                f"no software perf event {name!r}; one of {', '.join(SOFTWARE_EVENTS)}"
            )
        return cls(lib.PERF_TYPE_SOFTWARE, SOFTWARE_EVENTS[name])

    @classmethod
    def raw(cls, config: int) -> PerfEvent:
        """A CPU-specific event of the CPU's PMU (``PERF_TYPE_RAW``), as ``perf stat -e
        rNNN`` takes it: ``config`` is the model-specific encoding."""
        return cls(lib.PERF_TYPE_RAW, config)

    @classmethod
    def named(cls, name: str) -> PerfEvent:
        """A software or hardware event by the name ``perf list`` gives it.

        Raises ``ValueError`` for a name that is neither.
        """
        if name in SOFTWARE_EVENTS:
            return cls.software(name)
        if _HARDWARE_ALIASES.get(name, name) in HARDWARE_EVENTS:
            return cls.hardware(name)
        raise ValueError(
            f"no software or hardware perf event {name!r}; software: "
            f"{', '.join(SOFTWARE_EVENTS)}; hardware: {', '.join(HARDWARE_EVENTS)}"
        )

    @property
    def name(self) -> str | None:
        """The ``perf list`` name of this event, or None for one that has none here."""
        if self.type == lib.PERF_TYPE_SOFTWARE:
            table = SOFTWARE_EVENTS
        elif self.type == lib.PERF_TYPE_HARDWARE:
            table = HARDWARE_EVENTS
        else:
            return None
        return next((n for n, config in table.items() if config == self.config), None)

    @property
    def needs_pmu(self) -> bool:
        """Whether the CPU's PMU counts this event (hardware, cache and raw events), so
        that a machine without one (most virtual machines) cannot open it."""
        return self.type in _PMU_TYPES

    def __str__(self) -> str:
        return self.name or f"type={self.type},config={self.config:#x}"
