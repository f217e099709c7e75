"""Assemble an :class:`ObjectSpec` from the ELF, BTF and BTF.ext readers."""

from __future__ import annotations

import os
import struct

from libbpf_py.btf.kinds import Datasec, Var
from libbpf_py.btf.reader import Btf, read_btf
from libbpf_py.enums import ProgType
from libbpf_py.errors import NameTable, ObjectFormatError

from .btf_ext import BtfExt, read_btf_ext
from .core import describe_core
from .datasec import find_datasec, place_vars
from .elf import SHT_PROGBITS, ElfObject, Section, Symbol, read_elf
from .insn import InstructionList
from .maps import btf_maps, data_section_kind, internal_maps, legacy_maps, struct_ops_maps
from .sections import match_section
from .spec import (
    MapSpec,
    ObjectSpec,
    ProgramSpec,
    Relocation,
    RelocationKind,
    SourceLine,
)
from .variables import kconfig_size, read_globals

__all__ = ["object_name", "read_object"]

_STT_FUNC = 2
_STT_SECTION = 3
_CALL = 0x85
_LD_IMM64 = 0x18
_PSEUDO_CALL = 1
_OBJ_NAME_LEN = 16


def object_name(path_or_name: str) -> str:
    """libbpf's object name for a file: its base name up to the first dot, 15 chars."""
    base = os.path.basename(path_or_name)
    return base.split(".", 1)[0][: _OBJ_NAME_LEN - 1]


def read_object(data: bytes, name: str | None = None) -> ObjectSpec:
    """Inspect the bytes of a compiled BPF object.

    ``name`` is the file's name or path (libbpf derives the object name, which prefixes
    internal map names, from it); without one the object is called ``"obj"``.
    Malformed input raises :class:`~libbpf_py.errors.ObjectFormatError`.
    """
    data = bytes(data)
    obj_name = object_name(name) if name else "obj"
    elf = read_elf(data)
    btf = _read_btf(elf)
    ext = _read_ext(elf, btf)
    programs: dict[str, ProgramSpec] = {}
    subprograms: dict[str, ProgramSpec] = {}
    funcs = _functions(elf)
    for sec, sym in funcs:
        spec = _program(elf, btf, ext, sec, sym, funcs)
        (subprograms if sec.name == ".text" else programs)[sym.name] = spec
    maps: dict[str, MapSpec] = {}
    legacy = legacy_maps(elf)
    for m in (
        *btf_maps(elf, btf),
        *legacy,
        *internal_maps(elf, btf, obj_name, kconfig_size(btf)),
        *struct_ops_maps(elf, btf),
    ):
        maps.setdefault(m.name, m)
    # Looked up by name, each says what exists when a name is not there.
    where = f"object {obj_name}"
    return ObjectSpec(
        name=obj_name,
        endianness=elf.byteorder,
        license=_license(elf),
        kern_version=_kern_version(elf),
        programs=NameTable(programs.items(), kind="program", where=where),
        maps=NameTable(maps.items(), kind="map", where=where),
        globals=NameTable(read_globals(elf, btf).items(), kind="global variable", where=where),
        subprograms=NameTable(subprograms.items(), kind="subprogram", where=where),
        btf=btf,
        has_legacy_maps=bool(legacy) or "maps" in elf.by_name,
        sections=[s.name for s in elf.sections],
    )


def _read_btf(elf: ElfObject) -> Btf | None:
    sec = elf.by_name.get(".BTF")
    if sec is None:
        return None
    if sec.type != SHT_PROGBITS:
        raise ObjectFormatError(".BTF is not a PROGBITS section", section=".BTF", offset=0)
    return read_btf(sec.data)


def _read_ext(elf: ElfObject, btf: Btf | None) -> BtfExt:
    sec = elf.by_name.get(".BTF.ext")
    if sec is None:
        return BtfExt()
    if btf is None:
        raise ObjectFormatError(
            ".BTF.ext without .BTF (its strings live there)", section=".BTF.ext", offset=0
        )
    return read_btf_ext(sec.data, btf)


def _license(elf: ElfObject) -> str | None:
    sec = elf.by_name.get("license")
    if sec is None:
        return None
    raw = sec.data.split(b"\0", 1)[0]
    return raw.decode("utf-8", "replace")


def _kern_version(elf: ElfObject) -> int | None:
    sec = elf.by_name.get("version")
    if sec is None:
        return None
    if len(sec.data) != 4:
        raise ObjectFormatError(
            f"version section has {len(sec.data)} bytes, not 4", section="version", offset=0
        )
    return int(struct.unpack(elf.endian + "I", sec.data)[0])


def _functions(elf: ElfObject) -> list[tuple[Section, Symbol]]:
    """Every FUNC symbol in an executable section, by section then symbol order."""
    by_section: dict[int, list[Symbol]] = {}
    for sym in elf.symbols:
        if sym.type == _STT_FUNC and sym.is_defined:
            by_section.setdefault(sym.shndx, []).append(sym)
    out = []
    for sec in elf.sections:
        if not sec.is_program:
            continue
        for sym in by_section.get(sec.index, ()):
            if sym.value % 8 or sym.size % 8 or sym.size == 0 or sym.value + sym.size > sec.size:
                raise ObjectFormatError(
                    f"function {sym.name!r} ({sym.value:#x}+{sym.size:#x}) is misaligned or "
                    "crosses its section's end",
                    section=sec.name,
                    offset=sym.value,
                )
            out.append((sec, sym))
    return out


