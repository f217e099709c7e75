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
