"""Damaged and generated objects raise only ObjectFormatError (with section and offset),
never another exception, a hang or a crash."""

from __future__ import annotations

import struct
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from libbpf_py.errors import ObjectFormatError
from libbpf_py.inspect import read_object
from libbpf_py.inspect.btf import read_btf
from libbpf_py.inspect.disasm import disassemble
from libbpf_py.inspect.elf import read_elf
from libbpf_py.inspect.jsonout import object_json
from libbpf_py.inspect.render import render_c

# Small objects that still cover maps, map-in-map, globals, subprograms, CO-RE, externs.
SEEDS = [
    "globals_all",
    "map_in_map",
    "decl_tags",
    "enums64",
    "maps_array",
    "insn_classes",
    "legacy_maps",
    "struct_ops_cc",
    "kconfig_ksym",
    "bitfields",
    "subprogs",
]
FAST = settings(
    deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large]
)


def exercise(data: bytes) -> None:
    """Everything the library does with an object: read, render, disassemble, JSON."""
    try:
        spec = read_object(data, "fuzz.bpf.o")
        functions = [*spec.programs.values(), *spec.subprograms.values()]
        for f in functions:
            disassemble(f, functions)
        object_json(spec)
        if spec.btf is not None:
            for t in spec.btf.types:
                render_c(spec.btf, t.id)
    except ObjectFormatError as e:
        assert e.section is not None, f"no section in: {e}"
        assert e.offset is not None, f"no offset in: {e}"


@pytest.fixture(scope="module")
def seeds(corpus: dict[str, Path]) -> dict[str, bytes]:
    return {name: corpus[name].read_bytes() for name in SEEDS}


def test_seeds_are_valid(seeds: dict[str, bytes]) -> None:
    for data in seeds.values():
        read_object(data)


@settings(FAST, max_examples=700)
@given(name=st.sampled_from(SEEDS), cut=st.floats(0, 1))
def test_truncated_anywhere(seeds: dict[str, bytes], name: str, cut: float) -> None:
    data = seeds[name]
    exercise(data[: int(len(data) * cut)])


def _regions(data: bytes) -> list[tuple[int, int]]:
    """Byte ranges worth damaging: headers, section table, BTF, BTF.ext, symbols, code."""
    elf = read_elf(data)
    shoff = struct.unpack_from("<Q", data, 0x28)[0]
    regions = [(0, 64), (shoff, shoff + 64 * len(elf.sections))]
    for s in elf.sections:
        wanted = (
            s.name in (".BTF", ".BTF.ext", ".symtab", ".maps", ".strtab")
            or s.is_program
            or (s.type == 9 and not s.name.startswith(".rel.debug"))
        )
        if wanted and s.size:
            regions.append((s.offset, s.offset + s.size))
    return regions


@settings(FAST, max_examples=1500)
@given(name=st.sampled_from(SEEDS), data=st.data())
def test_bit_flips(seeds: dict[str, bytes], name: str, data: st.DataObject) -> None:
    blob = bytearray(seeds[name])
    regions = _regions(bytes(blob))
    for _ in range(data.draw(st.integers(1, 8))):
        start, end = data.draw(st.sampled_from(regions))
        pos = data.draw(st.integers(start, max(start, end - 1)))
        if pos < len(blob):
            blob[pos] ^= 1 << data.draw(st.integers(0, 7))
    exercise(bytes(blob))


_SHDR_FIELDS = [(0, "I"), (4, "I"), (8, "Q"), (24, "Q"), (32, "Q"), (40, "I"), (44, "I"), (56, "Q")]
_BIG = st.one_of(
    st.integers(0, 64), st.sampled_from([0xFF, 0xFFFF, 0xFFFFFFFF]), st.integers(0, 2**32 - 1)
)