def _program(
    elf: ElfObject,
    btf: Btf | None,
    ext: BtfExt,
    sec: Section,
    sym: Symbol,
    funcs: list[tuple[Section, Symbol]],
) -> ProgramSpec:
    start, end = sym.value, sym.value + sym.size
    insns = InstructionList(sec.data[start:end], elf.byteorder, sec.name, start)
    rule = match_section(sec.name)
    is_sub = sec.name == ".text"
    spec = ProgramSpec(
        name=sym.name,
        section=sec.name,
        type=ProgType.UNSPEC if is_sub else rule.type,
        expected_attach_type=None if is_sub else rule.expected_attach_type,
        attach_target=None if is_sub else rule.attach_target,
        autoload=rule.autoload,
        sleepable=rule.sleepable,
        is_global=sym.bind != 0,
        offset=start,
        insn_count=sym.size // 8,
        instructions=insns,
    )
    wide = set(insns.ld_imm64_slots)
    for line in ext.line_info.get(sec.name, ()):
        if start <= line.insn_off < end:
            spec.lines.append(
                SourceLine(
                    (line.insn_off - start) // 8, line.file, line.line, line.column, line.line_text
                )
            )
    for fi in ext.func_info.get(sec.name, ()):
        if fi.insn_off == start:
            spec.func_type_id = fi.type_id
    if btf is not None:
        for rec in ext.core_relocs.get(sec.name, ()):
            if start <= rec.insn_off < end:
                spec.core_relocations.append(
                    describe_core(btf, rec, sym.name, (rec.insn_off - start) // 8)
                )
    for r in elf.relocations(sec.index):
        if start <= r.offset < end:
            slot = (r.offset - start) // 8
            if r.offset % 8 or slot - 1 in wide:
                raise ObjectFormatError(
                    f"relocation at {r.offset:#x} does not point at the start of an instruction",
                    section=".rel" + sec.name,
                    offset=r.offset,
                )
            code, imm = sec.data[r.offset], _imm(sec.data, r.offset, elf.endian)
            rel = _relocation(elf, btf, code, imm, elf.symbols[r.symbol], r.offset, start, funcs)
            spec.relocations.append(rel)
            if rel.kind == RelocationKind.CALL and rel.target not in spec.calls:
                spec.calls.append(rel.target)
    return spec


def _function_at(funcs: list[tuple[Section, Symbol]], shndx: int, offset: int) -> str | None:
    for sec, sym in funcs:
        if sec.index == shndx and sym.value == offset:
            return sym.name
    return None


def _var_at(elf: ElfObject, btf: Btf | None, section: str, offset: int) -> str | None:
    ds = find_datasec(btf, section)
    if btf is None or ds is None:
        return None
    for v in place_vars(elf, btf, ds):
        if v.offset <= offset < v.offset + max(v.size, 1):
            return v.var.name if v.offset == offset else f"{v.var.name}+{offset - v.offset}"
    return None


def _extern_kind(btf: Btf | None, name: str) -> RelocationKind:
    if btf is not None:
        for type_id in btf.ids_by_name(name):
            if isinstance(btf.types[type_id], Var):
                for ds_id in btf.ids_by_name(".kconfig"):
                    ds = btf.types[ds_id]
                    if isinstance(ds, Datasec) and any(v.type_id == type_id for v in ds.vars):
                        return RelocationKind.KCONFIG
                return RelocationKind.KSYM
    return RelocationKind.KCONFIG if name.startswith(("CONFIG_", "LINUX_")) else RelocationKind.KSYM


def _imm(code: bytes, offset: int, endian: str) -> int:
    return int(struct.unpack_from(endian + "i", code, offset + 4)[0])


def _relocation(
    elf: ElfObject,
    btf: Btf | None,
    code: int,
    imm: int,
    sym: Symbol,
    offset: int,
    start: int,
    funcs: list[tuple[Section, Symbol]],
) -> Relocation:
    index = (offset - start) // 8
    target_sec = elf.section(sym.shndx) if sym.is_defined else None
    kind = RelocationKind.OTHER
    target = sym.name
    if target_sec is None:
        kind = RelocationKind.KFUNC if code == _CALL else _extern_kind(btf, sym.name)
    elif target_sec.name in (".maps", "maps"):
        kind = RelocationKind.MAP
    elif target_sec.is_program:
        if code == _CALL:
            kind = RelocationKind.CALL
            where = sym.value + (imm + 1) * 8 if sym.type == _STT_SECTION else sym.value
        else:
            kind = RelocationKind.FUNC_POINTER
            where = sym.value + imm if sym.type == _STT_SECTION else sym.value
        target = _function_at(funcs, target_sec.index, where) or f"{target_sec.name}+{where:#x}"
    elif data_section_kind(target_sec) is not None or target_sec.name in (".kconfig",):
        kind = RelocationKind.GLOBAL
        if sym.type == _STT_SECTION:
            where = sym.value + (imm if code == _LD_IMM64 else 0)
            target = _var_at(elf, btf, target_sec.name, where) or f"{target_sec.name}+{where:#x}"
    elif target_sec.name == ".addr_space.1":
        kind = RelocationKind.ARENA
    section = target_sec.name if target_sec is not None else ""
    return Relocation(
        index=index,
        kind=kind,
        symbol=sym.name or section,
        target=target,
        section=section,
        offset=offset,
    )
