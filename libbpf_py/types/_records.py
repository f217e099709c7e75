"""Records typed from BTF: a C type named by the user, as the engine's codec.

An event channel or a test run is told the record's C type by name (``"struct
event"``); this module finds it in the BTF the map or program came with and wraps the
codec :mod:`libbpf_py.types.typed` builds for it, so a record decodes to the very class
the same struct has as a map value or a global. The BTF is the one parsed for the
object (or the kernel's, read once per BTF object, through
:func:`libbpf_py.query.types_of_map`): never parsed a second time here.

Records as real tools send them: an execsnoop-style program ends its struct with a large
array (``char args[N]`` of NUL-separated strings) and submits only
``offsetof(struct event, args) + args_size`` bytes. A record shorter than its struct
decodes when what is missing is the tail of that trailing array (or the struct's
trailing padding): the array holds what arrived — a ``char`` array the bytes that
arrived, trailing NULs stripped by the one ``char`` rule; an ``unsigned char`` array
every byte that arrived; any other array a list of the whole elements that arrived.
A record that ends before the trailing array raises :class:`LayoutError` naming the
field it ends in. A full-size record costs what it always did: one length test, then
the generated decoder; only a short record pays for the check and a padded copy.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

from libbpf_py.btf.kinds import BtfKind, Struct
from libbpf_py.errors import LayoutError
from libbpf_py.types._map_btf import vmlinux_types
from libbpf_py.types._numpy import dtype_of
from libbpf_py.types.typed import ArrayCodec, CharArrayCodec, StructCodec, TypeCodecs, c_name

if TYPE_CHECKING:
    import numpy

    from libbpf_py.btf import Btf

__all__ = ["RecordType", "find_type", "kernel_types", "record_type"]

_KIND_WORDS = {"struct": BtfKind.STRUCT, "union": BtfKind.UNION, "enum": BtfKind.ENUM}


class _Tail:
    """Where a struct's members end, and its trailing array if it has one: what a short
    record of the struct is checked against (built on the first short record)."""

    __slots__ = (
        "describe",
        "elem",
        "index",
        "kind",
        "leaves",
        "members_end",
        "name",
        "nbytes",
        "offset",
    )

    def __init__(self, codec: StructCodec) -> None:
        #: (first byte, end byte, dotted name) of every member, nested structs opened.
        self.leaves = sorted(_leaves(codec, 0, ""))
        self.members_end = max((end for _, end, _ in self.leaves), default=0)
        self.index = -1
        self.name = ""
        self.offset = self.nbytes = self.elem = 0
        self.kind = self.describe = ""
        plain = [(f.offset, i) for i, f in enumerate(codec.fields) if not f.bits]
        if not plain:
            return
        offset, index = max(plain)
        f = codec.fields[index]
        if offset + f.codec.size != self.members_end:
            return  # the last member is not the one that ends last (a bitfield does)
        if isinstance(f.codec, CharArrayCodec):
            self.kind, self.elem = ("text" if f.codec.text else "bytes"), 1
        elif isinstance(f.codec, ArrayCodec):
            self.kind, self.elem = "list", f.codec.elem.size
        else:
            return
        self.index, self.name, self.offset, self.nbytes = index, f.name, offset, f.codec.size
        #: The trailing array in words, for error messages.
        self.describe = f"{f.codec.describe()} {f.name!r} at byte {offset}"


def _leaves(codec: StructCodec, base: int, prefix: str) -> Iterator[tuple[int, int, str]]:
    for f in codec.fields:
        start = base + f.offset
        name = f"{prefix}{f.name}"
        if f.bits:
            yield start, start + (f.shift + f.bits + 7) // 8, name
        elif isinstance(f.codec, StructCodec):
            yield from _leaves(f.codec, start, f"{name}.")
        else:
            yield start, start + f.codec.size, name


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
        self._tail: _Tail | None = None

    def __repr__(self) -> str:
        return f"<RecordType {self.name!r} {self.size} bytes>"

    def decode(self, data: bytes | bytearray | memoryview) -> Any:
        """Decode one record of at least :attr:`size` bytes, or a shorter one cut inside
        the struct's trailing array (see :meth:`trailing_size`)."""
        if len(data) < self.size:
            return self._decode_short(data)
        return self._decode(data)

    @property
    def decode_in_place(self) -> Callable[[Any], Any]:
        """The decoder of a record of at least :attr:`size` bytes, without
        :meth:`decode`'s length check: batched ring callbacks (csrc/ringcore.c) call it
        on the record in the ring's pages, and :meth:`decode` for shorter ones. The
        values it makes hold copies, never views."""
        return self._decode

    @property
    def trailing(self) -> str | None:
        """The name of the struct's trailing array, the one member a record may cut short
        (None: the type has none, and a record must hold every member)."""
        if not isinstance(self.codec, StructCodec):
            return None
        return self._layout().name or None

    def trailing_size(self, record_size: int) -> int:
        """How many bytes of the trailing array a record of ``record_size`` bytes holds.

        A full record holds the whole array. Raises :class:`LayoutError` naming the
        field where a record of that size ends, if it ends before the trailing array.
        """
        if not isinstance(self.codec, StructCodec):
            if record_size < self.size:
                raise LayoutError(
                    f"a record of {record_size} bytes is too short for {self.name} "
                    f"({self.size} bytes)"
                )
            return 0
        tail = self._layout()
        if record_size >= self.size:
            return tail.nbytes
        if tail.index >= 0 and record_size >= tail.offset:
            return min(record_size - tail.offset, tail.nbytes)
        if record_size >= tail.members_end:
            return tail.nbytes  # only the struct's trailing padding is missing
        raise self._cut_error(record_size, tail)

    def _layout(self) -> _Tail:
        if self._tail is None:
            assert isinstance(self.codec, StructCodec)
            self._tail = _Tail(self.codec)
        return self._tail

    def _cut_error(self, record_size: int, tail: _Tail) -> LayoutError:
        start, end, name = next(leaf for leaf in tail.leaves if leaf[1] > record_size)
        where = (
            f"ends inside field {name!r} (bytes {start} to {end})"
            if record_size > start
            else f"ends before field {name!r} (bytes {start} to {end})"
        )
        rule = (
            f"only the trailing array, {tail.describe}, may arrive short"
            if tail.index >= 0
            else f"{self.name} has no trailing array, so a record holds every member"
        )
        return LayoutError(
            f"a record of {record_size} bytes is too short for {self.name} "
            f"({self.size} bytes): it {where}; {rule}"
        )

    def _decode_short(self, data: bytes | bytearray | memoryview) -> Any:
        """A record cut short: checked, padded with zeros to the full size, decoded, and
        its trailing array cut to what arrived."""
        arrived = self.trailing_size(len(data))
        value = self._decode(bytes(data) + bytes(self.size - len(data)))
        tail = self._layout()
        if tail.index < 0 or arrived == tail.nbytes or tail.kind == "text":
            return value  # a char array's padding is trailing NULs: the char rule strips them
        if tail.kind == "bytes":
            kept: Any = bytes(data[tail.offset : tail.offset + arrived])
        else:
            kept = value[tail.index][: arrived // tail.elem]
        return tuple.__new__(type(value), (*value[: tail.index], kept, *value[tail.index + 1 :]))

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
