"""Teardown in any order: hypothesis drives closes, detaches, drops with garbage
collection, uses after close and exceptions across objects, maps, links and ring buffers.

Whatever the order: no crash, every use of a dead handle raises PhaseError (never a
segfault or a silent success), and at the end nothing this test created is left — fds,
programs, maps, links. ``tests/reliability/sanitized.sh address`` runs this file with the
C parts under AddressSanitizer, where a use-after-free would abort the run.
"""

from __future__ import annotations

import gc
import os
import warnings
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule, run_state_machine_as_test

import libbpf_py
from libbpf_py.errors import BpfError, PhaseError
from libbpf_py.maps import Map
from libbpf_py.netns import VethPair
from libbpf_py.ringbuf import RingBuffer
from tests.reliability.conftest import Created, Figures, open_fds, scale
from tests.reliability.tc_hook import attach_tc_hook, tc_hook_programs

pytestmark = pytest.mark.usefixtures("root_only", "bpf_leak_check")

PACKET = b"\0" * 64


class Boom(Exception):
    """Raised inside with blocks to check teardown on the exception path."""


def _pick(items: list[Any], index: int) -> Any:
    return items[index % len(items)] if items else None


class Teardown(RuleBasedStateMachine):
    """Holds handles of every kind and tears them down in whatever order hypothesis picks."""

    objfile: libbpf_py.ObjectFile
    dev: str
    created: Created
    steps = 0

    def __init__(self) -> None:
        super().__init__()
        self.objects: list[libbpf_py.LoadedObject] = []
        self.opened: list[libbpf_py.OpenObject] = []
        self.maps: list[Map] = []
        self.links: list[libbpf_py.Link] = []
        self.rings: list[RingBuffer] = []
        self.dead: list[Any] = []  # closed handles, kept to use after close

    def _count(self) -> None:
        type(self).steps += 1

    # -- making things ------------------------------------------------------------------------

    @rule()
    def load(self) -> None:
        self._count()
        if len(self.objects) >= 3:
            return
        with self.objfile.open() as opened:
            loaded = opened.load()
        self.created.add_object(loaded)
        self.objects.append(loaded)
        self.dead.append(opened)

    @rule()
    def open_only(self) -> None:
        self._count()
        if len(self.opened) < 2:
            self.opened.append(self.objfile.open())

    @rule(i=st.integers(0, 7), name=st.sampled_from(["counts", "table", "events"]))
    def take_map(self, i: int, name: str) -> None:
        self._count()
        obj = _pick(self.objects, i)
        if obj is not None and not obj.closed:
            self.maps.append(obj.maps[name])

    @rule(kind=st.sampled_from(["hash", "array", "ringbuf"]))
    def create_map(self, kind: str) -> None:
        self._count()
        m = (
            Map.create("ringbuf", 0, 0, 4096, name="lpy_td")
            if kind == "ringbuf"
            else Map.create(kind, 4, 8, 16, name="lpy_td", key_type="u32", value_type="u64")
        )
        self.created.ids["map"].add(m.id)
        self.maps.append(m)

    @rule(i=st.integers(0, 7), kind=st.sampled_from(["tc", "xdp", "auto"]))
    def attach(self, i: int, kind: str) -> None:
        self._count()
        obj = _pick(self.objects, i)
        if obj is None or obj.closed:
            return
        if kind == "auto":
            if not obj.links:
                obj.attach()  # the tracepoint; kept by the object
                for link in obj.links:
                    self.created.add_link(link)
            return
        if kind == "xdp":
            if any(
                not link.closed and link.program is not None and link.program.name == "soak_xdp"
                for link in self.links
            ):
                return  # one XDP program per interface
            link = obj.programs["soak_xdp"].attach_xdp(self.dev)
        else:
            program = obj.programs["soak_tc"]
            if any(not link.closed and link.program is program for link in self.links):
                return  # the kernel attaches a program once per tcx hook (EEXIST)
            link = attach_tc_hook(program, self.dev)
        if link.is_bpf_link:  # a legacy tc filter (before Linux 6.6) has no id
            self.created.add_link(link)
        self.links.append(link)

    @rule(i=st.integers(0, 7), j=st.integers(0, 7))
    def ring(self, i: int, j: int) -> None:
        self._count()
        rings = [m for m in self.maps if not m.closed and m.type.label == "ringbuf"]
        m = _pick(rings, i)
        if m is None:
            return
        rb = RingBuffer(m)
        other = _pick(rings, j)
        if other is not None and other is not m:
            rb.add(other)
        self.rings.append(rb)

    # -- using things -------------------------------------------------------------------------

    @rule(i=st.integers(0, 7))
    def traffic(self, i: int) -> None:
        self._count()
        obj = _pick(self.objects, i)
        if obj is not None and not obj.closed:
            obj.programs["soak_xdp"].test_run(PACKET)
            os.getppid()

    @rule(i=st.integers(0, 7))
    def drain(self, i: int) -> None:
        self._count()
        rb = _pick(self.rings, i)
        if rb is None:
            return
        try:
            batch = rb.drain()
        except PhaseError:
            # A ring whose map (or object) was closed is dead too; never a crash.
            assert any(m.closed for m in rb.rings) or rb.closed
            return
        for record in batch:
            assert len(record) == 16

    @rule(i=st.integers(0, 7), key=st.integers(0, 3))
    def map_ops(self, i: int, key: int) -> None:
        self._count()
        m = _pick(self.maps, i)
        if m is None or m.type.label == "ringbuf":
            return
        try:
            m[key] = key * 10
            assert m[key] == key * 10
            assert len(list(m.items())) >= 1
        except PhaseError:
            assert m.closed

    @rule(i=st.integers(0, 30))
    def use_after_close(self, i: int) -> None:
        """A handle closed earlier (by itself or by its parent) raises PhaseError."""
        self._count()
        h = _pick(self.dead, i)
        if h is None:
            return
        with pytest.raises(PhaseError):
            if isinstance(h, Map):
                h[0]
            elif isinstance(h, libbpf_py.LoadedObject):
                h.programs  # noqa: B018
            elif isinstance(h, libbpf_py.OpenObject):
                h.maps  # noqa: B018
            elif isinstance(h, RingBuffer):
                h.drain()
            elif isinstance(h, libbpf_py.Link):
                h.info()
            else:  # the globals of a closed object
                h.my_pid = 1

    # -- tearing down -------------------------------------------------------------------------

    def _close(self, items: list[Any], i: int, how: str) -> None:
        h = _pick(items, i)
        if h is None:
            return
        items.remove(h)
        if how == "close":
            h.close()
            h.close()  # idempotent
        elif how == "detach" and isinstance(h, libbpf_py.Link):
            h.detach()
        elif how == "raise":
            with pytest.raises(Boom), h:
                raise Boom
        else:  # dropped: the finalizer is the safety net
            del h
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ResourceWarning)
                gc.collect()
            return
        if isinstance(h, Map) and not h._fd.owned:
            return  # a map of an object lives as long as its object: close() is a no-op
        self.dead.append(h)

    @rule(i=st.integers(0, 7), how=st.sampled_from(["close", "raise", "drop"]))
    def close_object(self, i: int, how: str) -> None:
        self._count()
        obj = _pick(self.objects, i)
        if obj is not None and how != "drop" and not obj.closed:
            self.dead.append(obj.globals)
        self._close(self.objects, i, how)

    @rule(i=st.integers(0, 7), how=st.sampled_from(["close", "raise", "drop"]))
    def close_open(self, i: int, how: str) -> None:
        self._count()
        self._close(self.opened, i, how)

    @rule(i=st.integers(0, 7), how=st.sampled_from(["close", "raise", "drop"]))
    def close_map(self, i: int, how: str) -> None:
        self._count()
        self._close(self.maps, i, how)

    @rule(i=st.integers(0, 7), how=st.sampled_from(["close", "detach", "raise", "drop"]))
    def close_link(self, i: int, how: str) -> None:
        self._count()
        self._close(self.links, i, how)

    @rule(i=st.integers(0, 7), how=st.sampled_from(["close", "raise", "drop"]))
    def close_ring(self, i: int, how: str) -> None:
        self._count()
        self._close(self.rings, i, how)

    @invariant()
    def links_die_with_their_object(self) -> None:
        for link in self.links:
            program = link.program
            parent = program._fd.parent if program is not None else None
            if parent is not None and parent.closed:
                assert link.closed

    def teardown(self) -> None:
        # In a fixed, deliberately bad order: parents before children.
        for items in (self.objects, self.opened, self.maps, self.rings, self.links):
            for h in items:
                h.close()
        self.objects = self.opened = self.maps = self.rings = self.links = []
        self.dead = []
        gc.collect()