@settings(FAST, max_examples=500)
@given(name=st.sampled_from(SEEDS), data=st.data())
def test_corrupt_section_headers(seeds: dict[str, bytes], name: str, data: st.DataObject) -> None:
    blob = bytearray(seeds[name])
    shoff = struct.unpack_from("<Q", blob, 0x28)[0]
    count = struct.unpack_from("<H", blob, 0x3C)[0]
    for _ in range(data.draw(st.integers(1, 3))):
        index = data.draw(st.integers(0, count - 1))
        where, fmt = data.draw(st.sampled_from(_SHDR_FIELDS))
        value = data.draw(_BIG) & (0xFFFFFFFF if fmt == "I" else 0xFFFFFFFFFFFFFFFF)
        struct.pack_into("<" + fmt, blob, shoff + 64 * index + where, value)
    if data.draw(st.booleans()):
        # The ELF header's own view of the table: shnum, shstrndx, shoff.
        field = data.draw(st.sampled_from([(0x3C, "H"), (0x3E, "H"), (0x28, "Q")]))
        struct.pack_into(
            "<" + field[1],
            blob,
            field[0],
            data.draw(_BIG) & (0xFFFF if field[1] == "H" else 0xFFFFFFFF),
        )
    exercise(bytes(blob))


@settings(FAST, max_examples=600)
@given(name=st.sampled_from(SEEDS), section=st.sampled_from([".BTF", ".BTF.ext"]), data=st.data())
def test_corrupt_btf_headers(
    seeds: dict[str, bytes], name: str, section: str, data: st.DataObject
) -> None:
    blob = bytearray(seeds[name])
    sec = read_elf(bytes(blob)).by_name[section]
    fields = [0, 2, 3, 4, 8, 12, 16, 20] + ([24, 28] if section == ".BTF.ext" else [])
    for _ in range(data.draw(st.integers(1, 3))):
        where = data.draw(st.sampled_from(fields))
        if where in (2, 3):
            blob[sec.offset + where] = data.draw(st.integers(0, 255))
        elif where == 0:
            struct.pack_into("<H", blob, sec.offset, data.draw(st.integers(0, 0xFFFF)))
        else:
            struct.pack_into("<I", blob, sec.offset + where, data.draw(_BIG))
    exercise(bytes(blob))


@settings(FAST, max_examples=400)
@given(name=st.sampled_from(SEEDS), data=st.data())
def test_string_offsets_out_of_range(
    seeds: dict[str, bytes], name: str, data: st.DataObject
) -> None:
    blob = bytearray(seeds[name])
    elf = read_elf(bytes(blob))
    sec = elf.by_name[".BTF"]
    btf = read_btf(sec.data)
    str_len = len(btf.strings)
    for _ in range(data.draw(st.integers(1, 3))):
        type_id = data.draw(st.integers(1, len(btf.types) - 1))
        record = btf.offsets[type_id]
        # The type's own name, or the name of its first member/param/enumerator.
        where = record + data.draw(st.sampled_from([0, 12]))
        if where + 4 <= sec.size:
            bad = data.draw(st.integers(str_len, str_len + 2**20) | st.just(0xFFFFFFFF))
            struct.pack_into("<I", blob, sec.offset + where, bad)
    if data.draw(st.booleans()) and ".BTF.ext" in elf.by_name:
        ext = elf.by_name[".BTF.ext"]
        # The section-name string of the first func info block.
        hdr_len, fi_off = struct.unpack_from("<II", blob, ext.offset + 4)
        where = ext.offset + hdr_len + fi_off + 4
        if where + 4 <= ext.offset + ext.size:
            struct.pack_into("<I", blob, where, str_len + data.draw(st.integers(0, 99)))
    exercise(bytes(blob))


# --- objects generated from nothing -------------------------------------------------

