"""Typed values shared with a BPF program, globals across phases, and bad input."""

from __future__ import annotations

from pathlib import Path

import pytest

import libbpf_py
from libbpf_py import KeyNotFound, LayoutError, LoadedObject, MapFullError, PhaseError
from libbpf_py.maps import Map
from tests.conftest import requires_root
from tests.maps import models as M

pytestmark = [requires_root, pytest.mark.usefixtures("no_fd_leak")]

KEY = (6, 0x0A000001, 80, 5, 17)  # what the program looks up (addr from a global)
VAL = (10, -3, 5, b"abc", (1, 2, 3), (1, 41), 0x0F0F0F0F, -2, 7)


def test_program_and_python_see_the_same_values(typed_object: Path) -> None:
    with libbpf_py.ObjectFile(typed_object).open() as opened:
        assert opened.rodata.ro_multiplier == 3  # the C initialiser, before load
        opened.rodata.ro_multiplier = 4  # set before load: the program uses 4
        assert opened.data.data_value == 7
        loaded = opened.load()
    with loaded:
        flows = loaded.maps["flows"]
        V = flows.value_type.python_type
        flows[KEY] = M.val_in("object", VAL, V)
        loaded.bss.query_addr = KEY[1]  # a global written from Python, read by the program
        loaded.data.data_value = 9
        loaded.maps["counts"][3] = 5  # an mmapped array, written without a syscall
        result = loaded.programs["exchange"].test_run(bytes(64))
        assert result.retval == 2  # XDP_PASS: the program found our typed entry
        # what the program wrote back, read by Python
        out = flows[(6, KEY[1], 81, 5, VAL[8])]
        packets, delta, _, _, _, (a, b), word, sbits, ubits = VAL
        assert M.val_of(out) == (
            packets * 4 + 9,
            -delta,
            6,
            b"Bbc",
            (1, 2, 3),
            (a, b + 1),
            word ^ 0xFFFFFFFF,
            -sbits,
            ubits + 1,
        )
        assert type(out.color).__name__ == "color" and out.color.name == "BLUE"
        assert loaded.bss.bss_counter == packets
        assert M.val_of(loaded.bss.last_seen) == VAL
        assert loaded.globals.custom_var == 12  # .data.custom, 11 + 1
        assert loaded.section(".data.custom").custom_var == 12
        assert loaded.maps["counts"][3] == 105
        assert loaded.maps["counts"].mmapped
        # the raw bytes agree with an independent packing of the C layout
        assert flows.value_codec.encode(out) == M.pack_val(M.val_of(out))
        with pytest.raises(PhaseError, match="frozen"):
            loaded.rodata.ro_multiplier = 5
        assert loaded.rodata.ro_multiplier == 4
    with pytest.raises(PhaseError) as info:
        _ = loaded.bss.query_addr
    assert info.value.phase == "closed"


def test_globals_phases(typed_object: Path) -> None:
    opened = libbpf_py.ObjectFile(typed_object).open()
    bss = opened.bss
    assert set(opened.globals) == {
        "query_addr",
        "bss_counter",
        "last_seen",
        "data_value",
        "ro_multiplier",
        "custom_var",
    }
    bss.last_seen = {"packets": 7, "tag": b"x"}
    assert bss.last_seen.packets == 7 and bss.last_seen.tag == b"x"
    with pytest.raises(AttributeError, match="no variable 'nope'"):
        bss.nope = 1
    with pytest.raises(LayoutError, match="out of range"):
        opened.data.data_value = -1
    with pytest.raises(TypeError):
        opened.data.data_value = "seven"
    loaded = opened.load()
    with pytest.raises(PhaseError) as info:
        bss.query_addr = 1  # the OpenObject's view is spent
    assert info.value.phase == "spent"
    with pytest.raises(PhaseError):
        _ = opened.globals
    with loaded:
        assert loaded.bss.last_seen.packets == 7  # the initial value reached the kernel
        assert loaded.globals.as_dict()["data_value"] == 7


def test_bad_input(typed: LoadedObject) -> None:
    flows = typed.maps["flows"]
    with pytest.raises(LayoutError, match=r"exactly 12 bytes \(struct key_t \{u8 proto @0"):
        flows[b"\0" * 11] = bytes(48)
    with pytest.raises(LayoutError, match="give 5 values, got 2"):
        flows[(1, 2)] = bytes(48)
    with pytest.raises(LayoutError, match="no field named 'bogus'"):
        flows[{"bogus": 1}] = bytes(48)
    with pytest.raises(LayoutError, match=r"field 'flags'.*3-bit bitfield"):
        flows[(6, 1, 80, 8, 0)] = bytes(48)
    with pytest.raises(LayoutError, match=r"field 'tag'.*char\[6\]"):
        flows[KEY] = {"tag": b"too long!"}
    with pytest.raises(LayoutError, match="exactly 3 elements"):
        flows[KEY] = {"arr": [1, 2]}
    with pytest.raises(TypeError, match="field 'proto'"):
        flows[{"proto": "tcp"}] = bytes(48)
    with pytest.raises(TypeError, match="struct key_t"):
        flows[1.5] = bytes(48)
    with pytest.raises(LayoutError, match="no member 'RED_ISH'"):
        flows[KEY] = {"color": "RED_ISH"}
    flows[KEY] = {"color": "GREEN"}
    assert flows[KEY].color == 5
    with pytest.raises(KeyNotFound) as missing:
        flows[(17, 0, 80, 0, 0)]
    assert isinstance(missing.value, KeyError)
    small = typed.maps["stack"]
    for i in range(small.max_entries):
        small.push((i, 0, 0))
    with pytest.raises(MapFullError, match="max_entries=8"):
        small.push((9, 0, 0))
    with pytest.raises(TypeError, match="needs a key"):
        flows.pop()


