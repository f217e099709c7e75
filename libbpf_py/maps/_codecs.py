"""Keys and values whose meaning the map type fixes (LPM prefixes, fds, devices, CPUs),
and those nothing types at all (raw bytes)."""

from __future__ import annotations

import sys
from typing import Any

from libbpf_py.errors import LayoutError
from libbpf_py.netdev import interface_index
from libbpf_py.types._codec import BytesCodec, IntCodec

__all__ = [
    "CpumapValueCodec",
    "DevmapValueCodec",
    "FdValueCodec",
    "LpmKeyCodec",
    "UntypedCodec",
]


def _loaded(module: str) -> Any:
    """A standard module if something has imported it already, else ``None``.

    While nothing has imported ``ipaddress`` (or ``socket``), no value can be one of its
    types, so this library never imports them just to ask: they would add to every
    ``import libbpf_py`` (tests/test_import_time.py).
    """
    return sys.modules.get(module)


class UntypedCodec(BytesCodec):
    """The key or value of a map that nothing types: no ``key_type=``/``value_type=``
    and no BTF. It is raw bytes of the exact size, written and read back as ``bytes``.

    An ``int`` is refused rather than packed: it would read back as ``bytes``, a
    different type from the one written. ``param`` is the argument that would type it
    (``"key_type"`` or ``"value_type"``), named in the error.
    """

    def __init__(self, size: int, what: str, param: str) -> None:
        super().__init__(size, what)
        self.param = param

    def encode(self, value: Any) -> bytes:
        """Encode bytes of exactly ``size`` bytes; refuse anything else."""
        if isinstance(value, bytes | bytearray | memoryview):
            return super().encode(value)
        size, param = self.size, self.param
        if isinstance(value, int) and not isinstance(value, bool):
            if size in (1, 2, 4, 8):
                kind = f"{'s' if value < 0 else 'u'}{size * 8}"
                signed = ", signed=True" if value < 0 else ""
                example = f"({value}).to_bytes({size}, 'little'{signed})"
                typed = f"{param}={kind!r}"
            else:
                example, typed = f"bytes({size})", f"{param}= a BTF type (another map's TypeRef)"
            raise LayoutError(
                f"{self.what} has no type, so it holds {size} raw bytes and an int written "
                f"there would read back as bytes: give {size} bytes, e.g. {example}, or type "
                f"the map: {typed} to Map.create, Map.from_pin or Map.from_id (a map of an "
                "object is typed by its BTF: compile with -g and declare it with __type())"
            )
        raise TypeError(
            f"{self.what} has no type, so it holds {size} raw bytes: give bytes of that "
            f"size (or type the map with {param}=), not {type(value).__name__}"
        )


class LpmKeyCodec:
    """An LPM trie key: ``(prefix_len, address)``, stored as ``__u32 prefixlen`` + data.

    The address is ``bytes`` of the data size, an ``ipaddress`` address, or an ``int``
    (big-endian, as addresses are written). An ``ipaddress`` network is accepted whole.
    Decodes to ``(prefix_len, bytes)``.
    """

    def __init__(self, size: int, what: str) -> None:
        if size <= 4:
            raise LayoutError(f"{what}: an LPM trie key needs more than 4 bytes, has {size}")
        self.size = size
        self.data_size = size - 4
        self.what = what

    def encode(self, value: Any) -> bytes:
        """Encode ``(prefix_len, address)``, a network, or raw bytes."""
        if isinstance(value, bytes | bytearray | memoryview):
            if len(value) != self.size:
                raise LayoutError(
                    f"{self.what} must be exactly {self.size} bytes "
                    f"(__u32 prefixlen + {self.data_size} bytes), got "
                    f"{len(value)}"
                )
            return bytes(value)
        ipaddress = _loaded("ipaddress")
        if ipaddress is not None and isinstance(
            value, (ipaddress.IPv4Network, ipaddress.IPv6Network)
        ):
            value = (value.prefixlen, value.network_address)
        if not isinstance(value, tuple) or len(value) != 2:
            raise TypeError(
                f"{self.what} is an LPM trie key: give (prefix_len, address), "
                f"not {type(value).__name__}"
            )
        prefix, address = value
        if not isinstance(prefix, int) or isinstance(prefix, bool):
            raise TypeError(f"{self.what}: prefix_len is an int, not {type(prefix).__name__}")
        if not 0 <= prefix <= self.data_size * 8:
            raise LayoutError(
                f"{self.what}: prefix_len {prefix} is out of range [0, {self.data_size * 8}]"
            )
        if ipaddress is not None and isinstance(
            address, (ipaddress.IPv4Address, ipaddress.IPv6Address)
        ):
            address = address.packed
        if isinstance(address, int) and not isinstance(address, bool):
            if not 0 <= address < 1 << (self.data_size * 8):
                raise LayoutError(
                    f"{self.what}: address {address} does not fit {self.data_size} bytes"
                )
            address = address.to_bytes(self.data_size, "big")
        if not isinstance(address, bytes | bytearray | memoryview):
            raise TypeError(
                f"{self.what}: the address is bytes, an int or an ipaddress "
                f"address, not {type(address).__name__}"
            )
        if len(address) != self.data_size:
            raise LayoutError(
                f"{self.what}: the address must be exactly {self.data_size} "
                f"bytes, got {len(address)}"
            )
        return prefix.to_bytes(4, "little") + bytes(address)

    def decode(self, data: bytes) -> tuple[int, bytes]:
        """Decode into ``(prefix_len, address bytes)``."""
        return int.from_bytes(data[:4], "little"), bytes(data[4:])