_NAMES = [
    "",
    "type",
    "key",
    "value",
    "values",
    "max_entries",
    "map_flags",
    "pinning",
    "key_size",
    "value_size",
    "map_extra",
    "x",
    ".data",
    ".maps",
    ".rodata",
    "loop",
    "char",
    "int",
    ".kconfig",
    ".ksyms",
    "CONFIG_X",
    "prog",
]
_STRINGS = b"\0" + b"".join(n.encode() + b"\0" for n in _NAMES[1:])
_OFFSETS = [0] + [_STRINGS.index(b"\0" + n.encode() + b"\0") + 1 for n in _NAMES[1:]]


def build_elf(sections: list[tuple[str, int, int, bytes, int, int, int]]) -> bytes:
    """A little-endian EM_BPF relocatable ELF with these (name, type, flags, data, link,
    info, entsize) sections after the null one; the section name table comes last."""
    names = b"\0"
    entries = []
    for name, *rest in [*sections, (".shstrtab", 3, 0, b"", 0, 0, 0)]:
        entries.append((len(names), *rest))
        names += name.encode() + b"\0"
    entries[-1] = (*entries[-1][:3], names, *entries[-1][4:])
    body = b""
    headers = [b"\0" * 64]
    for name_off, sh_type, flags, blob, link, info, entsize in entries:
        offset = 64 + len(body)
        body += blob + b"\0" * (-len(blob) % 8)
        headers.append(
            struct.pack(
                "<IIQQQQIIQQ",
                name_off,
                sh_type,
                flags,
                0,
                offset,
                len(blob),
                link,
                info,
                8,
                entsize,
            )
        )
    shoff = 64 + len(body)
    header = struct.pack(
        "<16sHHIQQQIHHHHHH",
        b"\x7fELF\x02\x01\x01" + b"\0" * 9,
        1,
        247,
        1,
        0,
        0,
        shoff,
        0,
        64,
        0,
        0,
        64,
        len(headers),
        len(headers) - 1,
    )
    return header + body + b"".join(headers)


def _btf_type(kind: int, name: int, vlen: int, kflag: bool, ref: int, extra: list[int]) -> bytes:
    extra = extra or [0]
    info = (int(kflag) << 31) | ((kind & 0x1F) << 24) | vlen
    out = struct.pack("<III", name, info, ref)
    if kind in (1, 14, 17):  # INT, VAR, DECL_TAG: one u32
        out += struct.pack("<I", extra[0] & 0xFFFFFFFF)
    elif kind == 3:  # ARRAY
        out += struct.pack("<III", *(e & 0xFFFFFFFF for e in extra[:3]))
    elif kind in (4, 5, 15, 19):  # STRUCT, UNION, DATASEC, ENUM64: 12-byte items
        for i in range(vlen):
            out += struct.pack(
                "<III", *(extra[(3 * i + j) % len(extra)] & 0xFFFFFFFF for j in range(3))
            )
    elif kind in (6, 13):  # ENUM, FUNC_PROTO: 8-byte items
        for i in range(vlen):
            out += struct.pack(
                "<II", *(extra[(2 * i + j) % len(extra)] & 0xFFFFFFFF for j in range(2))
            )
    return out


