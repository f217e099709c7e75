"""Read a ``.BTF`` section: header, string table and every type, with lookups.

The layout is the kernel's (``include/uapi/linux/btf.h``). Every malformed byte raises
:class:`~libbpf_py.errors.ObjectFormatError` with the section and the offset inside it.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from itertools import accumulate

from libbpf_py.errors import ObjectFormatError

from .kinds import (
    Array,
    BtfKind,
    BtfType,
    Datasec,
    DeclTag,
    Enum,
    EnumValue,
    Float,
    Func,
    FuncProto,
    Fwd,
    Int,
    Linkage,
    Member,
    Param,
    Ptr,
    Qualifier,
    Struct,
    Var,
    VarSecinfo,
    Void,
)

__all__ = ["BTF_MAGIC", "Btf", "read_btf"]

BTF_MAGIC = 0xEB9F
SECTION = ".BTF"
# Type chains (typedef -> const -> ...) deeper than this are treated as loops; the
# kernel's own limit is 32.
MAX_CHAIN = 64
_QUALIFIERS = frozenset(
    {BtfKind.TYPEDEF, BtfKind.VOLATILE, BtfKind.CONST, BtfKind.RESTRICT, BtfKind.TYPE_TAG}
)
_MODIFIERS = frozenset({BtfKind.VOLATILE, BtfKind.CONST, BtfKind.RESTRICT, BtfKind.TYPE_TAG})
_KINDS = tuple(BtfKind)


def _fail(message: str, offset: int) -> ObjectFormatError:
    return ObjectFormatError(message, section=SECTION, offset=offset)


class Btf:
    """The types and strings of one ``.BTF`` section.

    ``types[i]`` is the type with id ``i`` (id 0 is ``void``). ``offsets[i]`` is where
    its record starts inside the section, for error messages.
    """

    def __init__(
        self,
        types: list[BtfType],
        offsets: list[int],
        strings: bytes,
        str_base: int,
        byteorder: str,
    ) -> None:
        self.types = types
        self.offsets = offsets
        self.strings = strings
        self._str_base = str_base
        self.byteorder = byteorder
        self._by_name: dict[str, list[int]] | None = None

    def __len__(self) -> int:
        return len(self.types)

    def __iter__(self) -> Iterator[BtfType]:
        return iter(self.types)

    def __getitem__(self, type_id: int) -> BtfType:
        return self.type_by_id(type_id)

    def type_by_id(self, type_id: int) -> BtfType:
        """The type with this id; ``KeyError`` if there is none."""
        if 0 <= type_id < len(self.types):
            return self.types[type_id]
        raise KeyError(f"no BTF type with id {type_id} (there are {len(self.types)})")

    def ids_by_name(self, name: str) -> list[int]:
        """The ids of every type called ``name`` (several kinds may share a name)."""
        if self._by_name is None:
            by_name: dict[str, list[int]] = {}
            for t in self.types:
                if t.name:
                    by_name.setdefault(t.name, []).append(t.id)
            self._by_name = by_name
        return list(self._by_name.get(name, ()))

    def find(self, name: str, kind: BtfKind | None = None) -> BtfType:
        """The first type called ``name`` (of ``kind`` if given); ``KeyError`` if none."""
        for type_id in self.ids_by_name(name):
            t = self.types[type_id]
            if kind is None or t.kind == kind:
                return t
        what = f"{kind.name} " if kind is not None else ""
        raise KeyError(f"no BTF {what}type named {name!r}")

    def skip_qualifiers(self, type_id: int) -> BtfType:
        """Follow typedefs and modifiers from ``type_id`` to the type they name."""
        return self._follow(type_id, _QUALIFIERS)

    def skip_modifiers(self, type_id: int) -> BtfType:
        """Follow const/volatile/restrict/type tags (not typedefs) from ``type_id``."""
        return self._follow(type_id, _MODIFIERS)

    def _follow(self, type_id: int, kinds: frozenset[BtfKind]) -> BtfType:
        t = self.type_by_id(type_id)
        for _ in range(MAX_CHAIN):
            if t.kind not in kinds:
                return t
            assert isinstance(t, Qualifier)
            t = self.type_by_id(t.type_id)
        raise _fail(
            f"BTF type chain from id {type_id} loops or is deeper than {MAX_CHAIN}",
            self.offset_of(type_id),
        )

    def offset_of(self, type_id: int) -> int:
        """Where the record of ``type_id`` starts in the section (0 if there is none)."""
        return self.offsets[type_id] if 0 <= type_id < len(self.offsets) else 0

    def size_of(self, type_id: int) -> int:
        """The size in bytes of a value of this type (as ``sizeof`` in C)."""
        return self._size_of(type_id, 0)

    def _size_of(self, type_id: int, depth: int) -> int:
        if depth > MAX_CHAIN:
            raise _fail(
                f"BTF type {type_id} nests deeper than {MAX_CHAIN}", self.offset_of(type_id)
            )
        t = self.skip_qualifiers(type_id)
        if isinstance(t, Int | Struct | Enum | Float | Datasec):
            return t.size
        if isinstance(t, Ptr):
            return 8
        if isinstance(t, Array):
            return t.nelems * self._size_of(t.type_id, depth + 1)
        if isinstance(t, Var):
            return self._size_of(t.type_id, depth + 1)
        raise _fail(f"BTF type {type_id} ({t.kind.name}) has no size", self.offset_of(type_id))

    def align_of(self, type_id: int) -> int:
        """The alignment of a value of this type, as the BPF target lays it out."""
        return self._align_of(type_id, 0)

    def _align_of(self, type_id: int, depth: int) -> int:
        if depth > MAX_CHAIN:
            raise _fail(
                f"BTF type {type_id} nests deeper than {MAX_CHAIN}", self.offset_of(type_id)
            )
        t = self.skip_qualifiers(type_id)
        if isinstance(t, Int | Enum | Float):
            return min(8, max(1, t.size))
        if isinstance(t, Ptr):
            return 8
        if isinstance(t, Array):
            return self._align_of(t.type_id, depth + 1)
        if isinstance(t, Struct):
            return max((self._align_of(m.type_id, depth + 1) for m in t.members), default=1)
        raise _fail(f"BTF type {type_id} ({t.kind.name}) has no alignment", self.offset_of(type_id))

    def string_at(self, offset: int) -> str:
        """The NUL-terminated string at ``offset`` of the string table."""
        return _string(self.strings, offset, self._str_base)


def _string(strings: bytes, offset: int, base: int) -> str:
    end = strings.find(b"\0", offset)
    if offset >= len(strings) or end < 0:
        raise _fail(
            f"string offset {offset} is outside the BTF string table ({len(strings)} bytes)",
            base + min(offset, len(strings)),
        )
    return strings[offset:end].decode("utf-8", "replace")


def _vlen_struct(name: str, endian: str) -> struct.Struct:
    return struct.Struct(endian + name)


def read_btf(data: bytes) -> Btf:
    """Parse the bytes of a ``.BTF`` section."""
    if len(data) < 24:
        raise _fail(f"BTF header needs 24 bytes, the section has {len(data)}", 0)
    magic_le = struct.unpack_from("<H", data)[0]
    if magic_le == BTF_MAGIC:
        endian, byteorder = "<", "little"
    elif struct.unpack_from(">H", data)[0] == BTF_MAGIC:
        endian, byteorder = ">", "big"
    else:
        raise _fail(f"bad BTF magic {magic_le:#06x} (expected {BTF_MAGIC:#06x})", 0)
    _, version, _flags, hdr_len, type_off, type_len, str_off, str_len = struct.unpack_from(
        endian + "HBBIIIII", data
    )
    if version != 1:
        raise _fail(f"unsupported BTF version {version}", 2)
    if hdr_len < 24 or hdr_len > len(data):
        raise _fail(f"BTF header length {hdr_len} is invalid", 4)
    body = len(data) - hdr_len
    if type_off + type_len > body or type_off % 4:
        raise _fail(
            f"BTF type section ({type_off}+{type_len}) lies outside the data "
            f"({body} bytes after the header)",
            8,
        )
    if str_off + str_len > body:
        raise _fail(
            f"BTF string section ({str_off}+{str_len}) lies outside the data "
            f"({body} bytes after the header)",
            16,
        )
    if str_len == 0 or data[hdr_len + str_off + str_len - 1] != 0:
        raise _fail("BTF string table is empty or not NUL-terminated", 16)
    if type_off < str_off + str_len and str_off < type_off + type_len:
        raise _fail("BTF type and string sections overlap", 8)
    str_base = hdr_len + str_off
    strings = bytes(data[str_base : str_base + str_len])
    types, offsets = _read_types(
        data, hdr_len + type_off, hdr_len + type_off + type_len, strings, str_base, endian
    )
    btf = Btf(types, offsets, strings, str_base, byteorder)
    _check_references(btf)
    return btf


def _read_types(
    data: bytes, start: int, end: int, strings: bytes, str_base: int, endian: str
) -> tuple[list[BtfType], list[int]]:
    head = struct.Struct(endian + "III").unpack_from
    u32 = struct.Struct(endian + "I").unpack_from
    i32 = struct.Struct(endian + "i").unpack_from
    three = struct.Struct(endian + "III")
    two = struct.Struct(endian + "II")
    enum32 = struct.Struct(endian + "Ii")
    # Names almost always start right after a NUL: split the table once (in C) and look
    # them up; a name pointing into the middle of a string takes the slow path.
    raw_pieces = strings.split(b"\0")
    starts = accumulate(map((1).__add__, map(len, raw_pieces)), initial=0)
    text = strings.decode("utf-8", "replace")
    if len(text) == len(strings):  # ASCII: decode once, split the same way
        pieces = text.split("\0")
    else:
        pieces = [p.decode("utf-8", "replace") for p in raw_pieces]
    cache: dict[int, str] = dict(zip(starts, pieces, strict=False))
    cache[0] = ""
    known = cache.get

    def name_at(off: int, where: int) -> str:
        s = known(off)
        if s is None:
            nul = strings.find(b"\0", off)
            if off >= len(strings) or nul < 0:
                raise _fail(
                    f"name offset {off} is outside the BTF string table ({len(strings)} bytes)",
                    where,
                )
            s = cache[off] = strings[off:nul].decode("utf-8", "replace")
        return s

    def items(fmt: struct.Struct, pos: int, count: int) -> list[tuple[int, ...]]:
        size = fmt.size * count
        if pos + size > end:
            raise _fail(
                f"BTF type at {pos - 12:#x} has {count} items running past the end "
                f"of the type section",
                pos,
            )
        return list(fmt.iter_unpack(data[pos : pos + size]))

    types: list[BtfType] = [Void(0, BtfKind.VOID, "void")]
    offsets = [start]
    pos = start
    kinds = _KINDS
    while pos < end:
        if pos + 12 > end:
            raise _fail("truncated BTF type record", pos)
        name_off, info, size_or_type = head(data, pos)
        kind_no = (info >> 24) & 0x1F
        vlen = info & 0xFFFF
        kflag = bool(info >> 31)
        type_id = len(types)
        record = pos
        if kind_no == 0 or kind_no >= len(kinds):
            raise _fail(f"BTF type {type_id} has unknown kind {kind_no}", pos)
        kind = kinds[kind_no]
        name = name_at(name_off, record) if name_off else ""
        pos += 12
        t: BtfType
        if kind == BtfKind.INT:
            if pos + 4 > end:
                raise _fail("truncated BTF INT", pos)
            enc = u32(data, pos)[0]
            pos += 4
            bits = enc & 0xFF
            encoding = (enc >> 24) & 0xF
            if bits > 128 or size_or_type not in (1, 2, 4, 8, 16):
                raise _fail(
                    f"BTF INT {type_id} has invalid size {size_or_type} or bit count {bits}", record
                )
            t = Int(
                type_id,
                kind,
                name,
                size_or_type,
                bool(encoding & 1),
                bool(encoding & 2),
                bool(encoding & 4),
                (enc >> 16) & 0xFF,
                bits,
            )
        elif kind == BtfKind.PTR:
            t = Ptr(type_id, kind, name, size_or_type)
        elif kind in _QUALIFIERS:
            t = Qualifier(type_id, kind, name, size_or_type)
        elif kind == BtfKind.ARRAY:
            if pos + 12 > end:
                raise _fail("truncated BTF ARRAY", pos)
            elem, index, nelems = three.unpack_from(data, pos)
            pos += 12
            t = Array(type_id, kind, name, elem, index, nelems)
        elif kind == BtfKind.STRUCT or kind == BtfKind.UNION:
            raw = items(three, pos, vlen)
            if kflag:
                members = [
                    Member(
                        known(n) or name_at(n, pos + 12 * i), m_type, m_off & 0xFFFFFF, m_off >> 24
                    )
                    for i, (n, m_type, m_off) in enumerate(raw)
                ]
            else:
                members = [
                    Member(known(n) or name_at(n, pos + 12 * i), m_type, m_off, 0)
                    for i, (n, m_type, m_off) in enumerate(raw)
                ]
            pos += 12 * vlen
            t = Struct(type_id, kind, name, size_or_type, tuple(members))
        elif kind == BtfKind.ENUM:
            raw = items(enum32, pos, vlen)
            values = [
                EnumValue(name_at(v_name, pos + 8 * i), v_val if kflag else v_val & 0xFFFFFFFF)
                for i, (v_name, v_val) in enumerate(raw)
            ]
            pos += 8 * vlen
            t = Enum(type_id, kind, name, size_or_type, kflag, tuple(values))
        elif kind == BtfKind.ENUM64:
            raw = items(three, pos, vlen)
            values = []
            for i, (v_name, lo, hi) in enumerate(raw):
                value = (hi << 32) | lo
                if kflag and value >= 1 << 63:
                    value -= 1 << 64
                values.append(EnumValue(name_at(v_name, pos + 12 * i), value))
            pos += 12 * vlen
            t = Enum(type_id, kind, name, size_or_type, kflag, tuple(values))
        elif kind == BtfKind.FWD:
            t = Fwd(type_id, kind, name, kflag)
        elif kind == BtfKind.FUNC:
            if vlen > 2:
                raise _fail(f"BTF FUNC {type_id} has invalid linkage {vlen}", record)
            t = Func(type_id, kind, name, size_or_type, Linkage(vlen))
        elif kind == BtfKind.FUNC_PROTO:
            raw = items(two, pos, vlen)
            params = tuple(
                Param(name_at(p_name, pos + 8 * i) if p_name else "", p_type)
                for i, (p_name, p_type) in enumerate(raw)
            )
            pos += 8 * vlen
            t = FuncProto(type_id, kind, name, size_or_type, params)
        elif kind == BtfKind.VAR:
            if pos + 4 > end:
                raise _fail("truncated BTF VAR", pos)
            linkage = u32(data, pos)[0]
            pos += 4
            if linkage > 2:
                raise _fail(f"BTF VAR {type_id} has invalid linkage {linkage}", record)
            t = Var(type_id, kind, name, size_or_type, Linkage(linkage))
        elif kind == BtfKind.DATASEC:
            raw = items(three, pos, vlen)
            pos += 12 * vlen
            t = Datasec(
                type_id, kind, name, size_or_type, tuple(VarSecinfo(a, b, c) for a, b, c in raw)
            )
        elif kind == BtfKind.FLOAT:
            t = Float(type_id, kind, name, size_or_type)
        else:  # DECL_TAG, the last kind with its own layout
            if pos + 4 > end:
                raise _fail("truncated BTF DECL_TAG", pos)
            component = i32(data, pos)[0]
            pos += 4
            t = DeclTag(type_id, kind, name, size_or_type, component)
        types.append(t)
        offsets.append(record)
    return types, offsets


def _check_references(btf: Btf) -> None:
    """Every type id a type mentions must exist, so later walks never index out of range."""
    count = len(btf.types)
    for t in btf.types:
        refs: tuple[int, ...]
        if isinstance(t, Ptr | Qualifier | Func | Var | DeclTag):
            refs = (t.type_id,)
        elif isinstance(t, Array):
            refs = (t.type_id, t.index_type_id)
        elif isinstance(t, Struct):
            refs = tuple(m.type_id for m in t.members)
        elif isinstance(t, FuncProto):
            refs = (t.return_type_id, *(p.type_id for p in t.params))
        elif isinstance(t, Datasec):
            refs = tuple(v.type_id for v in t.vars)
        else:
            continue
        for ref in refs:
            if ref >= count:
                raise _fail(
                    f"BTF type {t.id} ({t.kind.name}) refers to type {ref}, "
                    f"but there are only {count} types",
                    btf.offsets[t.id],
                )
