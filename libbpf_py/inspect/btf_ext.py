"""Read a ``.BTF.ext`` section: function info, line info and CO-RE relocation records.

Each record names its ELF section by a ``.BTF`` string offset and its instruction by a
byte offset inside that section, exactly as clang wrote them (libbpf later turns byte
offsets into instruction indexes; here they stay byte offsets).
"""

from __future__ import annotations

import enum
import struct
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeVar

from libbpf_py.btf.reader import BTF_MAGIC, Btf
from libbpf_py.errors import ObjectFormatError

__all__ = ["BtfExt", "CoreKind", "CoreRecord", "FuncInfo", "LineInfo", "read_btf_ext"]

SECTION = ".BTF.ext"
_T = TypeVar("_T")


class CoreKind(enum.IntEnum):
    """A CO-RE relocation kind (``enum bpf_core_relo_kind``)."""

    FIELD_BYTE_OFFSET = 0
    FIELD_BYTE_SIZE = 1
    FIELD_EXISTS = 2
    FIELD_SIGNED = 3
    FIELD_LSHIFT_U64 = 4
    FIELD_RSHIFT_U64 = 5
    TYPE_ID_LOCAL = 6
    TYPE_ID_TARGET = 7
    TYPE_EXISTS = 8
    TYPE_SIZE = 9
    ENUMVAL_EXISTS = 10
    ENUMVAL_VALUE = 11
    TYPE_MATCHES = 12

    @property
    def is_field(self) -> bool:
        """Whether the relocation is about a struct/union field."""
        return self <= CoreKind.FIELD_RSHIFT_U64

    @property
    def is_enumval(self) -> bool:
        """Whether the relocation is about an enumerator."""
        return self in (CoreKind.ENUMVAL_EXISTS, CoreKind.ENUMVAL_VALUE)


@dataclass(slots=True)
class FuncInfo:
    """``bpf_func_info``: the FUNC type of the function starting at ``insn_off`` bytes."""

    section: str
    insn_off: int
    type_id: int


@dataclass(slots=True)
class LineInfo:
    """``bpf_line_info``: the source position of the instruction at ``insn_off`` bytes."""

    section: str
    insn_off: int
    file: str
    line_text: str
    line: int
    column: int


@dataclass(slots=True)
class CoreRecord:
    """``bpf_core_relo`` as stored: root type, access string and kind."""

    section: str
    insn_off: int
    type_id: int
    access: str
    kind: CoreKind


@dataclass(slots=True)
class BtfExt:
    """The three record tables of ``.BTF.ext``, each grouped by ELF section name."""

    func_info: dict[str, list[FuncInfo]] = field(default_factory=dict)
    line_info: dict[str, list[LineInfo]] = field(default_factory=dict)
    core_relocs: dict[str, list[CoreRecord]] = field(default_factory=dict)


def _fail(message: str, offset: int) -> ObjectFormatError:
    return ObjectFormatError(message, section=SECTION, offset=offset)


def read_btf_ext(data: bytes, btf: Btf) -> BtfExt:
    """Parse the bytes of a ``.BTF.ext`` section; strings come from ``btf``."""
    if len(data) < 24:
        raise _fail(f"BTF.ext header needs 24 bytes, the section has {len(data)}", 0)
    endian = "<" if btf.byteorder == "little" else ">"
    magic, version, _flags, hdr_len = struct.unpack_from(endian + "HBBI", data)
    if magic != BTF_MAGIC:
        raise _fail(f"bad BTF.ext magic {magic:#06x}", 0)
    if version != 1:
        raise _fail(f"unsupported BTF.ext version {version}", 2)
    if hdr_len < 24 or hdr_len > len(data):
        raise _fail(f"BTF.ext header length {hdr_len} is invalid", 4)
    fi_off, fi_len, li_off, li_len = struct.unpack_from(endian + "IIII", data, 8)
    core_off = core_len = 0
    if hdr_len >= 32:
        core_off, core_len = struct.unpack_from(endian + "II", data, 24)
    ext = BtfExt()
    strings = btf.string_at

    def name(off: int, where: int) -> str:
        try:
            return strings(off)
        except ObjectFormatError:
            raise _fail(f"string offset {off} is outside the BTF string table", where) from None

    def func(sec: str, rec: tuple[int, ...], where: int) -> FuncInfo:
        return FuncInfo(sec, rec[0], rec[1])

    def line(sec: str, rec: tuple[int, ...], where: int) -> LineInfo:
        return LineInfo(
            sec, rec[0], name(rec[1], where), name(rec[2], where), rec[3] >> 10, rec[3] & 0x3FF
        )

    def core(sec: str, rec: tuple[int, ...], where: int) -> CoreRecord:
        try:
            kind = CoreKind(rec[3])
        except ValueError:
            raise _fail(f"unknown CO-RE relocation kind {rec[3]}", where + 12) from None
        return CoreRecord(sec, rec[0], rec[1], name(rec[2], where), kind)

    _read_table(
        data, hdr_len, fi_off, fi_len, 8, endian + "II", func, ext.func_info, name, "func info", 8
    )
    _read_table(
        data,
        hdr_len,
        li_off,
        li_len,
        16,
        endian + "IIII",
        line,
        ext.line_info,
        name,
        "line info",
        16,
    )
    if hdr_len >= 32:
        _read_table(
            data,
            hdr_len,
            core_off,
            core_len,
            16,
            endian + "IIII",
            core,
            ext.core_relocs,
            name,
            "CO-RE relocation",
            24,
        )
    return ext


def _read_table(
    data: bytes,
    hdr_len: int,
    off: int,
    length: int,
    min_rec: int,
    fmt: str,
    make: Callable[[str, tuple[int, ...], int], _T],
    out: dict[str, list[_T]],
    name: Callable[[int, int], str],
    what: str,
    header_field: int,
) -> None:
    if length == 0:
        return
    start = hdr_len + off
    end = start + length
    if end > len(data) or length < 4:
        raise _fail(f"{what} table ({off}+{length}) lies outside the section", header_field)
    endian = fmt[0]
    rec_size = struct.unpack_from(endian + "I", data, start)[0]
    if rec_size < min_rec or rec_size % 4:
        raise _fail(f"{what} record size {rec_size} is invalid (at least {min_rec})", start)
    rec = struct.Struct(fmt)
    pos = start + 4
    while pos < end:
        if pos + 8 > end:
            raise _fail(f"truncated {what} section header", pos)
        sec_off, count = struct.unpack_from(endian + "II", data, pos)
        sec = name(sec_off, pos)
        pos += 8
        if count == 0 or pos + count * rec_size > end:
            raise _fail(
                f"{what} block for {sec!r} has {count} records of {rec_size} bytes, "
                "which do not fit the table",
                pos - 4,
            )
        items = out.setdefault(sec, [])
        for _ in range(count):
            items.append(make(sec, rec.unpack_from(data, pos), pos))
            pos += rec_size