@pytest.fixture(scope="module")
def net() -> Any:
    with VethPair() as pair:
        yield pair


def test_teardown_in_any_order(
    soak_object: Path, net: VethPair, figures: Figures, created: Created
) -> None:
    gc.collect()
    fds_before = open_fds()
    Teardown.objfile = libbpf_py.ObjectFile(soak_object)
    Teardown.dev = net.host
    Teardown.created = created
    Teardown.steps = 0
    examples = scale(100, 1000)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ResourceWarning)
        run_state_machine_as_test(
            Teardown,
            settings=settings(
                max_examples=examples,
                stateful_step_count=25,
                deadline=None,
                suppress_health_check=list(HealthCheck),
                database=None,
            ),
        )
    gc.collect()
    figures.add("teardown.sequences", examples)
    figures.add("teardown.steps", Teardown.steps)
    assert open_fds() == fds_before
    left = created.left()
    figures.add("teardown.leaks_found", len(left))
    assert not left
    assert tc_hook_programs(net.host) == []


def test_closing_a_parent_first_never_crashes(soak_object: Path) -> None:
    """The bad orders spelled out: each child of a closed parent raises PhaseError."""
    with libbpf_py.ObjectFile(soak_object).open() as opened:
        loaded = opened.load()
    events, counts, prog, g = (
        loaded.maps["events"],
        loaded.maps["counts"],
        loaded.programs["soak_xdp"],
        loaded.globals,
    )
    ring = RingBuffer(events)
    loaded.close()
    for call in (
        lambda: counts[0],
        lambda: ring.poll(0),
        lambda: ring.drain(),
        lambda: prog.test_run(PACKET),
        lambda: g.my_pid,
        lambda: RingBuffer(events),
    ):
        with pytest.raises(PhaseError):
            call()
    ring.close()
    with pytest.raises(BpfError):
        opened.load()
