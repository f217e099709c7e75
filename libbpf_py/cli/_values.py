"""Keys and values typed on a command line, turned into a map's bytes by the value engine,
and the engine's values turned into JSON.

Accepted text: a number (``42``, ``0x2a``), an IPv4 address for 4-byte keys
(``198.18.0.2``, kept in network byte order as packets carry it), an enumerator's name,
JSON for structs, arrays and strings (``{"count": 3}``, ``[1, 2]``, ``"eth0"``), or raw
bytes as ``hex:0a000001``. Without BTF only numbers, addresses and ``hex:`` work.

This module only parses text into a Python value and renders values as JSON; the BTF
codec that encodes and decodes them is the engine's (:mod:`libbpf_py.types.typed`), the
same a :class:`~libbpf_py.Map` uses, and :func:`~libbpf_py.types._plain.plain` renders
them (structs as dicts, ``char[N]`` as str, other bytes as ``"hex:..."``, enum members
by name).
"""

from __future__ import annotations

import json
import socket
from typing import Any

from libbpf_py.btf.kinds import Datasec, Var
from libbpf_py.errors import BpfError
from libbpf_py.types._plain import plain
from libbpf_py.types.typed import TypeCodecs

__all__ = ["decode", "decode_percpu", "encode", "encode_percpu", "type_text"]


def type_text(types: TypeCodecs | None, type_id: int, size: int) -> str:
    """How to describe the expected type in an error message."""
    if types is None or not type_id:
        return f"{size} raw bytes"
    from libbpf_py.inspect.render import type_name

    return f"{type_name(types.btf, type_id)} ({size} bytes)"


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


def encode(text: str, types: TypeCodecs | None, type_id: int, size: int, what: str) -> bytes:
    """The bytes of ``text`` for a key or value of ``size`` bytes and BTF type ``type_id``."""
    value = _parse_text(text)
    try:
        if isinstance(value, bytes):
            if len(value) != size:
                raise ValueError(f"is {len(value)} bytes, not {size}")
            return value
        if types is None or not type_id:
            if isinstance(value, int) and not isinstance(value, bool) and size in (1, 2, 4, 8):
                return value.to_bytes(size, "little", signed=value < 0)
            raise ValueError("cannot be read without BTF: give hex:... or a number")
        codec = types.codec(type_id, f"the {what}")
        if codec.size != size:
            raise ValueError(f"its type is {codec.size} bytes, not {size}: give hex:...")
        return codec.encode(value)
    except (BpfError, ValueError, OverflowError, TypeError, KeyError) as exc:
        detail = str(exc.args[0]) if isinstance(exc, KeyError) and exc.args else str(exc)
        raise ValueError(
            f"bad {what} text {text!r}: {detail}; {what} is {type_text(types, type_id, size)}"
        ) from None


def decode(data: bytes, types: TypeCodecs | None, type_id: int) -> Any:
    """A JSON-able Python value of ``data`` (by BTF when there is any, else hex)."""
    if types is None or not type_id:
        if len(data) in (1, 2, 4, 8):
            return int.from_bytes(data, "little")
        return "hex:" + data.hex()
    t = types.btf.skip_qualifiers(type_id)
    if isinstance(t, Datasec):  # a global-data map: one value, every variable in it
        out = {}
        for vsi in t.vars:
            var = types.btf[vsi.type_id]
            if isinstance(var, Var):
                out[var.name] = decode(data[vsi.offset : vsi.offset + vsi.size], types, var.type_id)
        return out
    try:
        codec = types.codec(type_id, "the value")
    except (BpfError, ValueError):
        return "hex:" + data.hex()
    if codec.size != len(data):
        return "hex:" + data.hex()
    return plain(codec, codec.decode(data))


def decode_percpu(
    data: bytes, types: TypeCodecs | None, type_id: int, value_size: int, cpus: int
) -> list[Any]:
    """One decoded value per possible CPU."""
    step = (value_size + 7) // 8 * 8
    return [decode(data[i * step : i * step + value_size], types, type_id) for i in range(cpus)]


def encode_percpu(one: bytes, value_size: int, cpus: int) -> bytes:
    """The same value for every CPU, in the kernel's per-CPU layout."""
    step = (value_size + 7) // 8 * 8
    return one.ljust(step, b"\0") * cpus