@st.composite
def btf_blobs(draw: st.DrawFn, with_maps: bool = False) -> bytes:
    """BTF whose records are well formed but whose references go anywhere (loops,
    self-containing structs, VARs of functions...), plus .data and .maps DATASECs."""
    count = draw(st.integers(1, 10))
    total = count + 2
    refs = st.integers(0, total + 1)
    names = st.sampled_from(_OFFSETS) | st.integers(0, len(_STRINGS) + 4)

    def items(n: int, third: st.SearchStrategy[int]) -> list[int]:
        out: list[int] = []
        for _ in range(n):
            out += [draw(names), draw(refs), draw(third)]
        return out

    types = b""
    for _ in range(count):
        kind = draw(st.integers(1, 19) if draw(st.integers(0, 19)) else st.integers(0, 31))
        vlen = draw(st.integers(0, 4))
        kflag = draw(st.booleans())
        ref = draw(refs | st.sampled_from([1, 2, 4, 8, 16]))
        if kind == 1:
            extra = [draw(st.integers(0, 0x0F000000) | st.integers(0, 200))]
        elif kind == 3:
            extra = [draw(refs), draw(refs), draw(st.integers(0, 5) | st.just(2**31))]
        elif kind in (4, 5):
            extra = items(vlen, st.integers(0, 256) | st.integers(0, 2**32 - 1))
        elif kind in (6, 13):
            flat = items(vlen, st.just(0))
            extra = [v for i, v in enumerate(flat) if i % 3 != 2]
        elif kind == 19:
            extra = items(vlen, st.integers(0, 2**32 - 1))
        elif kind == 15:
            extra = []
            for _ in range(vlen):
                extra += [draw(refs), draw(st.integers(0, 40)), draw(st.integers(0, 40))]
        else:
            extra = [draw(st.integers(0, 2) | st.integers(-1, 5))]
        types += _btf_type(kind, draw(names), vlen, kflag, ref, extra or [0, 0, 0])
    # A static VAR of a random type in .data, so values get decoded.
    var_id = count + 1
    types += _btf_type(14, _OFFSETS[11], 0, False, draw(refs), [0])
    types += _btf_type(15, _OFFSETS[12], 1, False, 0, [var_id, 0, draw(st.integers(0, 32))])
    if with_maps:
        types += _btf_type(15, _OFFSETS[13], 1, False, 0, [draw(refs), 0, 8])
    header = struct.pack("<HBBIIIII", 0xEB9F, 1, 0, 24, 0, len(types), len(types), len(_STRINGS))
    return header + types + _STRINGS


@st.composite
def generated_objects(draw: st.DrawFn) -> bytes:
    with_maps = draw(st.booleans())
    btf = draw(btf_blobs(with_maps))
    code = b"".join(
        struct.pack(
            "<BBhi",
            draw(st.sampled_from([0xB7, 0x18, 0x00, 0x85, 0x95, 0x61])),
            draw(st.integers(0, 255)),
            0,
            draw(st.integers(-2, 40)),
        )
        for _ in range(draw(st.integers(1, 4)))
    )
    code += struct.pack("<BBhi", 0x95, 0, 0, 0)
    data = draw(st.binary(min_size=0, max_size=32))
    # Symbols: null, the program, a global in .data, an object in .maps.
    strtab = b"\0prog\0x\0loop\0"
    symtab = struct.pack("<IBBHQQ", 0, 0, 0, 0, 0, 0)
    symtab += struct.pack("<IBBHQQ", 1, 0x12, 0, 1, 0, len(code))
    symtab += struct.pack("<IBBHQQ", 6, 0x11, 0, 2, 0, len(data))
    symtab += struct.pack("<IBBHQQ", 8, 0x11, 0, 3, 0, 8)
    relocs = struct.pack("<QQ", 0, (draw(st.integers(0, 4)) << 32) | 1)
    sections = [
        ("xdp", 1, 6, code, 0, 0, 0),  # 1
        (".data", 1, 3, data, 0, 0, 0),  # 2
        (".maps" if with_maps else ".rodata", 1, 3, b"\0" * 8, 0, 0, 0),  # 3
        (".BTF", 1, 0, btf, 0, 0, 0),  # 4
        (".strtab", 3, 0, strtab, 0, 0, 0),  # 5
        (".symtab", 2, 0, symtab, 5, 1, 24),  # 6
        (".relxdp", 9, 0, relocs, 6, 1, 16),  # 7
    ]
    return build_elf(sections)


def test_generated_object_is_readable() -> None:
    code = struct.pack("<BBhi", 0x95, 0, 0, 0)
    strtab = b"\0prog\0"
    symtab = struct.pack("<IBBHQQ", 0, 0, 0, 0, 0, 0) + struct.pack("<IBBHQQ", 1, 0x12, 0, 1, 0, 8)
    blob = build_elf(
        [
            ("xdp", 1, 6, code, 0, 0, 0),
            (".strtab", 3, 0, strtab, 0, 0, 0),
            (".symtab", 2, 0, symtab, 2, 1, 24),
        ]
    )
    spec = read_object(blob)
    assert list(spec.programs) == ["prog"] and spec.programs["prog"].insn_count == 1


