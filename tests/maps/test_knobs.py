"""Map knobs: map_extra and numa_node before load, inner-map templates of maps of maps,
freezing, and one CPU's value of a per-CPU map (BPF_F_CPU).

Each effect is checked in the kernel's own view: ``Map.info()`` (bpf_map_info), the
inner maps a map of maps holds (opened by the ids the outer map gives), the kernel's
answer to writes, and what a program wrote.
"""

from __future__ import annotations

import errno
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

import libbpf_py
from libbpf_py import features, packets
from libbpf_py.maps import Map
from tests.conftest import requires_root
from tests.maps.conftest import SOURCES

pytestmark = [requires_root, pytest.mark.usefixtures("no_fd_leak")]

BPF_F_NUMA_NODE = 1 << 2  # checked against the cdef's value below
NO_SUCH_NODE = 4000  # far above any machine's node count (MAX_NUMNODES is 1024 at most)


@pytest.fixture(scope="module")
def knobs_object(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """tests/bpf/maps/knobs.bpf.c, compiled."""
    out = tmp_path_factory.mktemp("bpf_knobs")
    return libbpf_py.compile(SOURCES / "knobs.bpf.c", out / "knobs.bpf.o")


@pytest.fixture
def opened(knobs_object: Path) -> Iterator[libbpf_py.OpenObject]:
    """The knobs object, open (spent or closed after the test)."""
    with libbpf_py.ObjectFile(knobs_object).open() as obj:
        yield obj


def _run(obj: libbpf_py.LoadedObject, times: int) -> None:
    obj.programs["bump"].test_run(packets.udp_packet(b"knob"), repeat=times)


def test_numa_flag_is_the_kernels() -> None:
    from libbpf_py._lowlevel import lib

    assert lib.BPF_F_NUMA_NODE == BPF_F_NUMA_NODE


# -- map_extra ------------------------------------------------------------------------


def test_map_extra_reaches_the_kernel(opened: libbpf_py.OpenObject) -> None:
    seen = opened.maps["seen"]
    assert seen.map_extra == 0  # the object sets none
    seen.map_extra = 3  # three hash functions
    assert seen.map_extra == 3
    with opened.load() as obj:
        bloom = obj.maps["seen"]
        assert bloom.info().map_extra == 3
        bloom.add(42)
        assert 42 in bloom


def test_map_extra_of_a_standalone_map() -> None:
    with Map.create("bloom_filter", 0, 4, 16, value_type="u32", map_extra=7) as bloom:
        assert bloom.info().map_extra == 7


def test_map_extra_the_kernel_refuses(opened: libbpf_py.OpenObject) -> None:
    opened.maps["seen"].map_extra = 16  # a bloom filter takes 1..15 hash functions
    with pytest.raises(libbpf_py.BpfError) as caught:
        opened.load()
    assert caught.value.errno == errno.EINVAL


def test_map_extra_after_load_is_a_phase_error(opened: libbpf_py.OpenObject) -> None:
    seen = opened.maps["seen"]
    with opened.load(), pytest.raises(libbpf_py.PhaseError):
        seen.map_extra = 2


# -- numa_node (bpf_map_info has no such field: a round trip and a refusal) ----------


def test_numa_node_round_trip(opened: libbpf_py.OpenObject) -> None:
    counts = opened.maps["counts"]
    assert counts.numa_node == 0 and not counts.flags & BPF_F_NUMA_NODE
    counts.numa_node = 0  # node 0 exists on every machine
    assert counts.numa_node == 0
    assert counts.flags & BPF_F_NUMA_NODE  # without it the kernel ignores the node
    with opened.load() as obj:
        assert obj.maps["counts"].info().flags & BPF_F_NUMA_NODE


def test_bad_numa_node_is_refused_at_load(opened: libbpf_py.OpenObject) -> None:
    opened.maps["counts"].numa_node = NO_SUCH_NODE
    assert opened.maps["counts"].numa_node == NO_SUCH_NODE
    with pytest.raises(libbpf_py.BpfError) as caught:
        opened.load()
    assert caught.value.errno == errno.EINVAL


def test_bad_numa_node_of_a_standalone_map() -> None:
    with pytest.raises(libbpf_py.BpfError) as caught:
        Map.create("array", 4, 8, 1, numa_node=NO_SUCH_NODE)
    assert caught.value.errno == errno.EINVAL
    with Map.create("array", 4, 8, 1, numa_node=0) as m:
        assert m.info().flags & BPF_F_NUMA_NODE


# -- inner-map templates ------------------------------------------------------------


def test_inner_template_as_declared(opened: libbpf_py.OpenObject) -> None:
    inner = opened.maps["outer"].inner_map
    assert inner is not None
    assert inner.name == "outer.inner"
    assert (inner.type, inner.key_size, inner.value_size, inner.max_entries) == (
        libbpf_py.MapType.ARRAY,
        4,
        8,
        4,
    )
    assert opened.maps["counts"].inner_map is None  # not a map of maps


def test_every_inner_setter_is_safe(opened: libbpf_py.OpenObject) -> None:
    """libbpf 1.7's setters crash on a template (it has no object); this process would
    die here if one of them were called."""
    inner = opened.maps["by_key"].inner_map
    assert inner is not None
    inner.type = "hash"
    inner.key_size = 8
    inner.value_size = 16
    inner.max_entries = 32
    inner.flags = 1  # BPF_F_NO_PREALLOC
    inner.map_extra = 0
    inner.numa_node = 0
    assert (inner.type, inner.key_size, inner.value_size) == (libbpf_py.MapType.HASH, 8, 16)
    assert (inner.max_entries, inner.map_extra, inner.numa_node) == (32, 0, 0)
    assert inner.flags == 1 | BPF_F_NUMA_NODE
    with pytest.raises(ValueError):
        inner.max_entries = -1
    with opened.load() as obj:
        holder = obj.maps["by_key"]
        fitting = Map.create("hash", 8, 16, 32, flags=1, numa_node=0)
        with fitting, Map.create("hash", 8, 16, 32, flags=1) as no_numa_flag:
            holder[1] = fitting
            with Map.from_id(holder[1]) as held:
                assert held.info().max_entries == 32
            with pytest.raises(libbpf_py.BpfError) as caught:
                holder[2] = no_numa_flag  # the flags differ from the template's
            assert caught.value.errno == errno.EINVAL
    with pytest.raises(libbpf_py.PhaseError):
        inner.max_entries = 8


def test_inner_setters_in_a_fresh_process(knobs_object: Path) -> None:
    """The same, where a crash is a return code rather than the end of the test run."""
    script = textwrap.dedent(
        f"""
        import libbpf_py
        with libbpf_py.ObjectFile({str(knobs_object)!r}).open() as opened:
            for name in ("outer", "by_key"):
                inner = opened.maps[name].inner_map
                inner.type = "array"
                inner.key_size = 4
                inner.value_size = 8
                inner.max_entries = 4
                inner.flags = 0
                inner.map_extra = 0
                inner.numa_node = 0
                print(name, inner.max_entries, inner.flags)
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["outer", "4", "4", "by_key", "4", "4"]


def test_inner_max_entries_in_the_kernels_view(opened: libbpf_py.OpenObject) -> None:
    inner = opened.maps["outer"].inner_map
    assert inner is not None
    inner.max_entries = 8
    opened.maps["inner_a"].max_entries = 8  # the declared inner map must fit it
    opened.rodata.slot = 7  # the last entry of an 8-entry map
    with opened.load() as obj:
        _run(obj, 3)
        with Map.from_id(obj.maps["outer"][0]) as held:
            assert held.info().max_entries == 8
            assert held[7] == 3  # the program counted in slot 7
        with Map.create("array", 4, 8, 8) as fits, Map.create("array", 4, 8, 4) as small:
            obj.maps["outer"][1] = fits
            with pytest.raises(libbpf_py.BpfError) as caught:
                obj.maps["outer"][1] = small
            assert caught.value.errno == errno.EINVAL


def test_declared_inner_map_must_fit_the_template(opened: libbpf_py.OpenObject) -> None:
    inner = opened.maps["outer"].inner_map
    assert inner is not None
    inner.max_entries = 8  # but inner_a, put in by the object, keeps 4
    with pytest.raises(libbpf_py.BpfError):
        opened.load()


def test_refused_template_leaves_the_object_open(opened: libbpf_py.OpenObject) -> None:
    inner = opened.maps["by_key"].inner_map
    assert inner is not None
    inner.max_entries = 0  # no map has no entries
    with pytest.raises(libbpf_py.BpfError, match="inner map template of map 'by_key'"):
        opened.load()
    inner.max_entries = 4  # fixed: load again
    with opened.load() as obj:
        assert obj.maps["by_key"].info().max_entries == 4


def test_unchanged_template_is_the_declared_one(opened: libbpf_py.OpenObject) -> None:
    with opened.load() as obj:
        _run(obj, 2)
        with Map.from_id(obj.maps["outer"][0]) as held:
            assert held.info().max_entries == 4
            assert held[3] == 2


def test_set_inner_map(opened: libbpf_py.OpenObject) -> None:
    holder = opened.maps["by_key"]
    with Map.create("array", 4, 8, 32) as template:
        holder.set_inner_map(template)  # the object keeps its own duplicate fd
        assert holder.inner_map is None  # the given map is the template now
        with pytest.raises(libbpf_py.BpfError):
            holder.set_inner_map(template)  # libbpf takes one
    with opened.load() as obj:
        held = obj.maps["by_key"]
        with Map.create("array", 4, 8, 32) as fits, Map.create("array", 4, 8, 4) as small:
            held[5] = fits
            assert held[5] == fits.id
            with pytest.raises(libbpf_py.BpfError):
                held[6] = small


def test_set_inner_map_bad_input(opened: libbpf_py.OpenObject) -> None:
    with Map.create("array", 4, 8, 1) as template, pytest.raises(ValueError, match="not a map"):
        opened.maps["counts"].set_inner_map(template)
    with pytest.raises(TypeError):
        opened.maps["outer"].set_inner_map(3)  # type: ignore[arg-type]


# -- freezing -------------------------------------------------------------------------


def test_freeze_an_object_map(opened: libbpf_py.OpenObject) -> None:
    with opened.load() as obj:
        counts = obj.maps["counts"]
        counts[1] = 10
        assert not counts.frozen
        counts.freeze()
        assert counts.frozen
        with pytest.raises(libbpf_py.PermissionDenied, match="frozen") as caught:
            counts[1] = 11
        assert caught.value.errno == errno.EPERM
        assert counts[1] == 10  # reads still work
        _run(obj, 4)  # a program may still write a frozen map
        assert counts[0] == 4


def test_rodata_is_frozen_by_load(opened: libbpf_py.OpenObject) -> None:
    with opened.load() as obj:
        rodata = next(m for name, m in obj.maps.items() if name.endswith(".rodata"))
        assert rodata.frozen
        assert not obj.maps["counts"].frozen


def test_freeze_a_standalone_map() -> None:
    with Map.create("hash", 4, 8, 4, key_type="u32", value_type="u64") as m:
        m[1] = 1
        m.freeze()
        assert m.frozen
        with pytest.raises(libbpf_py.PermissionDenied, match="frozen"):
            m[2] = 2
        with pytest.raises(libbpf_py.PermissionDenied, match="frozen"):
            del m[1]
        assert dict(m.items()) == {1: 1}
        m.freeze()  # again: nothing to do (the kernel itself refuses a second one)
        assert m.frozen
    with pytest.raises(libbpf_py.PhaseError):
        m.freeze()


def test_freeze_a_writable_mapping_is_refused() -> None:
    with Map.create("array", 4, 8, 4, flags=1 << 10, value_type="u64") as shared:  # MMAPABLE
        assert shared.mmapped
        with pytest.raises(libbpf_py.ResourceBusy):
            shared.freeze()
        assert not shared.frozen


# -- one CPU's value (BPF_F_CPU) ------------------------------------------------------


def _cpu_reason() -> str | None:
    return features.check("command:map_elem_cpu")


def test_cpu_argument_checks_come_first() -> None:
    with Map.create("array", 4, 8, 1, value_type="u64") as plain:
        with pytest.raises(ValueError, match="per-CPU"):
            plain.lookup(0, cpu=0)
        with pytest.raises(ValueError, match="per-CPU"):
            plain.update(0, 1, cpu=0)
    with Map.create("percpu_array", 4, 8, 1, value_type="u64") as per_cpu:
        ncpus = len(per_cpu[0])
        with pytest.raises(ValueError, match="possible CPUs"):
            per_cpu.lookup(0, cpu=ncpus)
        with pytest.raises(ValueError):
            per_cpu.lookup(0, cpu="all")  # type: ignore[arg-type]
        assert per_cpu.lookup(0) == per_cpu[0]  # without cpu=: every CPU's value


def test_cpu_refused_by_a_kernel_without_it() -> None:
    reason = _cpu_reason()
    if reason is None:
        pytest.skip("this kernel has BPF_F_CPU (test_cpu_lookup_and_update runs instead)")
    with Map.create("percpu_array", 4, 8, 1, value_type="u64") as per_cpu:
        for call in (
            lambda: per_cpu.lookup(0, cpu=0),
            lambda: per_cpu.update(0, 1, cpu=0),
            lambda: per_cpu.update(0, 1, cpu="all"),
        ):
            with pytest.raises(libbpf_py.NotSupported) as caught:
                call()
            assert "command:map_elem_cpu" in str(caught.value)
            assert reason in str(caught.value)


@pytest.mark.parametrize("kind", ["percpu_array", "percpu_hash", "lru_percpu_hash"])
def test_cpu_lookup_and_update(kind: str) -> None:
    reason = _cpu_reason()
    if reason:
        pytest.skip(reason)
    with Map.create(kind, 4, 8, 4, key_type="u32", value_type="u64") as per_cpu:
        per_cpu.update(1, 7, cpu="all")  # one value, copied by the kernel
        ncpus = len(per_cpu[1])
        last = ncpus - 1
        assert list(per_cpu[1]) == [7] * ncpus
        per_cpu.update(1, 9, cpu=last)
        assert per_cpu.lookup(1, cpu=last) == 9
        assert per_cpu[1][last] == 9 and per_cpu[1].sum() == 7 * last + 9
        if kind != "percpu_array":
            with pytest.raises(libbpf_py.KeyNotFound):
                per_cpu.lookup(2, cpu=0)
