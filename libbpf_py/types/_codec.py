"""The codec protocol and the codecs that need no BTF: integers, raw bytes, per-CPU values.

Pure Python: the engine (:mod:`libbpf_py.types.typed`) builds its BTF codecs on these,
and a map without BTF uses them directly.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import Any, Protocol

from libbpf_py.errors import LayoutError

__all__ = ["BytesCodec", "Codec", "IntCodec", "PerCpu", "PerCpuCodec"]


class Codec(Protocol):
    """Encodes a Python value into exactly ``size`` bytes and decodes it back.

    A codec may also have ``plan()``: its layout for the C fast path of maps (see
    :mod:`libbpf_py._lowlevel.mapcore`), or None where only its Python code decodes it.
    C runs a plan only in the cases it gives the same result as the codec.
    """

    size: int

    def encode(self, value: Any) -> bytes:
        """Return the bytes for ``value``; raise LayoutError or TypeError if it cannot."""

    def decode(self, data: bytes) -> Any:
        """Return the Python value of ``data``."""


def _exact(data: bytes | bytearray | memoryview, size: int, what: str) -> bytes:
    raw = bytes(data)
    if len(raw) != size:
        raise LayoutError(f"{what} must be exactly {size} bytes, got {len(raw)}")
    return raw


class BytesCodec:
    """Raw bytes of exactly ``size`` bytes; ints are accepted for 1/2/4/8-byte layouts."""

    def __init__(self, size: int, what: str) -> None:
        self.size = size
        self.what = what

    def encode(self, value: Any) -> bytes:
        """Encode bytes (exact size) or, for machine-word sizes, a non-negative int."""
        if isinstance(value, bytes | bytearray | memoryview):
            return _exact(value, self.size, self.what)
        if isinstance(value, int) and not isinstance(value, bool) and self.size in (1, 2, 4, 8):
            return IntCodec(self.size, value < 0, self.what).encode(value)
        raise TypeError(
            f"{self.what} is {self.size} raw bytes: give bytes of that size"
            f"{' or an int' if self.size in (1, 2, 4, 8) else ''}, "
            f"not {type(value).__name__}"
        )

    def decode(self, data: bytes) -> bytes:
        """Return the bytes unchanged."""
        return bytes(data)

    def plan(self) -> tuple[Any, ...] | None:
        """The C fast path's layout: exactly ``size`` bytes (ints go the Python way)."""
        return ("bytes", self.size)


class IntCodec:
    """A little-endian integer of ``size`` bytes (the map's BTF says it is one)."""

    def __init__(self, size: int, signed: bool, what: str) -> None:
        self.size = size
        self.signed = signed
        self.what = what
        bits = size * 8
        self.low = -(1 << (bits - 1)) if signed else 0
        self.high = (1 << (bits - 1)) - 1 if signed else (1 << bits) - 1

    def encode(self, value: Any) -> bytes:
        """Encode an int in range (or raw bytes of the exact size)."""
        if isinstance(value, int) and not isinstance(value, bool):
            if not self.low <= value <= self.high:
                raise LayoutError(
                    f"{self.what} is {'a signed' if self.signed else 'an unsigned'} "
                    f"{self.size * 8}-bit integer; {value} does not fit: it is "
                    f"out of range [{self.low}, {self.high}]"
                )
            return value.to_bytes(self.size, "little", signed=self.signed)
        if isinstance(value, bytes | bytearray | memoryview):
            return _exact(value, self.size, self.what)
        raise TypeError(
            f"{self.what} is an integer: give an int (or {self.size} raw bytes), "
            f"not {type(value).__name__}"
        )

    def decode(self, data: bytes) -> int:
        """Decode the integer."""
        return int.from_bytes(data, "little", signed=self.signed)

    def plan(self) -> tuple[Any, ...] | None:
        """The C fast path's layout, for machine-word sizes on a little-endian host (C
        reads the host's order, the codec little-endian: the same bytes only there)."""
        if self.size not in (1, 2, 4, 8) or sys.byteorder != "little":
            return None
        return ("int", self.size, self.signed)


class PerCpu(list[Any]):
    """One value per possible CPU, as a per-CPU map stores them."""

    # No instance dict: one is made for every per-CPU lookup.
    __slots__ = ()

    def sum(self) -> Any:
        """Add the per-CPU values up (ints only)."""
        total = 0
        for value in self:
            total += value
        return total


class PerCpuCodec:
    """Values of a per-CPU map: one slot per possible CPU, each rounded up to 8 bytes."""

    def __init__(self, inner: Codec, ncpus: int) -> None:
        self.inner = inner
        self.ncpus = ncpus
        self.slot = (inner.size + 7) & ~7
        self.size = self.slot * ncpus

    def encode(self, value: Any) -> bytes:
        """Encode one value (written to every CPU) or a sequence of one per CPU.

        A :class:`PerCpu` is always one value per CPU. Where a single value may itself be
        a sequence (structs take tuples, arrays take lists), a ``list`` is per CPU for
        structs and a list of sequences per CPU for arrays; tuples are single values.
        """
        if isinstance(value, bytes | bytearray | memoryview) and len(value) == self.size:
            return bytes(value)
        if self._per_cpu(value):
            if len(value) != self.ncpus:
                raise LayoutError(
                    f"a per-CPU value needs one value per possible CPU "
                    f"({self.ncpus}), got {len(value)}"
                )
            items = list(value)
        else:
            items = [value] * self.ncpus
        pad = b"\0" * (self.slot - self.inner.size)
        return b"".join(self.inner.encode(v) + pad for v in items)

    def _per_cpu(self, value: Any) -> bool:
        if isinstance(value, PerCpu):
            return True
        if not isinstance(value, Sequence) or isinstance(value, bytes | bytearray | str):
            return False
        shape = getattr(self.inner, "takes_sequences", "")
        if shape == "struct":
            return isinstance(value, list)
        if shape == "array":
            return isinstance(value, list) and all(isinstance(v, list | tuple) for v in value)
        return True

    def decode(self, data: bytes) -> PerCpu:
        """Decode into a :class:`PerCpu` list."""
        size, slot = self.inner.size, self.slot
        return PerCpu(
            self.inner.decode(data[i * slot : i * slot + size]) for i in range(self.ncpus)
        )