def test_map_full_names_max_entries() -> None:
    with Map.create("hash", 4, 4, 3, key_type="u32", value_type="u32") as m:
        for i in range(3):
            m[i] = i
        with pytest.raises(MapFullError, match="max_entries=3"):
            m[10] = 1
        with pytest.raises(MapFullError, match="max_entries=3"):
            m.update_batch([20, 21], [1, 1])
        with pytest.raises(LayoutError, match="out of range"):
            m[2**32] = 1
        with pytest.raises(LayoutError, match="out of range"):
            m[1] = -1
        with pytest.raises(TypeError, match="not str"):
            m["1"] = 1


def test_use_after_close_is_a_phase_error(typed_object: Path) -> None:
    with libbpf_py.ObjectFile(typed_object).open() as opened:
        loaded = opened.load()
    maps = {name: loaded.maps[name] for name in ("flows", "queue", "bloom", "counts", "lpm")}
    globals_ = loaded.globals
    loaded.close()
    flows, queue, bloom, counts, lpm = maps.values()
    calls = [
        lambda: flows[KEY],
        lambda: flows.__setitem__(KEY, bytes(48)),
        lambda: flows.__delitem__(KEY),
        lambda: KEY in flows,
        lambda: flows.get(KEY),
        lambda: list(flows.items()),
        lambda: list(flows.keys()),
        lambda: len(flows),
        lambda: flows.to_numpy(),
        lambda: flows.update_batch([KEY], [bytes(48)]),
        lambda: flows.delete_batch([KEY]),
        lambda: flows.lookup_batch(),
        lambda: flows.pop(KEY),
        lambda: flows.pin("/sys/fs/bpf/lpy_x"),
        lambda: flows.fd,
        lambda: queue.push(bytes(48)),
        lambda: queue.pop(),
        lambda: queue.peek(),
        lambda: bloom.add(bytes(12)),
        lambda: bytes(12) in bloom,
        lambda: counts[0],
        lambda: counts.__setitem__(0, 1),
        lambda: lpm[(32, 0)],
        lambda: globals_.data_value,
        lambda: setattr(globals_, "data_value", 1),
    ]
    for call in calls:
        with pytest.raises(PhaseError) as info:
            call()
        assert info.value.phase == "closed"
    standalone = Map.create("hash", 4, 8, 4, key_type="u32", value_type="u64")
    standalone[1] = 2
    standalone.close()
    standalone.close()  # idempotent
    for call in [
        lambda: standalone[1],
        lambda: standalone.__setitem__(1, 2),
        lambda: standalone.__delitem__(1),
        lambda: 1 in standalone,
        lambda: list(standalone.items()),
    ]:
        with pytest.raises(PhaseError):
            call()


def test_unclosed_standalone_map_warns() -> None:
    import gc

    m = Map.create("array", 4, 4, 2)
    with pytest.warns(ResourceWarning, match="unclosed"):
        del m
        gc.collect()


def test_a_standalone_map_hands_its_fd_over(typed: LoadedObject) -> None:
    import gc
    import os
    import warnings

    with pytest.raises(PhaseError, match="belongs to object"):
        typed.maps["flows"].disown()  # the object's fd: not the map's to give
    for flags in (0, 1 << 10):  # BPF_F_MMAPABLE: the handle's mapping goes too
        m = Map.create("array", 4, 8, 4, key_type="u32", value_type="u64", flags=flags)
        m[1] = 7
        fd = m.disown()
        try:
            assert m.closed and not m.mmapped
            with pytest.raises(PhaseError, match="handed over by disown"):
                m[1]
            with warnings.catch_warnings():
                warnings.simplefilter("error", ResourceWarning)  # nothing left to warn of
                del m
                gc.collect()
            with open(f"/proc/self/fdinfo/{fd}") as f:
                assert any(line.startswith("map_type:") for line in f)
        finally:
            os.close(fd)


def test_unsigned_char_arrays_keep_every_byte(typed: LoadedObject) -> None:
    # __u8 bytes[4] is binary (an address, a hash): zero bytes are data, at either end.
    # char tag[6] is text: it reads up to its NULs.
    arr = typed.maps["arr"]
    V = arr.value_type.python_type
    value = M.val_in("object", (1, 0, 0, b"ab", (0, 0, 0), (0, 0), 0x00010000, 0, 0), V)
    arr[0] = value
    got = arr[0]
    assert got.un.word == 0x00010000
    assert got.un.bytes == b"\x00\x00\x01\x00"  # all four, little-endian word
    assert got.tag == b"ab"  # char[6]: text, trailing NULs dropped
    arr[1] = M.val_in("object", (1, 0, 0, b"", (0, 0, 0), (0, 0), 0, 0, 0), V)
    assert arr[1].un.bytes == bytes(4)
    assert arr.value_type.python_type is V
    assert arr.value_codec.decode(arr.value_codec.encode(got)).un.bytes == b"\x00\x00\x01\x00"


def test_inspect_reads_char_arrays_by_the_same_rule(typed_object: Path) -> None:
    # The same engine before load (issue 13): char[6] is text without its trailing NULs,
    # __u8[4] binary, all four bytes; the struct is its generated named tuple.
    last_seen = libbpf_py.ObjectFile(typed_object).inspect().globals["last_seen"].value
    assert type(last_seen).__name__ == "val_t"
    assert last_seen.tag == b""
    assert last_seen.un.bytes == bytes(4)
