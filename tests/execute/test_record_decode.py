"""The engine's compiled decoders read every struct the same from any buffer, and back.

For every struct and union of the test objects and for a spread of the kernel's own
(unions, bitfields, anonymous members, nested arrays, long arrays), random bytes decode
to the same value from exact bytes and from a read-only view of a longer buffer (ring
memory is read in place, perf samples are padded); encoding that value and decoding it
again gives the same value (its repr, which also tells ``True`` from ``1`` and one
generated class from another). Map values, globals and records all use these codecs.
"""

from __future__ import annotations

import random
import struct
from pathlib import Path

import pytest

from libbpf_py import ObjectFile
from libbpf_py.errors import LayoutError
from libbpf_py.inspect import Btf
from libbpf_py.inspect.btf import read_btf
from libbpf_py.inspect.btf_types import Struct
from libbpf_py.types._records import RecordType, kernel_types
from libbpf_py.types.typed import TypeCodecs


def _structs(btf: Btf) -> list[int]:
    return [i for i, t in enumerate(btf.types) if isinstance(t, Struct) and btf.size_of(i) > 0]


def _same_values(types: TypeCodecs, type_ids: list[int], rounds: int, seed: int) -> int:
    rng = random.Random(seed)
    checked = 0
    for type_id in type_ids:
        size = types.btf.size_of(type_id)
        try:
            record = RecordType(types, type_id, f"type {type_id}")
        except LayoutError:
            continue  # a layout the engine refuses (maps then use raw bytes)
        for _ in range(rounds):
            data = rng.randbytes(size)
            value = record.decode(data)
            assert type(value) is record.python_type
            # A read-only view of a longer buffer, as ring memory is read in place.
            view = memoryview(data + b"\xff" * 8)
            assert repr(record.decode(view)) == repr(value), (type_id, types.btf[type_id])
            again = record.decode(record.encode(value))
            assert repr(again) == repr(value), (type_id, types.btf[type_id])
        checked += 1
    return checked


def test_every_struct_of_the_test_objects(execute_objects: dict[str, Path]) -> None:
    checked = 0
    for path in execute_objects.values():
        btf = ObjectFile(path).inspect().btf
        assert btf is not None
        checked += _same_values(TypeCodecs(btf), _structs(btf), rounds=5, seed=1)
    assert checked > 20


def test_a_spread_of_the_kernels_structs() -> None:
    try:
        types = kernel_types()
    except (OSError, LayoutError) as exc:
        pytest.skip(f"no kernel BTF to read: {exc}")
    ids = _structs(types.btf)
    # Every 20th, plus the ones with bitfields or unions where they are most tangled.
    picked = ids[::20] + [
        i
        for i in ids
        if types.btf.types[i].name
        in ("sk_buff", "__sk_buff", "xdp_md", "bpf_attr", "task_struct", "iphdr", "tcphdr")
    ]
    # Each picked struct is checked unless both decoders refuse it (LayoutError).
    assert _same_values(types, picked, rounds=2, seed=2) > 0.9 * len(picked)


def test_anonymous_members_read_as_in_c() -> None:
    try:
        types = kernel_types()
    except (OSError, LayoutError) as exc:
        pytest.skip(f"no kernel BTF to read: {exc}")
    from libbpf_py.types._records import record_type

    keys = record_type(types, "struct bpf_flow_keys")
    value = keys.decode(keys.encode({"nhoff": 14, "ipv4_src": 0x0100007F}))
    assert value.nhoff == 14 and value.ipv4_src == 0x0100007F


def test_a_struct_without_members_decodes_to_an_empty_value() -> None:
    # Kernels' BTF has sized unions with no members left (6.18.44-fc-v1098 has one); the
    # compiled decoder once referred to an unpack result it had not made for them.
    types = struct.pack("<III", 0, 5 << 24, 8)  # an anonymous union of 8 bytes, no members
    strings = b"\0"
    header = struct.pack("<HBBIIIII", 0xEB9F, 1, 0, 24, 0, len(types), len(types), len(strings))
    engine = TypeCodecs(read_btf(header + types + strings))
    assert _same_values(engine, [1], rounds=2, seed=3) == 1
    assert RecordType(engine, 1, "empty").decode(bytes(8))._asdict() == {}


# Records as real tools send them (tests/bpf/execute/truncated.bpf.c): a struct whose
# last member is a large array, submitted only as far as it was filled.
ARGS = [b"ls", b"-l", b"--color=auto", b"", b"/tmp/a b"]


