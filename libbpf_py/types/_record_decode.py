"""Record decoders compiled from BTF: one generated Python function per C type.

A decoder put together from one small function per field pays a Python call for every
field of every record (about 1.5 µs for a four-field struct with a ``char`` array),
which made typed ring buffer callbacks slower than the events they carry. This module
writes, once per type, a single function that unpacks every field it can with one
``struct.Struct`` and builds the value in one expression::

    def decode(buf):
        v = _unpack(buf)
        return _new(_c1, (v[0], v[1], v[2], v[3].split(b'\\x00', 1)[0]))

The values are the same as :func:`field_decoder` (below) gives: named tuples for
structs and unions, lists for arrays, ``bytes`` up to the first NUL for ``char`` arrays
(``unsigned char`` arrays whole), ``int`` (``bool`` for C ``bool``) for scalars. What
one format cannot express (union members laid over each other, bitfields, very long
arrays) calls that per-field decoder for the part alone. Only generated names and
integers go into the source: field and type names reach the values through the named
tuple classes, never the code.
"""

from __future__ import annotations

import collections
import keyword
import struct
from collections.abc import Callable
from typing import Any

from libbpf_py.errors import LayoutError
from libbpf_py.inspect import Btf
from libbpf_py.inspect.btf_types import Array, Enum, Float, Int, Ptr, Struct
from libbpf_py.types.typed import int_format, is_char, is_signed, is_text, sign_extend

__all__ = ["bitfield", "compile_decoder", "field_decoder", "members", "named_tuple", "scalar"]

Decoder = Callable[[Any, int], Any]
#: Arrays longer than this decode with a loop, not one expression per element.
_MAX_UNROLLED = 64
#: Types needing more unpacked values than this keep the per-field decoder.
_MAX_VALUES = 2048


def named_tuple(name: str, fields: list[str]) -> Any:
    """The named tuple class of a C struct or union (``record`` if its name cannot be one)."""
    safe = name if name.isidentifier() and not keyword.iskeyword(name) else "record"
    return collections.namedtuple(safe, fields, rename=True)


def members(btf: Btf, t: Struct, base_bits: int) -> list[tuple[str, int, int, int]]:
    """(name, type id, bit offset, bitfield size), anonymous members flattened as in C."""
    out: list[tuple[str, int, int, int]] = []
    for m in t.members:
        if not m.name:
            inner = btf.skip_qualifiers(m.type_id)
            if isinstance(inner, Struct):
                out.extend(members(btf, inner, base_bits + m.bits_offset))
                continue
        out.append((m.name, m.type_id, base_bits + m.bits_offset, m.bitfield_size))
    return out


def scalar(btf: Btf, type_id: int) -> tuple[str, int] | None:
    """The struct-module code and size of an integer, enum, float or pointer type."""
    t = btf.skip_qualifiers(type_id)
    if isinstance(t, Int) and t.nr_bits == t.size * 8 and not t.bits_offset:
        if t.is_bool and t.size == 1:
            return "?", 1
        code = int_format(t.size, t.is_signed)
        return (code, t.size) if code else None
    if isinstance(t, Enum):
        code = int_format(t.size, t.signed)
        return (code, t.size) if code else None
    if isinstance(t, Float) and t.size in (4, 8):
        return ("f" if t.size == 4 else "d"), t.size
    if isinstance(t, Ptr):
        return "Q", 8
    return None


def bitfield(bits: int, width: int, signed: bool) -> Decoder:
    """A decoder of the ``width``-bit field at bit ``bits`` of a struct."""
    first, shift = bits // 8, bits % 8
    nbytes = (shift + width + 7) // 8
    mask = (1 << width) - 1

    def decode(buf: Any, off: int) -> int:
        raw = int.from_bytes(buf[off + first:off + first + nbytes], "little")
        value = (raw >> shift) & mask
        return sign_extend(value, width) if signed else value

    return decode


