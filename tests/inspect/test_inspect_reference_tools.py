"""Every corpus object against the reference tools of this machine: bpftool for BTF,
llvm-readelf for sections and symbols, llvm-objdump for the disassembly."""

from __future__ import annotations

import json
import struct
import subprocess
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from libbpf_py.errors import ObjectFormatError
from libbpf_py.inspect import ObjectSpec, read_object
from libbpf_py.inspect.disasm import disassemble
from libbpf_py.inspect.elf import read_elf
from libbpf_py.inspect.jsonout import btf_type_json
from tests.inspect.conftest import NAMES, tool


def run(*argv: str) -> str:
    return subprocess.run(argv, capture_output=True, text=True, check=True).stdout


def test_corpus_is_big_enough() -> None:
    assert len(NAMES) >= 25


@pytest.mark.parametrize("name", NAMES)
def test_btf_equals_bpftool(
    name: str, corpus: dict[str, Path], specs: dict[str, ObjectSpec]
) -> None:
    expected = json.loads(run(tool("bpftool"), "btf", "dump", "file", str(corpus[name]), "-j"))[
        "types"
    ]
    btf = specs[name].btf
    assert btf is not None
    mine = [btf_type_json(t) for t in btf.types[1:]]
    assert len(mine) == len(expected)
    for ours, theirs in zip(mine, expected, strict=True):
        assert ours == theirs, f"type {theirs['id']} differs"


def _readelf_json(path: Path, flag: str) -> Any:
    return json.loads(run(tool("llvm-readelf-19"), flag, "--elf-output-style=JSON", str(path)))[0]


@pytest.mark.parametrize("name", NAMES)
def test_sections_equal_readelf(name: str, corpus: dict[str, Path]) -> None:
    expected = [s["Section"] for s in _readelf_json(corpus[name], "-S")["Sections"]]
    elf = read_elf(corpus[name].read_bytes())
    assert len(elf.sections) == len(expected)
    for ours, theirs in zip(elf.sections, expected, strict=True):
        assert (
            ours.index,
            ours.name,
            ours.type,
            ours.flags,
            ours.offset,
            ours.size,
            ours.link,
            ours.info,
            ours.addralign,
            ours.entsize,
        ) == (
            theirs["Index"],
            theirs["Name"]["Name"],
            theirs["Type"]["Value"],
            theirs["Flags"]["Value"],
            theirs["Offset"],
            theirs["Size"],
            theirs["Link"],
            theirs["Info"],
            theirs["AddressAlignment"],
            theirs["EntrySize"],
        )


@pytest.mark.parametrize("name", NAMES)
def test_symbols_equal_readelf(name: str, corpus: dict[str, Path]) -> None:
    expected = [s["Symbol"] for s in _readelf_json(corpus[name], "-s")["Symbols"]]
    elf = read_elf(corpus[name].read_bytes())
    assert len(elf.symbols) == len(expected)
    for ours, theirs in zip(elf.symbols, expected, strict=True):
        # readelf shows a section symbol under its section's name.
        name = ours.name or (elf.sections[ours.shndx].name if ours.type == 3 else "")
        assert (name, ours.value, ours.size, ours.type, ours.bind, ours.visibility, ours.shndx) == (
            theirs["Name"]["Name"],
            theirs["Value"],
            theirs["Size"],
            theirs["Type"]["Value"],
            theirs["Binding"]["Value"],
            theirs["Other"]["Value"] & 3,
            theirs["Section"]["Value"],
        )


def objdump_text(path: Path) -> dict[str, dict[int, str]]:
    """llvm-objdump -d: section -> {instruction index: text after the bytes}."""
    out = run(tool("llvm-objdump-19"), "-d", str(path))
    result: dict[str, dict[int, str]] = {}
    section = None
    for line in out.splitlines():
        if line.startswith("Disassembly of section "):
            section = line[len("Disassembly of section ") : -1]
            result[section] = {}
            continue
        parts = line.split("\t")
        head = parts[0].strip()
        if section is not None and len(parts) >= 3 and head[:-1].isdigit() and head.endswith(":"):
            result[section][int(head[:-1])] = "\t".join(parts[2:]).strip()
    return result


def our_text(spec: ObjectSpec) -> dict[str, dict[int, str]]:
    functions = [*spec.programs.values(), *spec.subprograms.values()]
    result: dict[str, dict[int, str]] = {}
    for f in functions:
        for line in disassemble(f, functions, style="llvm"):
            index, text = line.split(":\t", 1)
            result.setdefault(f.section, {})[int(index)] = text
    return result


