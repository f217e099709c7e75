"""Maps nothing types (no key_type/value_type, no BTF): raw bytes in, raw bytes out.

An int written to such a map would read back as bytes, so it is refused with a
LayoutError that says how to type the map; bytes of the exact size round-trip.
"""

from __future__ import annotations

import pytest

from libbpf_py import KeyNotFound, LayoutError
from libbpf_py.maps import Map
from tests.conftest import requires_root

pytestmark = [requires_root, pytest.mark.usefixtures("no_fd_leak")]

MMAPABLE = 1 << 10  # BPF_F_MMAPABLE


def test_an_untyped_value_refuses_an_int_and_says_how_to_type_it() -> None:
    with Map.create("hash", 4, 8, 4, name="lpy_untyped") as m:
        assert m.key_type is None and m.value_type is None
        key = (1).to_bytes(4, "little")
        with pytest.raises(LayoutError, match="value_type='u64'") as info:
            m[key] = 5
        assert isinstance(info.value, ValueError)
        message = str(info.value)
        assert "map 'lpy_untyped'" in message and "(5).to_bytes(8, 'little')" in message
        assert "Map.create" in message
        with pytest.raises(LayoutError, match="value_type='s64'"):
            m.update(key, -5)  # a negative int suggests the signed type
        assert len(m) == 0  # nothing reached the kernel
        m[key] = (5).to_bytes(8, "little")
        assert m[key] == (5).to_bytes(8, "little") and type(m[key]) is bytes
        assert list(m.items()) == [(key, (5).to_bytes(8, "little"))]


def test_an_untyped_key_refuses_an_int_too() -> None:
    with Map.create("hash", 4, 8, 4) as m:
        with pytest.raises(LayoutError, match="key_type='u32'"):
            m[1] = bytes(8)
        with pytest.raises(LayoutError, match="key_type='u32'"):
            m[1]  # a lookup by int would never find a key that reads back as bytes
        m[b"\x01\0\0\0"] = bytes(8)
        assert list(m.keys()) == [b"\x01\0\0\0"]


def test_other_values_are_still_type_errors() -> None:
    with Map.create("hash", 4, 8, 4) as m:
        with pytest.raises(TypeError, match="raw bytes"):
            m[bytes(4)] = "five"
        with pytest.raises(TypeError):
            m[bytes(4)] = True  # a bool is no int here
        with pytest.raises(LayoutError, match="exactly 8 bytes"):
            m[bytes(4)] = bytes(7)


def test_a_value_of_no_machine_word_size_suggests_bytes() -> None:
    with Map.create("array", 4, 16, 2) as m:
        with pytest.raises(LayoutError, match=r"bytes\(16\)"):
            m[0] = 1
        m[1] = b"x" * 16
        assert m[1] == b"x" * 16 and m[0] == bytes(16)


@pytest.mark.parametrize("flags", [0, MMAPABLE])
def test_untyped_arrays_index_by_int_and_refuse_int_values(flags: int) -> None:
    # Array keys are indexes, typed u32 without being asked; the values stay bytes.
    with Map.create("array", 4, 8, 4, flags=flags) as m:
        assert m.mmapped is bool(flags)
        with pytest.raises(LayoutError, match="value_type='u64'"):
            m[2] = 7
        m[2] = (7).to_bytes(8, "little")
        assert m[2] == (7).to_bytes(8, "little")
        assert list(m.values())[2] == (7).to_bytes(8, "little")


def test_per_cpu_queue_and_bloom_values_follow_the_same_rule() -> None:
    with Map.create("percpu_array", 4, 8, 1) as per_cpu:
        with pytest.raises(LayoutError, match="value_type='u64'"):
            per_cpu[0] = 1
        per_cpu[0] = bytes(8)
        assert all(v == bytes(8) for v in per_cpu[0])
    with Map.create("queue", 0, 4, 4) as queue:
        with pytest.raises(LayoutError, match="value_type='u32'"):
            queue.push(3)
        queue.push(b"\x03\0\0\0")
        assert queue.pop() == b"\x03\0\0\0"
    with Map.create("bloom_filter", 0, 4, 8) as bloom:
        with pytest.raises(LayoutError, match="value_type='u32'"):
            bloom.add(3)
        bloom.add(b"\x03\0\0\0")
        assert b"\x03\0\0\0" in bloom


def test_typing_the_map_is_the_way_to_ints() -> None:
    with Map.create("hash", 4, 8, 4, key_type="u32", value_type="u64") as typed:
        typed[1] = 5
        assert typed[1] == 5
    with Map.create("hash", 4, 8, 4, name="lpy_untyped") as raw:
        raw[(1).to_bytes(4, "little")] = (5).to_bytes(8, "little")
        # The same kernel map, opened again with types: the bytes read as the ints.
        with Map.from_id(raw.id, key_type="u32", value_type="u64") as again:
            assert again[1] == 5
            again[2] = 6
        assert raw[(2).to_bytes(4, "little")] == (6).to_bytes(8, "little")
        with Map.from_id(raw.id) as untyped, pytest.raises(LayoutError, match=r"Map\.from_id"):
            untyped[(3).to_bytes(4, "little")] = 7


def test_a_stack_trace_map_is_keyed_by_stack_id_without_types() -> None:
    # The kernel fixes its key as the u32 stack id bpf_get_stackid() returns, so an int
    # looks it up; the value (an array of instruction pointers) stays bytes.
    with Map.create("stack_trace", 4, 8 * 4, 8) as stacks:
        assert stacks.key_type is None
        with pytest.raises(KeyNotFound):
            stacks[1]
        assert stacks.get(1) is None and list(stacks.keys()) == []
