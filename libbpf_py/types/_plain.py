"""Values of the engine as plain, JSON-able Python: the one converter, driven by the codec
that decoded the value (never by a second walk over the BTF).

Structs and unions become dicts by member name, the members of anonymous members merged
in as C reads them; arrays become lists; a plain ``char[N]`` (``bytes`` without its
trailing NULs) becomes ``str``, decoded as UTF-8 with undecodable bytes written as
backslash escapes (``"\\x80"``) and interior NULs kept (``"ab\\u0000cd"`` in JSON);
other bytes (``unsigned char[N]``, raw values) and enum members take the caller's form.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from typing import Any

from libbpf_py.types._codec import BytesCodec, Codec, PerCpuCodec
from libbpf_py.types.typed import ArrayCodec, CharArrayCodec, StructCodec, UnionCodec

__all__ = ["plain"]


def _name(member: enum.IntEnum) -> Any:
    return member.name


def _hex(raw: bytes) -> Any:
    return "hex:" + raw.hex()


def plain(
    codec: Codec | None,
    value: Any,
    *,
    enum_member: Callable[[Any], Any] = _name,
    raw: Callable[[bytes], Any] = _hex,
) -> Any:
    """``value``, decoded by ``codec``, as dicts, lists, str, int, float, bool and None.

    ``enum_member`` renders an enum member (default: its name; a value no member has
    stays an int), ``raw`` bytes that are not text (default: ``"hex:..."``). Without a
    codec (a value kept as raw bytes) the value is rendered by ``raw``.
    """
    if value is None:
        return None
    if isinstance(codec, CharArrayCodec):
        if codec.text:
            return bytes(value).decode("utf-8", "backslashreplace")
        return raw(bytes(value))
    if isinstance(value, enum.Enum):
        return enum_member(value)
    if isinstance(codec, StructCodec | UnionCodec):
        out: dict[str, Any] = {}
        for f in codec.fields:
            item = plain(f.codec, getattr(value, f.name), enum_member=enum_member, raw=raw)
            if f.anonymous and isinstance(item, dict):
                for k, v in item.items():
                    out.setdefault(k, v)  # a member of our own with the name wins, as in C
            else:
                out[f.name] = item
        return out
    if isinstance(codec, ArrayCodec):
        return [plain(codec.elem, v, enum_member=enum_member, raw=raw) for v in value]
    if isinstance(codec, PerCpuCodec):
        return [plain(codec.inner, v, enum_member=enum_member, raw=raw) for v in value]
    if (
        isinstance(value, bytes | bytearray | memoryview)
        or isinstance(codec, BytesCodec)
        or codec is None
    ):
        return raw(bytes(value))
    return value