@pytest.mark.parametrize("name", NAMES)
def test_disassembly_equals_objdump(
    name: str, corpus: dict[str, Path], specs: dict[str, ObjectSpec]
) -> None:
    expected = objdump_text(corpus[name])
    ours = our_text(specs[name])
    assert ours.keys() == expected.keys()
    for section, lines in expected.items():
        assert ours[section] == lines, f"section {section}"


def test_reading_twice_gives_the_same_spec(corpus: dict[str, Path]) -> None:
    path = corpus["tp_execve"]
    a, b = read_object(path.read_bytes(), path.name), read_object(path.read_bytes(), path.name)
    assert a.programs.keys() == b.programs.keys() and a.maps == b.maps


_CODES = st.integers(0, 255) | st.sampled_from(
    [
        0xDB,
        0xC3,
        0x18,
        0xBF,
        0xBC,
        0xD7,
        0xD4,
        0xDC,
        0x95,
        0x85,
        0x8D,
        0xE5,
        0x06,
        0x3F,
        0x9C,
        0x81,
        0x91,
    ]
)
_IMMS = st.integers(-(2**31), 2**31 - 1) | st.sampled_from(
    [0, 1, 16, 32, 64, 0x41, 0x51, 0xA1, 0xE1, 0xF1, 0x1000A0, -1]
)


@st.composite
def _instruction(draw: st.DrawFn) -> bytes:
    code = draw(_CODES)
    regs = draw(st.integers(0, 255))
    off = draw(st.integers(-(2**15), 2**15 - 1) | st.sampled_from([0, 1, 8, 16, 32, -1]))
    if code == 0x18:
        # llvm-objdump reads a malformed ld_imm64 (off set, dst > r11) as one 8-byte slot,
        # the kernel and this library as two; only well-formed ones are comparable.
        off, regs = 0, regs & 0xF7
    return struct.pack("<BBhi", code, regs, off, draw(_IMMS))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_random_instructions_equal_objdump(
    corpus: dict[str, Path], tmp_path_factory: pytest.TempPathFactory, data: st.DataObject
) -> None:
    template = corpus["insn_classes"].read_bytes()
    sec = read_elf(template).by_name["socket"]
    slots = sec.size // 8
    body = b"".join(data.draw(_instruction()) for _ in range(slots))
    if _cut_ld_imm64(body):
        body = body[:-8] + struct.pack("<BBhi", 0x95, 0, 0, 0)
    blob = bytearray(template)
    blob[sec.offset : sec.offset + sec.size] = body
    path = tmp_path_factory.mktemp("rand") / "rand.bpf.o"
    path.write_bytes(bytes(blob))
    try:
        spec = read_object(bytes(blob))
    except ObjectFormatError:
        return  # an ld_imm64 crossing a function end: not a valid program to compare
    ours, theirs = our_text(spec)["socket"], objdump_text(path)["socket"]
    for index, text in theirs.items():
        assert ours[index] == text, f"slot {index}: {body[8 * index : 8 * index + 8].hex()}"
    # llvm-objdump prints "..." for runs of all-zero slots instead of disassembling them.
    for index in ours.keys() - theirs.keys():
        assert body[8 * index : 8 * index + 8] == bytes(8)


def _cut_ld_imm64(body: bytes) -> bool:
    """Whether an ld_imm64 starts in the last slot (it would lack its second half)."""
    pos = 0
    codes = body[0::8]
    while pos < len(codes):
        pos += 2 if codes[pos] == 0x18 else 1
    return pos > len(codes)


def test_big_endian_object(tmp_path: Path, specs: dict[str, ObjectSpec]) -> None:
    from libbpf_py import compile
    from tests.inspect.conftest import CORPUS

    path = compile(
        CORPUS / "globals_all.bpf.c", tmp_path / "globals_all.bpf.o", cflags=("-target", "bpfeb")
    )
    big = read_object(path.read_bytes(), path.name)
    little = specs["globals_all"]
    assert big.endianness == "big" and little.endianness == "little"
    assert {k: g.value for k, g in big.globals.items()} == {
        k: g.value for k, g in little.globals.items()
    }
    assert [(m.name, m.value_size, m.flags) for m in big.maps.values()] == [
        (m.name, m.value_size, m.flags) for m in little.maps.values()
    ]
    expected = json.loads(run(tool("bpftool"), "btf", "dump", "file", str(path), "-j"))
    assert big.btf is not None
    assert [btf_type_json(t) for t in big.btf.types[1:]] == expected["types"]
    assert our_text(big) == objdump_text(path)
