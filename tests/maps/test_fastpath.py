"""The C fast path of single map entries (csrc/mapcore.c) against the general path.

Every map of tests/bpf/maps/plain.bpf.c is loaded twice. The same random operations run
on one copy through the C path (``m[k]``, ``m.get``, ``in``, ``m[k] = v``, ``update``,
``del``) and on the other through the general Python methods (``Map.__getitem__(m, k)``
...). Results, exception types and messages, and the maps' whole contents afterwards
must be equal, and the C path must really have been taken.
"""

from __future__ import annotations

import gc
import os
import threading
import weakref
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import libbpf_py
from libbpf_py import errors
from libbpf_py._lowlevel import mapcore
from libbpf_py.maps import Map, UpdateFlag
from libbpf_py.query import possible_cpus
from tests.conftest import IS_ROOT, open_fds

SOURCES = Path(__file__).resolve().parent.parent / "bpf" / "maps"

pytestmark = pytest.mark.skipif(not IS_ROOT, reason="loading BPF objects needs root")

NCPUS = possible_cpus()
HYPOTHESIS = settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@pytest.fixture(scope="module")
def plain_object(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """tests/bpf/maps/plain.bpf.c, compiled."""
    out = tmp_path_factory.mktemp("bpf_plain")
    return libbpf_py.compile(SOURCES / "plain.bpf.c", out / "plain.bpf.o")


@pytest.fixture
def twins(plain_object: Path) -> Iterator[tuple[libbpf_py.LoadedObject, libbpf_py.LoadedObject]]:
    """The object loaded twice: one copy for the C path, one for the general path."""
    with (
        libbpf_py.ObjectFile(plain_object).open() as a,
        a.load() as fast,
        libbpf_py.ObjectFile(plain_object).open() as b,
        b.load() as general,
    ):
        yield fast, general


def outcome(call: Callable[[], Any]) -> tuple[Any, ...]:
    """What a call did: its result and the result's type, or the exception's type and text."""
    try:
        result = call()
    except Exception as exc:  # the point: any exception, compared between the paths
        return ("raised", type(exc), str(exc))
    return ("returned", type(result), result)


OPS = ("getitem", "get", "get_default", "contains", "setitem", "update", "delitem")


def run_both(fast: Map, general: Map, op: str, key: Any, value: Any, flags: int) -> None:
    """Run one operation on both maps, each by its path, and compare what happened."""
    calls: dict[str, tuple[Callable[[], Any], Callable[[], Any]]] = {
        "getitem": (lambda: fast[key], lambda: Map.__getitem__(general, key)),
        "get": (lambda: fast.get(key), lambda: Map.get(general, key)),
        "get_default": (lambda: fast.get(key, "d"), lambda: Map.get(general, key, "d")),
        "contains": (lambda: key in fast, lambda: Map.__contains__(general, key)),
        "setitem": (
            lambda: fast.__setitem__(key, value),
            lambda: Map.__setitem__(general, key, value),
        ),
        "update": (
            lambda: fast.update(key, value, flags),
            lambda: Map.update(general, key, value, flags),
        ),
        "delitem": (lambda: fast.__delitem__(key), lambda: Map.__delitem__(general, key)),
    }
    on_fast, on_general = calls[op]
    got, want = outcome(on_fast), outcome(on_general)
    assert got == want, f"{op}({key!r}, {value!r}, {flags}) on {fast.name}"


def contents(m: Map) -> dict[Any, Any]:
    return dict(Map.items(m))


# -- values, some of which C takes and some it leaves to Python ------------------------

ANYTHING = st.one_of(
    st.none(),
    st.booleans(),
    st.floats(allow_nan=False),
    st.text(max_size=3),
    st.binary(max_size=10),
    st.dictionaries(st.sampled_from(["packets", "port", "nope"]), st.integers(0, 9), max_size=2),
)


def ints(bits: int, signed: bool) -> st.SearchStrategy[int]:
    """Ints mostly in range for the width, some just outside it, some far."""
    low, high = (-(1 << (bits - 1)), (1 << (bits - 1)) - 1) if signed else (0, (1 << bits) - 1)
    return st.one_of(
        st.integers(low, high),
        st.sampled_from([low - 1, high + 1, low, high, 0, -1, 1 << 64, -(1 << 63) - 1]),
    )


FLOW5 = st.one_of(
    st.tuples(ints(64, False), ints(64, False), ints(32, False), ints(16, False), ints(8, False)),
    st.lists(st.integers(0, 9), min_size=4, max_size=6),
    ANYTHING,
    st.binary(min_size=24, max_size=24),
)
FLAGS = st.sampled_from([UpdateFlag.ANY, UpdateFlag.NOEXIST, UpdateFlag.EXIST, 0, 4, -1])
SMALL_KEYS = st.one_of(st.integers(0, 80), ints(32, False), ANYTHING)


@HYPOTHESIS
@given(
    ops=st.lists(st.tuples(st.sampled_from(OPS), SMALL_KEYS, FLOW5, FLAGS), min_size=1, max_size=25)
)
def test_struct_values_agree(
    twins: tuple[libbpf_py.LoadedObject, libbpf_py.LoadedObject],
    ops: list[tuple[str, Any, Any, int]],
) -> None:
    fast, general = (obj.maps["flows5"] for obj in twins)
    for op, key, value, flags in ops:
        run_both(fast, general, op, key, value, flags)
    assert contents(fast) == contents(general)


KEY2 = st.one_of(
    st.tuples(st.integers(0, 3), st.integers(0, 3), st.integers(0, 2)),
    st.tuples(ints(32, False), ints(16, False), ints(8, False)),
    st.tuples(st.integers(0, 3), st.integers(0, 3)),
    ANYTHING,
)


def array_of(elem: st.SearchStrategy[Any], n: int) -> st.SearchStrategy[Any]:
    """n elements as a list or tuple, sometimes one too many or too few, or not a list."""
    return st.one_of(
        st.lists(elem, min_size=n, max_size=n),
        st.lists(elem, min_size=n, max_size=n).map(tuple),
        st.lists(elem, min_size=max(n - 1, 0), max_size=n + 1),
        ANYTHING,
    )


NAME = st.one_of(st.binary(max_size=8), st.text(max_size=3), st.none())
WIDE = st.one_of(
    st.tuples(
        ints(8, True),
        ints(8, False),
        ints(16, True),
        ints(16, False),
        ints(32, True),
        ints(32, False),
        ints(64, True),
        st.one_of(st.sampled_from([1, 7, -2, 3]), ints(32, True), st.text(max_size=4)),
        st.one_of(st.floats(allow_nan=False), st.integers(-3, 3)),
        NAME,
        st.one_of(st.binary(min_size=6, max_size=6), st.binary(max_size=7)),
        st.one_of(st.tuples(ints(16, True), ints(64, True)), ANYTHING),
        array_of(ints(16, False), 3),
        array_of(st.tuples(ints(16, True), ints(64, True)), 2),
        array_of(st.one_of(st.sampled_from([1, 7, -2]), ints(32, True)), 2),
    ),
    ANYTHING,
)


@HYPOTHESIS
@given(ops=st.lists(st.tuples(st.sampled_from(OPS), KEY2, WIDE, FLAGS), min_size=1, max_size=20))
def test_struct_keys_and_every_member_kind_agree(
    twins: tuple[libbpf_py.LoadedObject, libbpf_py.LoadedObject],
    ops: list[tuple[str, Any, Any, int]],
) -> None:
    fast, general = (obj.maps["wides"] for obj in twins)
    for op, key, value, flags in ops:
        run_both(fast, general, op, key, value, flags)
    assert contents(fast) == contents(general)


def per_cpu(inner: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """One value for every CPU, a list or tuple of one per CPU (or of a wrong count)."""
    return st.one_of(
        inner,
        st.lists(inner, min_size=NCPUS, max_size=NCPUS),
        st.lists(inner, min_size=max(NCPUS - 1, 0), max_size=NCPUS + 1),
        st.lists(inner, min_size=NCPUS, max_size=NCPUS).map(tuple),
    )


@HYPOTHESIS
@given(
    name=st.sampled_from(["counters", "lru", "pc_counts", "pc_lru", "pc_flows", "pc_vec", "vecs"]),
    ops=st.lists(
        st.tuples(
            st.sampled_from(OPS),
            st.one_of(st.integers(0, 10), KEY2, ANYTHING),
            per_cpu(
                st.one_of(
                    ints(16, True),
                    ints(64, True),
                    FLOW5,
                    array_of(ints(32, False), 3),
                    array_of(ints(64, True), 2),
                )
            ),
            FLAGS,
        ),
        min_size=1,
        max_size=20,
    ),
)
def test_arrays_lru_and_per_cpu_maps_agree(
    twins: tuple[libbpf_py.LoadedObject, libbpf_py.LoadedObject],
    name: str,
    ops: list[tuple[str, Any, Any, int]],
) -> None:
    fast, general = (obj.maps[name] for obj in twins)
    for op, key, value, flags in ops:
        run_both(fast, general, op, key, value, flags)
    assert contents(fast) == contents(general)


# -- the plans against the codecs they come from ----------------------------------------


@pytest.mark.parametrize("name", ["flows5", "wides", "pc_flows", "pc_vec", "vecs"])
@settings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.data())
def test_plans_decode_and_encode_as_their_codecs(
    twins: tuple[libbpf_py.LoadedObject, libbpf_py.LoadedObject], name: str, data: st.DataObject
) -> None:
    m = twins[0].maps[name]
    for codec in (m.key_codec, m.value_codec):
        codec = getattr(codec, "inner", codec)
        plan = codec.plan()  # type: ignore[attr-defined]
        assert plan is not None
        raw = data.draw(st.binary(min_size=codec.size, max_size=codec.size))
        if name == "wides" and codec.size > 16:
            raw = raw[:32] + bytes(8) + raw[40:]  # a NaN double never equals itself
        decoded = mapcore.decode(plan, raw)
        expected = codec.decode(raw)
        assert decoded == expected and type(decoded) is type(expected)
        value = data.draw(
            st.one_of(st.just(expected), WIDE, FLOW5, KEY2, array_of(ints(64, True), 2))
        )
        encoded = mapcore.encode(plan, value)
        if encoded is not None:
            assert encoded == codec.encode(value)


def test_maps_without_a_plan_keep_the_general_class(
    twins: tuple[libbpf_py.LoadedObject, libbpf_py.LoadedObject],
) -> None:
    for name in ("flows5", "wides", "counters", "lru", "pc_counts", "pc_flows", "pc_vec", "vecs"):
        assert isinstance(twins[0].maps[name], mapcore.MapCore), name
    bits = twins[0].maps["with_bits"]
    assert type(bits) is Map  # a bitfield: the generated Python codecs read it
    before = mapcore.core_ops()
    bits[1] = (5, 3)
    assert bits[1] == (5, 3) and mapcore.core_ops() == before


# -- the fast path is taken, and leaves nothing behind ---------------------------------


def test_the_c_path_is_taken_on_object_standalone_and_per_cpu_maps(
    twins: tuple[libbpf_py.LoadedObject, libbpf_py.LoadedObject],
) -> None:
    obj = twins[0]
    flows = obj.maps["flows5"]
    cls = flows.value_type.python_type  # type: ignore[union-attr]
    with (
        Map.create("hash", 4, 8, 8, key_type="u32", value_type="u64") as standalone,
        Map.create("percpu_array", 4, 8, 2, key_type="u32", value_type="s64") as pc,
    ):
        before = mapcore.core_ops()
        flows[3] = cls(1, 2, 3, 4, 5)
        assert flows[3] == (1, 2, 3, 4, 5) and type(flows[3]) is cls
        assert flows.get(4, "none") == "none" and 3 in flows and 4 not in flows
        standalone[1] = 10
        assert standalone[1] == 10
        pc[1] = -4
        assert pc[1] == [-4] * NCPUS and pc[1].sum() == -4 * NCPUS
        del flows[3]
        # 4 updates/deletes, 4 lookups that found, 2 misses through get/in
        assert mapcore.core_ops() - before == 12


def test_a_closed_map_raises_phase_error_through_the_c_path(plain_object: Path) -> None:
    with libbpf_py.ObjectFile(plain_object).open() as spec, spec.load() as loaded:
        m = loaded.maps["counters"]
        m[1] = -5
        assert m[1] == -5
    for call in (lambda: m[1], lambda: m.get(1), lambda: 1 in m, lambda: m.update(1, 2)):
        with pytest.raises(errors.PhaseError, match="map 'counters'"):
            call()
    with pytest.raises(errors.PhaseError):
        m[1] = 3
    with pytest.raises(errors.PhaseError):
        del m[1]


def rss_kib() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") // 1024


def test_a_million_operations_leak_no_memory_and_no_fd(plain_object: Path) -> None:
    fds = open_fds()
    with libbpf_py.ObjectFile(plain_object).open() as spec, spec.load() as loaded:
        flows, counters = loaded.maps["flows5"], loaded.maps["counters"]
        cls = flows.value_type.python_type  # type: ignore[union-attr]
        value = cls(1 << 40, 2, 3, 4, 5)

        def work(n: int) -> None:
            for i in range(n):
                counters[i & 7] = i
                counters[i & 7]
                counters.get(9)  # a miss: an array index out of range
                flows[i & 31] = value
                flows[i & 31]
                if i & 1:
                    del flows[i & 31]

        work(20_000)  # warm up: caches, the allocator's arenas
        gc.collect()
        before = rss_kib()
        work(200_000)  # 1.1 M operations
        gc.collect()
        grown = rss_kib() - before
    assert grown < 2048, f"RSS grew by {grown} KiB over a million map operations"
    assert open_fds() == fds


def test_a_closed_map_is_collected(plain_object: Path) -> None:
    with libbpf_py.ObjectFile(plain_object).open() as spec, spec.load() as loaded:
        ref = weakref.ref(loaded.maps["pc_flows"])
        loaded.maps["pc_flows"][(1, 2, 3)] = (1, 2, 3, 4, 5)
    del loaded, spec
    gc.collect()
    assert ref() is None


def test_threads_share_a_map(plain_object: Path) -> None:
    with libbpf_py.ObjectFile(plain_object).open() as spec, spec.load() as loaded:
        m = loaded.maps["lru"]
        failures: list[BaseException] = []

        def hammer(base: int) -> None:
            try:
                for i in range(5000):
                    m[base + (i & 7)] = i & 0xFFFF
                    got = m.get(base + (i & 7))
                    assert got is None or 0 <= got <= 0xFFFF
            except BaseException as exc:
                failures.append(exc)

        threads = [threading.Thread(target=hammer, args=(t * 100,)) for t in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert not failures
        assert 0 < len(list(m.keys())) <= 16


def test_keyword_arguments_reach_the_general_methods() -> None:
    with Map.create("hash", 4, 8, 4, key_type="u32", value_type="u64") as m:
        m.update(key=1, value=3, flags=UpdateFlag.NOEXIST)
        assert m.get(key=1) == 3 and m.get(2, default="d") == "d"
        with pytest.raises(errors.ResourceBusy, match="NOEXIST"):
            m.update(1, 4, flags=UpdateFlag.NOEXIST)
        with pytest.raises(TypeError):
            m.get(1, 2, 3)


def simple_type_for(size: int) -> st.SearchStrategy[str | None]:
    """A type name Map.create takes for ``size`` bytes, or None (untyped bytes)."""
    names: list[str | None] = ["bytes", None]
    if size in (1, 2, 4, 8):
        names += [f"u{size * 8}", f"s{size * 8}"]
    return st.sampled_from(names)


@st.composite
def standalone_layouts(draw: st.DrawFn) -> tuple[str, int, int, str | None, str | None]:
    kind = draw(st.sampled_from(["hash", "array", "lru_hash", "percpu_hash", "percpu_array"]))
    key_size = 4 if "array" in kind else draw(st.sampled_from([1, 2, 4, 8, 3, 16]))
    value_size = draw(st.sampled_from([1, 2, 4, 8, 5, 24]))
    return (
        kind,
        key_size,
        value_size,
        draw(simple_type_for(key_size)),
        draw(simple_type_for(value_size)),
    )


def layout_values(size: int) -> st.SearchStrategy[Any]:
    return st.one_of(
        ints(size * 8, False),
        ints(size * 8, True),
        st.binary(min_size=size, max_size=size),
        st.binary(max_size=size + 1),
        ANYTHING,
    )


@settings(max_examples=60, deadline=None)
@given(layout=standalone_layouts(), data=st.data())
def test_standalone_maps_of_random_sizes_and_types_agree(
    layout: tuple[str, int, int, str | None, str | None], data: st.DataObject
) -> None:
    kind, key_size, value_size, key_type, value_type = layout
    make = lambda: Map.create(  # noqa: E731
        kind, key_size, value_size, 6, name="twin", key_type=key_type, value_type=value_type
    )
    with make() as fast, make() as general:
        keys = st.one_of(st.integers(0, 8), layout_values(key_size))
        values = (
            per_cpu(layout_values(value_size)) if "percpu" in kind else layout_values(value_size)
        )
        ops = data.draw(
            st.lists(st.tuples(st.sampled_from(OPS), keys, values, FLAGS), min_size=1, max_size=15)
        )
        for op, key, value, flags in ops:
            run_both(fast, general, op, key, value, flags)
        assert contents(fast) == contents(general)


@pytest.mark.parametrize("name", ["flows5", "wides", "vecs"])
@settings(
    max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.data())
def test_a_plan_decoder_reads_any_buffer_as_its_codec(
    twins: tuple[libbpf_py.LoadedObject, libbpf_py.LoadedObject], name: str, data: st.DataObject
) -> None:
    codec = twins[0].maps[name].value_codec
    plan = codec.plan()  # type: ignore[attr-defined]
    decode = mapcore.decoder(plan)
    raw = data.draw(st.binary(min_size=codec.size, max_size=codec.size))
    if name == "wides":
        raw = raw[:32] + bytes(8) + raw[40:]  # a NaN double never equals itself
    tail = data.draw(st.binary(max_size=9))
    expected = codec.decode(raw)
    for buffer in (raw, memoryview(raw + tail), bytearray(raw + tail)):
        got = decode(buffer)
        assert got == expected and type(got) is type(expected)
    with pytest.raises(ValueError, match="bytes, but the type has"):
        decode(raw[:-1])
    with pytest.raises(TypeError):
        decode(42)
