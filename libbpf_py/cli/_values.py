"""Keys and values typed on a command line, turned into a map's bytes by its BTF, and back.

Accepted text: a number (``42``, ``0x2a``), an IPv4 address for 4-byte keys
(``198.18.0.2``, kept in network byte order as packets carry it), an enumerator's name,
JSON for structs, arrays and strings (``{"count": 3}``, ``[1, 2]``, ``"eth0"``), or raw
bytes as ``hex:0a000001``. Without BTF only numbers, addresses and ``hex:`` work.
"""

from __future__ import annotations

import json
import socket
import struct
from typing import Any

from libbpf_py.inspect.btf_types import Array, Enum, EnumValue, Float, Int, Ptr, Struct

__all__ = ["decode", "encode", "type_text"]


def type_text(btf: Any, type_id: int, size: int) -> str:
    """How to describe the expected type in an error message."""
    if btf is None or not type_id:
        return f"{size} raw bytes"
    from libbpf_py.inspect.render import type_name

    return f"{type_name(btf, type_id)} ({size} bytes)"


def _parse_text(text: str) -> Any:
    stripped = text.strip()
    if stripped.startswith("hex:"):
        try:
            return bytes.fromhex(stripped[4:].replace(":", " "))
        except ValueError:
            raise ValueError(f"{text!r}: after hex: come hex digits") from None
    try:
        return int(stripped, 0)
    except ValueError:
        pass
    parts = stripped.split(".")
    if len(parts) == 4 and all(p.isdigit() for p in parts):
        try:
            return socket.inet_aton(stripped)
        except OSError:
            raise ValueError(f"{text!r} is not an IPv4 address") from None
    try:
        return json.loads(stripped)
    except json.JSONDecodeError:
        return stripped  # maybe an enumerator's name


def encode(text: str, btf: Any, type_id: int, size: int, what: str) -> bytes:
    """The bytes of ``text`` for a key or value of ``size`` bytes and BTF type ``type_id``."""
    value = _parse_text(text)
    try:
        if isinstance(value, bytes):
            if len(value) != size:
                raise ValueError(f"is {len(value)} bytes, not {size}")
            return value
        if btf is None or not type_id:
            if isinstance(value, int) and not isinstance(value, bool) and size in (1, 2, 4, 8):
                return value.to_bytes(size, "little", signed=value < 0)
            raise ValueError("cannot be read without BTF: give hex:... or a number")
        out = _encode(btf, type_id, value)
        if len(out) != size:
            raise ValueError(f"encodes to {len(out)} bytes, not {size}")
        return out
    except (ValueError, OverflowError, TypeError, KeyError) as exc:
        detail = str(exc.args[0]) if isinstance(exc, KeyError) and exc.args else str(exc)
        raise ValueError(f"bad {what} text {text!r}: {detail}; {what} is "
                         f"{type_text(btf, type_id, size)}") from None


def _encode(btf: Any, type_id: int, value: Any) -> bytes:
    t = btf.skip_qualifiers(type_id)
    if isinstance(t, Int):
        if isinstance(value, bool):
            value = int(value)
        if not isinstance(value, int):
            raise ValueError(f"needs an integer, not {type(value).__name__}")
        return int(value).to_bytes(t.size, "little", signed=t.is_signed)
    if isinstance(t, Enum):
        if isinstance(value, str):
            for v in t.values:
                if v.name == value:
                    return v.value.to_bytes(t.size, "little", signed=v.value < 0)
            raise ValueError(f"{value!r} is not an enumerator of {t.name or 'the enum'}")
        return int(value).to_bytes(t.size, "little", signed=t.signed)
    if isinstance(t, Ptr):
        return int(value).to_bytes(8, "little")
    if isinstance(t, Float):
        return struct.pack({4: "<f", 8: "<d"}[t.size], float(value))
    if isinstance(t, Array):
        elem = btf.skip_qualifiers(t.type_id)
        elem_size = btf.size_of(t.type_id)
        if isinstance(value, str) and isinstance(elem, Int) and elem.size == 1:
            raw = value.encode()
            if len(raw) > t.nelems:
                raise ValueError(f"the string is longer than {t.nelems} bytes")
            return raw.ljust(t.nelems, b"\0")
        if not isinstance(value, list) or len(value) > t.nelems:
            raise ValueError(f"needs a JSON list of at most {t.nelems} elements")
        body = b"".join(_encode(btf, t.type_id, v) for v in value)
        return body.ljust(elem_size * t.nelems, b"\0")
    if isinstance(t, Struct):
        if not isinstance(value, dict):
            raise ValueError(f"needs a JSON object of the fields of {t.name or 'the struct'}")
        buf = bytearray(t.size)
        names = {m.name for m in t.members}
        unknown = set(value) - names
        if unknown:
            raise ValueError(f"{t.name or 'the struct'} has no field "
                             f"{', '.join(sorted(unknown))}")
        for m in t.members:
            if m.name not in value:
                continue
            if m.bitfield_size:
                raise ValueError(f"field {m.name} is a bit field: give the value as hex:...")
            data = _encode(btf, m.type_id, value[m.name])
            start = m.bits_offset // 8
            buf[start:start + len(data)] = data
        return bytes(buf)
    raise ValueError(f"values of BTF kind {t.kind.name} cannot be typed as text")


def _plain(value: Any) -> Any:
    if isinstance(value, EnumValue):
        return value.name
    if isinstance(value, bytes):
        return "hex:" + value.hex()
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def decode(data: bytes, btf: Any, type_id: int) -> Any:
    """A JSON-able Python value of ``data`` (by BTF when there is any, else hex)."""
    if btf is None or not type_id:
        if len(data) in (1, 2, 4, 8):
            return int.from_bytes(data, "little")
        return "hex:" + data.hex()
    from libbpf_py.inspect.btf_types import Datasec
    from libbpf_py.inspect.values import decode_value

    t = btf.skip_qualifiers(type_id)
    if isinstance(t, Datasec):  # a global-data map: one value, every variable in it
        out = {}
        for var in t.vars:
            name = btf[var.type_id].name
            out[name] = decode(data[var.offset:var.offset + var.size], btf,
                               getattr(btf[var.type_id], "type_id", 0))
        return out
    return _plain(decode_value(btf, type_id, data))


def decode_percpu(data: bytes, btf: Any, type_id: int, value_size: int, cpus: int) -> list[Any]:
    """One decoded value per possible CPU."""
    step = (value_size + 7) // 8 * 8
    return [decode(data[i * step:i * step + value_size], btf, type_id) for i in range(cpus)]


def encode_percpu(one: bytes, value_size: int, cpus: int) -> bytes:
    """The same value for every CPU, in the kernel's per-CPU layout."""
    step = (value_size + 7) // 8 * 8
    return one.ljust(step, b"\0") * cpus
