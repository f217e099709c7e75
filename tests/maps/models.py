"""Independent references for the typed test object: C layouts packed with ``struct``,
and normal forms of decoded values, so the models never use the codecs under test."""

from __future__ import annotations

import struct
from typing import Any

from hypothesis import strategies as st

# struct key_t { u8 proto; (3 pad) u32 addr; u16 port; u8 flags:3, kind:5; (1 pad) }
KEY = struct.Struct("<B3xIHB1x")
# struct val_t: see tests/bpf/maps/typed.bpf.c; offsets checked by clang's BTF.
VAL = struct.Struct("<QiI6s3HB3xIIB7x")
# struct small_t { u32 a; s16 b:9; u16 c:7; }
SMALL = struct.Struct("<IH2x")

KeyT = tuple[int, int, int, int, int]
ValT = tuple[int, int, int, bytes, tuple[int, ...], tuple[int, int], int, int, int]
SmallT = tuple[int, int, int]


def pack_key(k: KeyT) -> bytes:
    """The C bytes of a key_t."""
    proto, addr, port, flags, kind = k
    return KEY.pack(proto, addr, port, flags | kind << 3)


def pack_val(v: ValT) -> bytes:
    """The C bytes of a val_t."""
    packets, delta, color, tag, arr, (a, b), word, sbits, ubits = v
    return VAL.pack(packets, delta, color, tag, *arr, a, b, word, (sbits & 0xF) | ubits << 4)


def pack_small(v: SmallT) -> bytes:
    """The C bytes of a small_t."""
    a, b, c = v
    return SMALL.pack(a, (b & 0x1FF) | c << 9)


def key_of(obj: Any) -> KeyT:
    """The normal form of a decoded key_t."""
    return (obj.proto, obj.addr, obj.port, obj.flags, obj.kind)


def val_of(obj: Any) -> ValT:
    """The normal form of a decoded val_t."""
    return (
        obj.packets,
        obj.delta,
        int(obj.color),
        obj.tag,
        tuple(obj.arr),
        (obj.inner.a, obj.inner.b),
        obj.un.word,
        obj.sbits,
        obj.ubits,
    )


def small_of(obj: Any) -> SmallT:
    """The normal form of a decoded small_t."""
    return (obj.a, obj.b, obj.c)


keys = st.tuples(
    st.sampled_from([6, 17]),
    st.integers(0, 3),
    st.sampled_from([80, 443]),
    st.integers(0, 7),
    st.sampled_from([0, 17, 31]),
)
vals = st.tuples(
    st.integers(0, 2**64 - 1),
    st.integers(-(2**31), 2**31 - 1),
    st.sampled_from([0, 5, 6]),
    st.binary(max_size=6).map(lambda b: b.rstrip(b"\0")),
    st.tuples(*[st.integers(0, 0xFFFF)] * 3),
    st.tuples(st.integers(0, 255), st.integers(0, 2**32 - 1)),
    st.integers(0, 2**32 - 1),
    st.integers(-8, 7),
    st.integers(0, 15),
)
smalls = st.tuples(st.integers(0, 2**32 - 1), st.integers(-256, 255), st.integers(0, 127))
forms = st.sampled_from(["object", "dict", "tuple", "bytes"])


def key_in(form: str, k: KeyT, cls: type) -> Any:
    """A key_t in one of the accepted Python forms."""
    names = ("proto", "addr", "port", "flags", "kind")
    if form == "object":
        return cls(*k)
    if form == "dict":
        return dict(zip(names, k, strict=True))
    if form == "tuple":
        return k
    return pack_key(k)


def val_in(form: str, v: ValT, cls: type) -> Any:
    """A val_t in one of the accepted Python forms."""
    packets, delta, color, tag, arr, (a, b), word, sbits, ubits = v
    fields = (packets, delta, color, tag, list(arr), {"a": a, "b": b}, {"word": word}, sbits, ubits)
    if form == "object":
        return cls(*fields)
    if form == "dict":
        names = ("packets", "delta", "color", "tag", "arr", "inner", "un", "sbits", "ubits")
        return dict(zip(names, fields, strict=True))
    if form == "tuple":
        return (packets, delta, color, tag, list(arr), (a, b), {"word": word}, sbits, ubits)
    return pack_val(v)


def small_in(form: str, v: SmallT, cls: type) -> Any:
    """A small_t in one of the accepted Python forms."""
    if form == "object":
        return cls(*v)
    if form == "dict":
        return dict(zip(("a", "b", "c"), v, strict=True))
    if form == "tuple":
        return v
    return pack_small(v)