def fd_of(value: Any, what: str) -> int:
    """The fd behind a Program, Map, Link, socket or plain int."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    socket = _loaded("socket")
    if socket is not None and isinstance(value, socket.socket):
        return int(value.fileno())
    fd = getattr(value, "fd", None)
    if isinstance(fd, int):
        return fd
    raise TypeError(f"{what} takes a Program, a Map, a socket or an fd, not {type(value).__name__}")


class FdValueCodec:
    """Values that user space writes as an fd and reads back as an id (or cookie).

    Program arrays, map-in-map, sockmap/sockhash, xskmap, perf event and cgroup arrays.
    """

    def __init__(self, size: int, what: str) -> None:
        if size not in (4, 8):
            raise LayoutError(f"{what}: fd values are 4 or 8 bytes, this map has {size}")
        self.size = size
        self.what = what
        self._int = IntCodec(size, False, what)

    def encode(self, value: Any) -> bytes:
        """Encode the fd of ``value`` (raw bytes accepted too)."""
        if isinstance(value, bytes | bytearray | memoryview):
            return self._int.encode(value)
        return self._int.encode(fd_of(value, self.what))

    def decode(self, data: bytes) -> int:
        """The id (programs, maps) or cookie (sockets) the kernel reports."""
        return int.from_bytes(data, "little")


class _ProgramSlotCodec:
    """A 4-byte first field, optionally followed by an XDP program's fd (8-byte values).

    DEVMAP and CPUMAP values share this shape: ``struct bpf_devmap_val`` and
    ``struct bpf_cpumap_val`` start with the field and may carry a program for it.
    """

    kind = ""
    field = ""
    struct = ""

    def __init__(self, size: int, what: str) -> None:
        if size not in (4, 8):
            raise LayoutError(f"{what}: {self.kind} values are 4 or 8 bytes, this map has {size}")
        self.size = size
        self.what = what

    def _first(self, value: Any) -> Any:
        return value

    def encode(self, value: Any) -> bytes:
        """Encode the field, optionally with a program: ``(field, program)``."""
        if isinstance(value, bytes | bytearray | memoryview):
            return IntCodec(self.size, False, self.what).encode(value)
        prog: Any = None
        if isinstance(value, tuple):
            if len(value) != 2 or self.size != 8:
                raise LayoutError(
                    f"{self.what}: give ({self.field}, program) only to 8-byte "
                    f"{self.kind} values (struct {self.struct})"
                )
            value, prog = value
        value = self._first(value)
        if not isinstance(value, int) or isinstance(value, bool):
            raise TypeError(f"{self.what}: the {self.field} is an int, not {type(value).__name__}")
        out = value.to_bytes(4, "little")
        if self.size == 8:
            fd = -1 if prog is None else fd_of(prog, self.what)
            out += fd.to_bytes(4, "little", signed=True)
        return out

    def decode(self, data: bytes) -> Any:
        """The field, or ``(field, program id)`` for 8-byte values."""
        first = int.from_bytes(data[:4], "little")
        if self.size == 4:
            return first
        return first, int.from_bytes(data[4:8], "little")


class DevmapValueCodec(_ProgramSlotCodec):
    """DEVMAP values: an ifindex or interface name, or ``(device, program)`` (8 bytes)."""

    kind, field, struct = "devmap", "device", "bpf_devmap_val"

    def _first(self, value: Any) -> Any:
        # interface_index raises NotFound (naming the namespace) for an unknown name
        return interface_index(value) if isinstance(value, str) else value


class CpumapValueCodec(_ProgramSlotCodec):
    """CPUMAP values: a queue size, or ``(qsize, program)`` (8 bytes)."""

    kind, field, struct = "cpumap", "qsize", "bpf_cpumap_val"
