"""Arena maps: a program and Python share the same pages, through the map's arena view
and through the object's ``__arena`` globals (tests/bpf/maps/arena.bpf.c)."""

from __future__ import annotations

import struct
from collections.abc import Iterator
from pathlib import Path

import pytest

import libbpf_py
from libbpf_py import features
from libbpf_py.errors import ArenaPageError, LayoutError, NotSupported, PhaseError
from libbpf_py.maps import Arena, Map
from tests.conftest import IS_ROOT

SOURCES = Path(__file__).resolve().parent.parent / "bpf" / "maps"
SEGV_ON_FAULT = 1 << 17  # BPF_F_SEGV_ON_FAULT
PAGE = 4096

pytestmark = pytest.mark.skipif(not IS_ROOT, reason="arena maps need root")


def _need_arena() -> None:
    reason = features.check("map_type:arena")
    if reason:
        pytest.skip(reason)


@pytest.fixture(scope="module")
def arena_object(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """tests/bpf/maps/arena.bpf.c, compiled."""
    out = tmp_path_factory.mktemp("bpf_arena")
    return libbpf_py.compile(SOURCES / "arena.bpf.c", out / "arena.bpf.o")


@pytest.fixture
def loaded(arena_object: Path) -> Iterator[libbpf_py.LoadedObject]:
    """The arena object, loaded; skipped where the kernel makes no arenas."""
    _need_arena()
    with libbpf_py.ObjectFile(arena_object).open() as opened, opened.load() as obj:
        yield obj


def test_program_and_python_share_the_arena(loaded: libbpf_py.LoadedObject) -> None:
    arena = loaded.maps["arena"].arena
    assert isinstance(arena, Arena)
    assert arena.size == 8 * arena.page_size
    g = loaded.globals
    # The initial values libbpf copied into the arena at load.
    assert g.counter == 0
    assert (g.origin.x, g.origin.y, g.origin.tag) == (1, -2, 3)
    assert g.page == 0

    assert loaded.programs["arena_write"].test_run().retval == 0
    # The program's writes, through the globals view...
    assert g.counter == 10
    assert g.origin.x == 2
    assert g.page == loaded.bss.page_addr != 0
    # ...and through the arena view, at the address the program used.
    page = arena.offset_of(g.page)
    assert page % arena.page_size == 0
    assert arena.read(page, 16) == struct.pack("<QQ", 0x1122334455667788, 1)
    assert arena.read_value(page + 8, "u64") == 1
    assert arena.pointer(page) == g.page
    counter = arena.offset_of(loaded.bss.counter_addr)
    assert arena.read_value(counter, "__u64") == 10
    origin = arena.read_value(arena.offset_of(loaded.bss.origin_addr), "struct point")
    assert origin == g.origin
    assert (origin.x, origin.y, origin.tag) == (2, -2, 3)

    # Python writes through both views; the program reads what Python wrote.
    arena[page : page + 8] = struct.pack("<Q", 0xDEAD_BEEF_0BAD_F00D)
    g.counter = 77
    g.origin = {"x": 40, "y": -2, "tag": 3}
    assert arena.read_value(counter, "u64") == 77
    assert loaded.programs["arena_check"].test_run().retval == 0
    assert loaded.bss.seen_page == 0xDEAD_BEEF_0BAD_F00D
    assert loaded.bss.seen_counter == 77
    assert loaded.bss.seen_x == 40
    arena.write_value(counter, "u64", 5)
    assert g.counter == 5
    arena.write_value(arena.offset_of(loaded.bss.origin_addr), "struct point", (9, 8, 7))
    assert tuple(g.origin) == (9, 8, 7)


def test_arena_globals_before_load(arena_object: Path) -> None:
    with libbpf_py.ObjectFile(arena_object).open() as opened:
        section = opened.section(".addr_space.1")
        assert set(section) == {"counter", "origin", "page"}
        assert opened.globals.origin.y == -2
        opened.globals.counter = 1234  # libbpf copies it into the arena at load
        assert opened.globals.counter == 1234
        # .bss is 44 bytes, not a whole number of u64: its integers still read and write.
        opened.bss.seen_x = 3
        opened.bss.page_addr = 9
        assert (opened.bss.seen_x, opened.bss.page_addr) == (3, 9)
        _need_arena()
        with opened.load() as obj:
            assert obj.globals.counter == 1234
            assert obj.programs["arena_write"].test_run().retval == 0
            assert obj.globals.counter == 1244
            assert (
                obj.maps["arena"].arena.read_value(
                    obj.maps["arena"].arena.offset_of(obj.bss.counter_addr), "u64"
                )
                == 1244
            )


def test_arena_views_close_with_their_object(arena_object: Path) -> None:
    _need_arena()
    with libbpf_py.ObjectFile(arena_object).open() as opened:
        obj = opened.load()
    arena = obj.maps["arena"].arena
    g = obj.globals
    obj.close()
    assert arena.closed
    with pytest.raises(PhaseError):
        arena.read(0, 8)
    with pytest.raises(PhaseError):
        g.counter  # noqa: B018
    with pytest.raises(PhaseError):
        g.counter = 1


def test_standalone_arena() -> None:
    refused = features.check("map_type:arena")
    if refused:
        # The refusal names the feature instead of a bare errno.
        with pytest.raises(NotSupported, match="arena"):
            Map.create("arena", 0, 0, 4)
        pytest.skip(refused)
    with Map.create("arena", 0, 0, 4) as m:
        arena = m.arena
        assert len(arena) == 4 * arena.page_size
        # A page nobody allocated is faulted in zeroed by a touch from user space.
        assert arena[PAGE : PAGE + 8] == bytes(8)
        arena.write(PAGE + 3, b"arena")
        assert arena.read(PAGE, 8) == b"\0\0\0arena"
        assert arena[PAGE + 3] == ord("a")
        arena[PAGE] = 7
        assert arena.read_value(PAGE, "u8") == 7
        assert arena.offset_of(arena.pointer(PAGE + 3)) == PAGE + 3
        # Programs may hold only the pointer's low 32 bits.
        assert arena.offset_of(arena.pointer(PAGE) & 0xFFFFFFFF) == PAGE
        with pytest.raises(LayoutError, match="do not fit"):
            arena.read(arena.size - 4, 8)
        with pytest.raises(LayoutError, match="outside arena"):
            arena.offset_of(arena.address + arena.size)
        with pytest.raises(LayoutError):
            arena[0:2] = b"abc"
    assert arena.closed
    with pytest.raises(PhaseError):
        arena.read(0, 1)


def test_unallocated_page_is_an_error_not_a_crash() -> None:
    _need_arena()
    with Map.create("arena", 0, 0, 2, flags=SEGV_ON_FAULT) as m:
        arena = m.arena
        with pytest.raises(ArenaPageError, match="offset 4100") as caught:
            arena.read(PAGE + 4, 8)
        assert caught.value.offset == PAGE + 4
        assert isinstance(caught.value, libbpf_py.NotFound)
        with pytest.raises(ArenaPageError, match="BPF_F_SEGV_ON_FAULT"):
            arena.write(0, b"x")


def test_only_arena_maps_have_an_arena() -> None:
    with Map.create("array", 4, 8, 2) as m, pytest.raises(NotSupported, match="only arena"):
        m.arena  # noqa: B018


def test_faulting_arena_with_globals_is_refused_before_load(arena_object: Path) -> None:
    with libbpf_py.ObjectFile(arena_object).open() as opened:
        arena = opened.maps["arena"]
        arena.flags |= SEGV_ON_FAULT
        # libbpf would write the globals into a page that does not exist: SIGSEGV.
        with pytest.raises(NotSupported, match="BPF_F_SEGV_ON_FAULT"):
            opened.load()
        arena.flags &= ~SEGV_ON_FAULT  # nothing was spent: fix it and load
        assert opened.globals.counter == 0
        _need_arena()
        with opened.load() as obj:
            assert obj.globals.origin.tag == 3
