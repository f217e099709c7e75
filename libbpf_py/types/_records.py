"""Records typed from BTF: a C type named by the user, as the engine's codec.

An event channel or a test run is told the record's C type by name (``"struct
event"``); this module finds it in the BTF the map or program came with and wraps the
codec :mod:`libbpf_py.types.typed` builds for it, so a record decodes to the very class
the same struct has as a map value or a global. The BTF is the one parsed for the
object (or the kernel's, read once per BTF object, through
:func:`libbpf_py.query.types_of_map`): never parsed a second time here.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from libbpf_py.btf.kinds import BtfKind, Struct
from libbpf_py.errors import LayoutError
from libbpf_py.types._map_btf import vmlinux_types
from libbpf_py.types._numpy import dtype_of
from libbpf_py.types.typed import StructCodec, TypeCodecs, c_name

if TYPE_CHECKING:
    import numpy

    from libbpf_py.btf import Btf

__all__ = ["RecordType", "find_type", "kernel_types", "record_type"]

_KIND_WORDS = {"struct": BtfKind.STRUCT, "union": BtfKind.UNION, "enum": BtfKind.ENUM}


class RecordType:
    """One C type from BTF as a record: the engine's codec, its class and dtype."""

    def __init__(self, types: TypeCodecs, type_id: int, name: str) -> None:
        self.types = types
        self.btf: Btf = types.btf
        self.type_id = type_id
        self.name = name
        self.codec = types.codec(type_id, name)
        self.size: int = self.codec.size
        #: The generated class (structs, unions) or IntEnum (enums), as for map values.
        self.python_type: type | None = getattr(self.codec, "cls", None) or getattr(
            self.codec, "enum", None
        )
        self._decode: Callable[[Any], Any]
        if isinstance(self.codec, StructCodec):
            self._decode = self.codec.decode  # unpack_from: reads longer records in place
        else:
            size, inner = self.size, self.codec.decode
            self._decode = lambda data: inner(bytes(data[:size]))
        self._dtype: Any = None

    def __repr__(self) -> str:
        return f"<RecordType {self.name!r} {self.size} bytes>"

    def decode(self, data: bytes | bytearray | memoryview) -> Any:
        """Decode one record; it must hold at least :attr:`size` bytes."""
        if len(data) < self.size:
            raise LayoutError(
                f"a record of {len(data)} bytes is too short for {self.name} ({self.size} bytes)"
            )
        return self._decode(data)

    def encode(self, value: Any) -> bytes:
        """Encode raw bytes (exactly :attr:`size`), a mapping of fields, or a decoded value."""
        if (
            hasattr(value, "_asdict")
            and not isinstance(value, tuple | bytes)
            and type(value) is not self.python_type
        ):
            value = value._asdict()
        return self.codec.encode(value)

    def dtype(self) -> numpy.dtype[Any]:
        """The numpy dtype of this type (bitfield storage as raw bytes)."""
        if self._dtype is None:
            self._dtype = dtype_of(self.codec)
        return self._dtype  # type: ignore[no-any-return]


def find_type(btf: Btf, name: str) -> int:
    """The id of the type called ``name`` ("struct event", "event_t", "__u64")."""
    text = " ".join(name.split())
    word, _, rest = text.partition(" ")
    kind = _KIND_WORDS.get(word)
    wanted = rest if kind is not None else text
    for type_id in btf.ids_by_name(wanted):
        t = btf[type_id]
        if kind is None and t.kind in (
            BtfKind.FUNC,
            BtfKind.VAR,
            BtfKind.DATASEC,
            BtfKind.FWD,
            BtfKind.DECL_TAG,
            BtfKind.FUNC_PROTO,
        ):
            continue
        if (
            kind is not None
            and t.kind != kind
            and not (kind == BtfKind.ENUM and t.kind == BtfKind.ENUM64)
        ):
            continue
        return type_id
    structs = sorted(c_name(t) for t in btf if isinstance(t, Struct) and t.name)
    hint = f"; types of that kind here: {', '.join(structs[:12])}" if structs else ""
    raise LayoutError(f"no BTF type named {name!r} in this object{hint}")


def record_type(types: TypeCodecs, name: str) -> RecordType:
    """The :class:`RecordType` called ``name`` in the BTF of ``types``."""
    return RecordType(types, find_type(types.btf, name), " ".join(name.split()))


def kernel_types() -> TypeCodecs:
    """The engine of the running kernel's BTF (/sys/kernel/btf/vmlinux), read once."""
    return vmlinux_types()