@pytest.fixture(scope="module")
def truncated(execute_objects: dict[str, Path]) -> TypeCodecs:
    btf = ObjectFile(execute_objects["truncated"]).inspect().btf
    assert btf is not None
    return TypeCodecs(btf)


def _record(types: TypeCodecs, name: str) -> RecordType:
    from libbpf_py.types._records import record_type

    return record_type(types, name)


def _exec_event(args: list[bytes]) -> bytes:
    """What execsnoop submits: offsetof(struct exec_event, args) + args_size bytes."""
    packed = b"".join(a + b"\0" for a in args)
    return struct.pack("<QIII", 7, 4242, len(args), len(packed)) + b"sh".ljust(16, b"\0") + packed


def test_a_record_cut_in_its_trailing_char_array_keeps_every_argument(
    truncated: TypeCodecs,
) -> None:
    event = _record(truncated, "struct exec_event")
    assert event.trailing == "args" and event.size == 552
    data = _exec_event(ARGS)
    assert len(data) == 36 + 29
    for view in (data, memoryview(data), bytearray(data)):
        record = event.decode(view)
        assert type(record) is event.python_type
        assert (record.ts, record.pid, record.args_count, record.comm) == (7, 4242, 5, b"sh")
        # The char rule: trailing NULs stripped, never cut inside; the empty argument
        # survives too.
        assert record.args.split(b"\0") == ARGS
    assert event.trailing_size(len(data)) == 29
    assert event.trailing_size(event.size) == 512
    # A record cut exactly where the array starts has an empty array.
    assert event.decode(data[:36]).args == b""
    # Cut inside an argument: the bytes that arrived.
    assert event.decode(data[:40]).args == b"ls\0-"
    # A full-size record decodes as before.
    assert event.decode(data.ljust(552, b"\0")) == event.decode(data)


@pytest.mark.parametrize(
    ("size", "field", "how"),
    [
        (0, "ts", "before"),
        (3, "ts", "inside"),
        (10, "pid", "inside"),
        (16, "args_size", "before"),
        (30, "comm", "inside"),
    ],
)
def test_a_record_that_ends_before_the_trailing_array_names_the_field(
    truncated: TypeCodecs, size: int, field: str, how: str
) -> None:
    event = _record(truncated, "struct exec_event")
    data = _exec_event(ARGS)
    for call in (lambda: event.decode(data[:size]), lambda: event.trailing_size(size)):
        with pytest.raises(LayoutError, match=f"ends {how} field '{field}'") as exc:
            call()
        assert f"a record of {size} bytes is too short for struct exec_event" in str(exc.value)
        assert "only the trailing array, char[512] 'args' at byte 36" in str(exc.value)


def test_a_short_trailing_array_of_other_elements_holds_the_whole_ones(
    truncated: TypeCodecs,
) -> None:
    readings = _record(truncated, "struct readings")
    data = struct.pack("<I16I", 16, *range(100, 116))
    assert readings.decode(data[:4]).values == []
    assert readings.decode(data[:9]).values == [100]  # a part of an element is dropped
    assert readings.decode(data[:23]).values == [100, 101, 102, 103]
    assert readings.decode(data).values == list(range(100, 116))
    assert readings.trailing_size(23) == 19
    # unsigned char arrays keep every byte that arrived, zeros included.
    blob = _record(truncated, "struct blob")
    raw = struct.pack("<H", 4) + b"\1\0\0\0"
    assert blob.decode(raw).data == b"\1\0\0\0"
    assert blob.decode(raw.ljust(32, b"\0")).data == b"\1" + bytes(29)
    with pytest.raises(LayoutError, match="ends inside field 'len'"):
        blob.decode(b"\1")


def test_a_struct_without_a_trailing_array_needs_every_member(truncated: TypeCodecs) -> None:
    pair = _record(truncated, "struct pair")  # { u64 a; u32 b; }, 16 bytes with padding
    assert pair.trailing is None and pair.size == 16
    assert pair.decode(struct.pack("<QI", 1, 2)) == (1, 2)  # only the padding is missing
    with pytest.raises(LayoutError, match="ends inside field 'b'") as exc:
        pair.decode(b"\0" * 10)
    assert "struct pair has no trailing array, so a record holds every member" in str(exc.value)
    u64 = _record(truncated, "__u64")
    assert u64.trailing is None
    with pytest.raises(LayoutError, match="a record of 4 bytes is too short for __u64"):
        u64.decode(b"\0" * 4)
