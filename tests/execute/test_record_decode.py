"""The compiled record decoder gives exactly what the per-field decoder gives.

Both decoders are run on the same random bytes for every struct and union of the test
objects and for a spread of the kernel's own (unions, bitfields, anonymous members,
nested arrays, long arrays); their results must have the same repr, which also tells
``True`` from ``1`` and one named tuple class from another.
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
from libbpf_py.types._record_decode import compile_decoder, field_decoder
from libbpf_py.types._records import kernel_btf


def _structs(btf: Btf) -> list[int]:
    return [i for i, t in enumerate(btf.types)
            if isinstance(t, Struct) and btf.size_of(i) > 0]


def _same_values(btf: Btf, type_ids: list[int], rounds: int, seed: int) -> int:
    rng = random.Random(seed)
    checked = 0
    for type_id in type_ids:
        size = btf.size_of(type_id)
        try:
            slow = field_decoder(btf, type_id, 0)
        except LayoutError:
            with pytest.raises(LayoutError):
                compile_decoder(btf, type_id, f"type {type_id}")
            continue
        fast = compile_decoder(btf, type_id, f"type {type_id}")
        for _ in range(rounds):
            data = rng.randbytes(size)
            assert repr(fast(data)) == repr(slow(data, 0)), (type_id, btf.types[type_id])
            # A read-only view of a longer buffer, as ring memory is read in place.
            view = memoryview(data + b"\xff" * 8)
            assert repr(fast(view)) == repr(slow(data, 0)), (type_id, btf.types[type_id])
        checked += 1
    return checked


def test_every_struct_of_the_test_objects(execute_objects: dict[str, Path]) -> None:
    checked = 0
    for path in execute_objects.values():
        btf = ObjectFile(path).inspect().btf
        assert btf is not None
        checked += _same_values(btf, _structs(btf), rounds=5, seed=1)
    assert checked > 20


def test_a_spread_of_the_kernels_structs() -> None:
    try:
        btf = kernel_btf()
    except (OSError, LayoutError) as exc:
        pytest.skip(f"no kernel BTF to read: {exc}")
    ids = _structs(btf)
    # Every 20th, plus the ones with bitfields or unions where they are most tangled.
    picked = ids[::20] + [i for i in ids if btf.types[i].name in (
        "sk_buff", "__sk_buff", "xdp_md", "bpf_attr", "task_struct", "iphdr", "tcphdr")]
    assert _same_values(btf, picked, rounds=2, seed=2) > 500


def test_a_struct_without_members_decodes_to_an_empty_value() -> None:
    # Kernels' BTF has sized unions with no members left (6.18.44-fc-v1098 has one); the
    # compiled decoder once referred to an unpack result it had not made for them.
    types = struct.pack("<III", 0, 5 << 24, 8)  # an anonymous union of 8 bytes, no members
    strings = b"\0"
    header = struct.pack("<HBBIIIII", 0xEB9F, 1, 0, 24, 0, len(types), len(types), len(strings))
    btf = read_btf(header + types + strings)
    assert _same_values(btf, [1], rounds=2, seed=3) == 1
    assert tuple(compile_decoder(btf, 1, "empty")(bytes(8))) == ()
