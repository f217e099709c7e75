"""One C struct is one Python type: read from a map, a global, a ring buffer and a perf
buffer on the real kernel, it is the same value of the same generated class."""

from __future__ import annotations

from pathlib import Path

import pytest

from libbpf_py import PerfBuffer, RingBuffer
from libbpf_py.inspect import read_object
from libbpf_py.types.typed import TypedValue
from tests.conftest import requires_root
from tests.execute.conftest import PACKET, Loader

pytestmark = [requires_root, pytest.mark.usefixtures("no_fd_leak")]


def test_a_struct_is_the_same_type_from_every_channel(
    load: Loader, monkeypatch: pytest.MonkeyPatch
) -> None:
    import libbpf_py.btf

    parsed: list[int] = []
    read_btf = libbpf_py.btf.read_btf
    monkeypatch.setattr(
        libbpf_py.btf, "read_btf", lambda data: parsed.append(len(data)) or read_btf(data)
    )
    samples: list[object] = []
    with (
        load("same_struct") as obj,
        RingBuffer(obj.maps["ring"], record_type="struct lpy_sample") as ring,
        PerfBuffer(
            obj.maps["perf"], lambda cpu, rec: samples.append(rec), record_type="struct lpy_sample"
        ) as perf,
    ):
        assert obj.programs["emit"].test_run(PACKET).retval == 2  # XDP_PASS
        from_map = obj.maps["samples"][1]
        from_global = obj.bss.last
        batch = ring.drain()
        (from_ring,) = list(batch)
        while not samples:
            assert perf.poll(timeout=2) > 0
        (from_perf,) = samples

        values = [from_map, from_global, from_ring, from_perf]
        cls = obj.maps["samples"].value_type.python_type
        assert cls is not None and issubclass(cls, TypedValue)
        assert all(type(v) is cls for v in values), [type(v) for v in values]
        assert from_map == from_global == from_ring == from_perf
        v = from_ring
        assert (v.seq, v.delta, v.colour, v.ok) == (42, -7, 2, True)
        assert v.colour.name == "LPY_GREEN"
        # The char rule: char[N] keeps interior NULs, strips the trailing ones...
        assert v.name == b"ab\0cd" and v.name.split(b"\0") == [b"ab", b"cd"]
        # ...unsigned char[N] keeps all N bytes.
        assert v.addr == b"\x0a\x00\x00\x01\x00\x00"
        # Anonymous members read as in C; named nested structs are the same class too.
        assert v.port == 0x00350035 and v.halves == [0x35, 0x35]
        assert (v.pair.lo, v.pair.hi, v.flags, v.kind) == (3, 4, 5, 17)
        assert v._asdict()["seq"] == 42 and hash(v) == hash(from_map)
        # numpy keeps the raw bytes of the same struct.
        table = batch.to_numpy()
        assert table["name"].tobytes() == b"ab\0cd" + bytes(7)
        assert table["addr"].tobytes() == v.addr and int(table["seq"][0]) == 42
        # The object's BTF was parsed once (or not at all: an earlier test parsed the
        # same bytes) for its globals, maps, ring and perf records together.
        assert len(parsed) <= 1, parsed
        # Writing the value back through the map and the global round-trips it.
        obj.maps["samples"][2] = from_perf
        obj.bss.last = from_ring
        assert obj.maps["samples"][2] == obj.bss.last == from_map


def test_a_global_read_without_the_kernel_is_the_loaded_value(
    load: Loader, execute_objects: dict[str, Path]
) -> None:
    # The object reader decodes initial values through the same engine: the struct read
    # from the file (read_object, no kernel) equals the loaded object's global, and is an
    # instance of the same generated class, although the two come from different BTF
    # blobs (the .BTF section as compiled, and libbpf's copy fixed up at open).
    spec = read_object(execute_objects["same_struct"].read_bytes(), "same_struct")
    initial = spec.globals["first"].value
    with load("same_struct") as obj:
        live = obj.data.first
        assert type(initial) is type(live) and initial == live
        assert initial == obj.maps["samples"].value_type.python_type(*live)
        assert (initial.seq, initial.delta, initial.colour, initial.ok) == (7, -1, 1, True)
        assert type(initial.colour) is type(live.colour) and initial.colour.name == "LPY_RED"
        assert initial.name == b"ab\0cd" and initial.addr == b"\x0a\x00\x00\x01\x00\x00"
        assert (initial.port, initial.pair.lo, initial.flags, initial.kind) == (
            0x00350035,
            3,
            5,
            17,
        )
        assert type(initial.pair) is type(live.pair)
        # All zeros in .bss: the same on both sides too.
        assert spec.globals["last"].value == obj.bss.last
        assert type(spec.globals["last"].value) is type(obj.bss.last)
