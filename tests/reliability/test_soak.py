"""Soak: thousands of full lifecycles leave no fd, memory, program, map, link or pin.

One cycle is the whole life: open → load → attach (XDP link, tcx link or, before Linux
6.6, a tc filter, tracepoint) →
real traffic through a veth pair and syscalls → read the counters and the ring buffer →
map work → detach → close. Baselines are taken after a warm-up (first-use caches of
libbpf and Python), and compared by the ids and names this test created.
"""

from __future__ import annotations

import gc
import os
import socket
import struct
from pathlib import Path
from typing import NamedTuple

import pytest

import libbpf_py
from libbpf_py.maps import Map
from libbpf_py.netns import VethPair, entered
from libbpf_py.ringbuf import RingBuffer
from tests.reliability.conftest import UNDER_ASAN, Created, Figures, open_fds, rss_kib, scale
from tests.reliability.tc_hook import attach_tc_hook, tc_hook_programs

pytestmark = pytest.mark.usefixtures("root_only", "bpf_leak_check")

EVENT = struct.Struct("<QII")
PAYLOAD = b"lpy-soak"
UDP_FRAME = 14 + 20 + 8 + len(PAYLOAD)
PACKETS = 3
# Memory growth allowed between the warm-up and the end, in KiB: allocator slack and
# Python's own caches, far below what one leaked object or buffer per cycle would add.
RSS_SLACK_KIB = 6 * 1024


class _Footprint(NamedTuple):
    fds: set[int]
    rss_kib: int


def _footprint() -> _Footprint:
    """The fds open and the RSS, after a collection (so only what is still held counts)."""
    gc.collect()
    return _Footprint(open_fds(), rss_kib())


def _assert_nothing_left(
    figures: Figures,
    created: Created,
    before: _Footprint,
    after: _Footprint,
    rss_figure: str,
    over: str,
) -> None:
    """No fd more, RSS within the slack, none of the recorded objects left in the kernel."""
    assert after.fds == before.fds, f"fds leaked: {sorted(after.fds - before.fds)}"
    growth = after.rss_kib - before.rss_kib
    figures.add(rss_figure, max(growth, 0))
    assert UNDER_ASAN or growth < RSS_SLACK_KIB, f"RSS grew by {growth} KiB over {over}"
    left = created.left()
    figures.add("soak.leaks_found", len(left))
    assert not left


def _udp_frames(ring: RingBuffer, want: int) -> int:
    seen = 0
    for _ in range(51):
        seen += sum(1 for rec in ring.drain() if EVENT.unpack_from(rec)[1] == UDP_FRAME)
        if seen >= want:
            break
        ring.poll(0.1)
    return seen


def _one_lifecycle(
    objfile: libbpf_py.ObjectFile,
    net: VethPair,
    tx: socket.socket,
    rx: socket.socket,
    created: Created | None,
) -> None:
    with objfile.open() as opened:
        opened.maps["events"].max_entries = 1 << 14
        loaded = opened.load()
    with loaded:
        loaded.globals.my_pid = os.getpid()
        progs = loaded.programs
        xdp = progs["soak_xdp"].attach_xdp(net.host)
        tc = attach_tc_hook(progs["soak_tc"], net.host, "ingress")
        tp = progs["soak_tp"].attach_tracepoint("syscalls/sys_enter_getppid")
        links = [xdp, tc, tp]
        if created is not None:
            created.add_object(loaded)
            for link in links:
                if link.is_bpf_link:  # a legacy tc filter (before Linux 6.6) has no id
                    created.add_link(link)
        with RingBuffer(loaded.maps["events"]) as ring:
            for _ in range(PACKETS):
                tx.sendto(PAYLOAD, (net.host_addr, 9))
            for _ in range(PACKETS):
                rx.recv(64)
            assert _udp_frames(ring, PACKETS) == PACKETS
        for _ in range(5):
            os.getppid()
        counts = loaded.maps["counts"]
        assert counts[0] >= PACKETS and counts[1] >= PACKETS and counts[2] == 5
        table = loaded.maps["table"]
        table.update_batch(range(64), range(64))
        assert len(table) == 64 and table[63] == 63
        for key in range(0, 64, 2):
            del table[key]
        assert len(table) == 32
        for link in links:
            link.detach()
        assert tc_hook_programs(net.host) == []


def test_full_lifecycles_with_traffic(
    soak_object: Path, figures: Figures, created: Created
) -> None:
    cycles = scale(150, 3000)
    warmup = 20
    objfile = libbpf_py.ObjectFile(soak_object)
    with VethPair() as net:
        with entered(net.netns):
            tx = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        rx = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        rx.settimeout(5)
        with tx, rx:
            rx.bind((net.host_addr, 9))
            for _ in range(warmup):
                _one_lifecycle(objfile, net, tx, rx, None)
            before = _footprint()
            for i in range(cycles):
                # Ids of every tenth cycle are kept to check against the kernel at the
                # end (asking info() every cycle would double the test's time).
                _one_lifecycle(objfile, net, tx, rx, created if i % 10 == 0 else None)
            after = _footprint()
    figures.add("soak.full_lifecycles", cycles + warmup)
    figures.add("soak.packets_through_xdp_and_tcx", (cycles + warmup) * PACKETS)
    _assert_nothing_left(
        figures, created, before, after, "soak.rss_growth_kib_lifecycles", f"{cycles} lifecycles"
    )


def test_map_and_ring_buffer_churn(soak_object: Path, figures: Figures, created: Created) -> None:
    """Standalone maps and ring-buffer readers made and dropped in a loop."""
    rounds = scale(2000, 20000)
    objfile = libbpf_py.ObjectFile(soak_object)
    with objfile.open() as opened, opened.load() as loaded:
        created.add_object(loaded)
        events = loaded.maps["events"]

        def one_round(i: int) -> None:
            with Map.create(
                "hash", 4, 8, 64, name="lpy_soak", key_type="u32", value_type="u64"
            ) as m:
                if i % 100 == 0:
                    created.ids["map"].add(m.id)
                m.update_batch(range(16), range(16))
                assert sum(m.values()) == 120
                del m[3]
                assert 3 not in m
            with (
                Map.create("ringbuf", 0, 0, 4096, name="lpy_soak_rb") as rbm,
                RingBuffer(rbm) as ring,
            ):
                assert ring.consume() == 0
            with RingBuffer(events) as ring:
                loaded.programs["soak_xdp"].test_run(b"\0" * 64)
                assert len(ring.drain()) == 1
            if i % 3 == 0:
                # The safety net: handles dropped without close() are still released.
                import warnings

                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", ResourceWarning)
                    Map.create("array", 4, 4, 4, name="lpy_soak_drop")
                    RingBuffer(events)

        for i in range(50):
            one_round(i)
        before = _footprint()
        for i in range(rounds):
            one_round(i)
        after = _footprint()
    figures.add("soak.map_and_ringbuf_rounds", rounds + 50)
    _assert_nothing_left(
        figures, created, before, after, "soak.rss_growth_kib_maps", f"{rounds} rounds"
    )