def field_decoder(btf: Btf, type_id: int, depth: int) -> Decoder:
    """A decoder ``(buf, offset) -> value`` built of one small function per field."""
    if depth > 32:
        raise LayoutError(f"BTF type {type_id} nests deeper than 32 levels")
    t = btf.skip_qualifiers(type_id)
    code = scalar(btf, type_id)
    if code is not None:
        unpack = struct.Struct("<" + code[0]).unpack_from
        return lambda buf, off: unpack(buf, off)[0]
    if isinstance(t, Array):
        count, item_size = t.nelems, btf.size_of(t.type_id)
        if is_text(btf, t.type_id):
            def text(buf: Any, off: int) -> bytes:
                return bytes(buf[off:off + count]).split(b"\0", 1)[0]
            return text
        if is_char(btf, t.type_id):
            return lambda buf, off: bytes(buf[off:off + count])
        item = field_decoder(btf, t.type_id, depth + 1)
        return lambda buf, off: [item(buf, off + i * item_size) for i in range(count)]
    if isinstance(t, Struct):
        fields = []
        for name, member_type, bits, width in members(btf, t, 0):
            if width:
                signed = is_signed(btf.skip_qualifiers(member_type))
                fields.append((name, bitfield(bits, width, signed), 0))
            else:
                fields.append((name, field_decoder(btf, member_type, depth + 1), bits // 8))
        cls = named_tuple(t.name, [f[0] for f in fields])
        parts = [(decode, offset) for _, decode, offset in fields]
        return lambda buf, off: cls._make([d(buf, off + o) for d, o in parts])
    size = btf.size_of(type_id)
    return lambda buf, off: bytes(buf[off:off + size])



class _Writer:
    """Collects the one struct format, the expression, and the constants it names."""

    def __init__(self, btf: Btf) -> None:
        self.btf = btf
        self.fmt = ["<"]
        self.pos = 0
        self.values = 0
        self.namespace: dict[str, Any] = {"_new": tuple.__new__}

    def const(self, obj: Any) -> str:
        name = f"_c{len(self.namespace)}"
        self.namespace[name] = obj
        return name

    def unpacked(self, code: str, size: int, offset: int) -> str | None:
        """The next value of the one format, or None where it would overlap the last."""
        if offset < self.pos or self.values >= _MAX_VALUES:
            return None
        if offset > self.pos:
            self.fmt.append(f"{offset - self.pos}x")
        self.fmt.append(code)
        self.pos = offset + size
        self.values += 1
        return f"v[{self.values - 1}]"

    def called(self, type_id: int, offset: int, depth: int) -> str:
        return f"{self.const(field_decoder(self.btf, type_id, depth))}(buf, {offset})"

    def expr(self, type_id: int, offset: int, depth: int) -> str:
        if depth > 32:
            raise LayoutError(f"BTF type {type_id} nests deeper than 32 levels")
        btf = self.btf
        code = scalar(btf, type_id)
        if code is not None:
            return self.unpacked(code[0], code[1], offset) or self.called(type_id, offset, depth)
        t = btf.skip_qualifiers(type_id)
        if isinstance(t, Array):
            if is_char(btf, t.type_id):
                raw = self.unpacked(f"{t.nelems}s", t.nelems, offset)
                if raw is None:
                    return self.called(type_id, offset, depth)
                return f"{raw}.split(b'\\x00', 1)[0]" if is_text(btf, t.type_id) else raw
            if t.nelems > _MAX_UNROLLED:
                return self.called(type_id, offset, depth)
            step = btf.size_of(t.type_id)
            items = [self.expr(t.type_id, offset + i * step, depth + 1)
                     for i in range(t.nelems)]
            return "[" + ", ".join(items) + "]"
        if isinstance(t, Struct):
            names, parts = [], []
            for name, member_type, bits, width in members(btf, t, 0):
                names.append(name)
                if width:
                    signed = is_signed(btf.skip_qualifiers(member_type))
                    parts.append(f"{self.const(bitfield(bits, width, signed))}(buf, {offset})")
                else:
                    parts.append(self.expr(member_type, offset + bits // 8, depth + 1))
            cls = self.const(named_tuple(t.name, names))
            if depth == 0 and parts and parts == [f"v[{i}]" for i in range(self.values)]:
                return f"_new({cls}, v)"  # the record is scalars only: the unpacked tuple
            return f"_new({cls}, ({''.join(p + ', ' for p in parts)}))"
        size = btf.size_of(type_id)
        return f"bytes(buf[{offset}:{offset + size}])"


def compile_decoder(btf: Btf, type_id: int, name: str) -> Callable[[Any], Any]:
    """One function ``decode(buf)`` for the C type ``type_id`` of ``btf``."""
    writer = _Writer(btf)
    body = writer.expr(type_id, 0, 0)
    ns = writer.namespace
    lines = ["def decode(buf):"]
    if writer.values:
        ns["_unpack"] = struct.Struct("".join(writer.fmt)).unpack_from
        lines.append("    v = _unpack(buf)")
    lines.append(f"    return {body}")
    exec(compile("\n".join(lines), f"<decoder of {name}>", "exec"), ns)
    return ns["decode"]  # type: ignore[no-any-return]
