"""Decode bytes into Python values by their BTF type: ints, bools, enums, strings,
floats, structs (dicts), arrays (lists)."""

from __future__ import annotations

import struct

from libbpf_py.errors import ObjectFormatError

from .btf import MAX_CHAIN, Btf
from .btf_types import Array, BtfType, Enum, EnumValue, Float, Int, Ptr, Struct

__all__ = ["decode_value"]

# A value decodes into at most this many Python objects; a BTF type that contains itself
# would otherwise explode.
_BUDGET = 200_000
# Longer arrays stay bytes: a Python list of a million zeros helps nobody.
_MAX_LIST = 65_536


def decode_value(btf: Btf, type_id: int, data: bytes) -> object:
    """Decode ``data`` (the bytes of one value of ``type_id``) into Python.

    Integers become ``int`` (``bool`` for BTF bools), enums their :class:`EnumValue` when
    the value names an enumerator (else ``int``), ``char`` arrays ``str`` (up to the first
    NUL), other arrays (also ``unsigned char`` ones) ``list``, structs and unions ``dict``
    by member name (members of anonymous members merged in), pointers ``int``, floats
    ``float``.
    """
    return _decode(btf, type_id, data, 0, [_BUDGET])


def _int(data: bytes, signed: bool, byteorder: str) -> int:
    return int.from_bytes(data, "little" if byteorder == "little" else "big", signed=signed)


def _is_char(btf: Btf, t: BtfType) -> bool:
    # Plain char only: unsigned/signed char arrays (__u8[N]) hold binary data, in which
    # a zero byte is data; they decode as lists of ints like other arrays.
    return isinstance(t, Int) and t.size == 1 and (t.is_char or t.name == "char")


def _decode(btf: Btf, type_id: int, data: bytes, depth: int, budget: list[int]) -> object:
    budget[0] -= 1
    if depth > MAX_CHAIN or budget[0] < 0:
        raise ObjectFormatError(f"value of BTF type {type_id} nests too deep or is too large "
                                "to decode (a type that contains itself?)",
                                section=".BTF", offset=btf.offset_of(type_id))
    t = btf.skip_qualifiers(type_id)
    order = btf.byteorder
    if isinstance(t, Int):
        raw = data[:t.size]
        if t.is_bool:
            return any(raw)
        value = _int(raw, t.is_signed, order)
        if t.nr_bits < t.size * 8 or t.bits_offset:
            value = (value >> t.bits_offset) & ((1 << t.nr_bits) - 1)
        return value
    if isinstance(t, Enum):
        value = _int(data[:t.size], t.signed, order)
        for v in t.values:
            if v.value == value:
                return EnumValue(v.name, v.value)
        return value
    if isinstance(t, Ptr):
        return _int(data[:8], False, order)
    if isinstance(t, Float):
        fmt = {2: "e", 4: "f", 8: "d"}.get(t.size)
        if fmt is None or len(data) < t.size:
            return data[:t.size]
        return float(struct.unpack(("<" if order == "little" else ">") + fmt,
                                   data[:t.size])[0])
    if isinstance(t, Array):
        elem = btf.skip_qualifiers(t.type_id)
        if _is_char(btf, elem):
            raw = data[:t.nelems]
            nul = raw.find(b"\0")
            return (raw if nul < 0 else raw[:nul]).decode("utf-8", "replace")
        size = btf.size_of(t.type_id) if t.nelems else 0
        if t.nelems > _MAX_LIST:
            return bytes(data)
        return [_decode(btf, t.type_id, data[i * size:(i + 1) * size], depth + 1, budget)
                for i in range(min(t.nelems, len(data) // size if size else 0))]
    if isinstance(t, Struct):
        out: dict[str, object] = {}
        for m in t.members:
            if m.bitfield_size:
                item: object = _bitfield(btf, m.type_id, data, m.bits_offset,
                                          m.bitfield_size)
            else:
                start = m.bits_offset // 8
                size = btf.size_of(m.type_id)
                item = _decode(btf, m.type_id, data[start:start + size], depth + 1, budget)
            if not m.name and isinstance(item, dict):
                out.update(item)
            else:
                out[m.name] = item
        return out
    return None


def _bitfield(btf: Btf, type_id: int, data: bytes, bits_offset: int, nbits: int) -> object:
    t = btf.skip_qualifiers(type_id)
    signed = (isinstance(t, Int) and t.is_signed) or (isinstance(t, Enum) and t.signed)
    first = bits_offset // 8
    last = (bits_offset + nbits + 7) // 8
    # A short value (damaged BTF) reads as zero bits rather than shifting by a negative.
    chunk = data[first:last].ljust(last - first, b"\0")
    if btf.byteorder == "little":
        value = (int.from_bytes(chunk, "little") >> (bits_offset % 8)) & ((1 << nbits) - 1)
    else:
        total = 8 * len(chunk)
        shift = total - (bits_offset % 8) - nbits
        value = (int.from_bytes(chunk, "big") >> shift) & ((1 << nbits) - 1)
    if signed and value >> (nbits - 1):
        value -= 1 << nbits
    if isinstance(t, Int) and t.is_bool:
        return bool(value)
    if isinstance(t, Enum):
        for v in t.values:
            if v.value == value:
                return EnumValue(v.name, v.value)
    return value