@settings(FAST, max_examples=900)
@given(blob=generated_objects())
def test_generated_objects_and_type_loops(blob: bytes) -> None:
    exercise(blob)


def test_type_loops_are_reported() -> None:
    # typedef 1 -> const 2 -> typedef 1, and a VAR of it in .data.
    types = (
        _btf_type(8, _OFFSETS[16], 0, False, 2, [0])
        + _btf_type(10, 0, 0, False, 1, [0])
        + _btf_type(14, _OFFSETS[11], 0, False, 1, [0])
        + _btf_type(15, _OFFSETS[12], 1, False, 4, [3, 0, 4])
    )
    btf = (
        struct.pack("<HBBIIIII", 0xEB9F, 1, 0, 24, 0, len(types), len(types), len(_STRINGS))
        + types
        + _STRINGS
    )
    blob = build_elf([(".data", 1, 3, b"\1\2\3\4", 0, 0, 0), (".BTF", 1, 0, btf, 0, 0, 0)])
    with pytest.raises(ObjectFormatError) as info:
        read_object(blob)
    assert info.value.section == ".BTF" and info.value.offset is not None
    assert "loop" in str(info.value)


def test_an_array_of_two_billion_empty_structs_costs_no_memory() -> None:
    # Found by the generated objects: a .data VAR of `struct {} x[2**31]` is 0 bytes,
    # so its 0 bytes of data "fit", and decoding it as a list ate gigabytes.
    types = (
        _btf_type(4, 0, 0, False, 0, [0])  # 1: struct {} (size 0)
        + _btf_type(1, 0, 0, False, 4, [32])  # 2: a 32-bit int, the index type
        + _btf_type(3, 0, 0, False, 0, [1, 2, 2**31])  # 3: struct {}[2**31]
        + _btf_type(14, _OFFSETS[11], 0, False, 3, [0])  # 4: VAR of it
        + _btf_type(15, _OFFSETS[12], 1, False, 0, [4, 0, 0])  # 5: .data
    )
    btf = (
        struct.pack("<HBBIIIII", 0xEB9F, 1, 0, 24, 0, len(types), len(types), len(_STRINGS))
        + types
        + _STRINGS
    )
    spec = read_object(build_elf([(".data", 1, 3, b"", 0, 0, 0), (".BTF", 1, 0, btf, 0, 0, 0)]))
    (var,) = spec.globals.values()
    assert var.size == 0 and var.value == b""


def test_a_variable_larger_than_its_bss_is_an_object_error() -> None:
    # A section without file bytes (SHT_NOBITS) and a VAR claiming 2 GiB of it: the zero
    # initial value would be allocated in full, so the header's size bounds it first.
    types = (
        _btf_type(1, 0, 0, False, 1, [8])  # 1: an 8-bit int
        + _btf_type(3, 0, 0, False, 0, [1, 1, 2**31])  # 2: u8[2**31]
        + _btf_type(14, _OFFSETS[11], 0, False, 2, [0])  # 3: VAR of it
        + _btf_type(15, _OFFSETS[12], 1, False, 0, [3, 0, 2**31])  # 4: .data
    )
    btf = (
        struct.pack("<HBBIIIII", 0xEB9F, 1, 0, 24, 0, len(types), len(types), len(_STRINGS))
        + types
        + _STRINGS
    )
    blob = build_elf([(".data", 8, 3, b"", 0, 0, 0), (".BTF", 1, 0, btf, 0, 0, 0)])
    with pytest.raises(ObjectFormatError) as info:
        read_object(blob)
    assert info.value.section == ".data" and "outside its section" in str(info.value)
