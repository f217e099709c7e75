"""The one BTF-to-Python engine: codecs for map keys and values, globals, ring and perf
records and ``test_run`` contexts, built from BTF once per type.

A :class:`TypeCodecs` wraps one :class:`~libbpf_py.btf.Btf` and hands out one
codec per type id, memoized: integers and enums decode to ``int`` / ``IntEnum`` (C
``bool`` to ``bool``), structs to generated named-tuple classes (immutable, attribute
access, ``==``, ``hash``, ``_asdict()``, ``_replace()``), unions to generated classes
with every member decoded, arrays to lists, to any depth, bitfields included. The
members of anonymous structs and unions are also attributes of the struct holding them,
as in C. Encoding accepts those classes, dicts, tuples and raw ``bytes`` of exactly the
right size. One C type has one Python class, whether it comes from a map, a global, a
ring buffer, a perf buffer, a test run or an object read without the kernel
(:mod:`libbpf_py.inspect`): engines of different BTF blobs (an object's ``.BTF`` as
compiled, the same BTF as libbpf fixed it up at open) share the class of a struct, union
or enum whose name and layout agree. Values are decoded in the byte order of their BTF
(big-endian objects read without the kernel included).

The ``char`` rule: a plain ``char[N]`` decodes to ``bytes`` with its trailing NULs
stripped, never cut at an interior NUL (NUL-separated strings survive); ``unsigned
char``/``signed char`` (``__u8[N]``) arrays keep all N bytes; numpy keeps the raw bytes.

A struct packs and unpacks through one precompiled :class:`struct.Struct` and a
generated function, so a typed value costs one ``unpack_from`` and one ``tuple.__new__``,
not a walk over the BTF (and a record longer than its type, as perf samples are, decodes
without a copy).
"""

from __future__ import annotations

import collections
import enum
import functools
import keyword
import operator
import struct
import sys
import threading
import weakref
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from libbpf_py.btf.kinds import (
    Array,
    BtfKind,
    BtfType,
    Enum,
    Float,
    Int,
    Ptr,
    Struct,
)
from libbpf_py.btf.reader import Btf
from libbpf_py.errors import LayoutError
from libbpf_py.types._codec import BytesCodec, Codec, IntCodec

__all__ = [
    "ArrayCodec",
    "BigIntCodec",
    "BoolCodec",
    "CharArrayCodec",
    "EnumCodec",
    "FloatCodec",
    "StructCodec",
    "TypeCodecs",
    "TypedValue",
    "UnionCodec",
    "c_name",
    "int_format",
    "is_char",
    "is_signed",
    "is_text",
    "sign_extend",
    "simple_type",
]

_INT_FMT = {
    (1, False): "B",
    (1, True): "b",
    (2, False): "H",
    (2, True): "h",
    (4, False): "I",
    (4, True): "i",
    (8, False): "Q",
    (8, True): "q",
}
_DEPTH = 64
#: Arrays longer than this decode through their codec, not one expression per element.
_MAX_UNROLLED = 64
#: Values one decode format holds at most; the rest decode through their codecs.
_MAX_VALUES = 2048
_CHAR_NAMES = ("char", "signed char", "unsigned char")
# The C fast path reads the host's byte order; plans exist where that is the codecs'.
_LITTLE_HOST = sys.byteorder == "little"
_UNPLANNED = object()


def int_format(size: int, signed: bool) -> str | None:
    """The :mod:`struct` code of a little-endian integer of ``size`` bytes (None: no code)."""
    return _INT_FMT.get((size, signed))


def is_char(btf: Btf, type_id: int) -> bool:
    """Whether ``type_id`` is a one-byte character type: an array of it reads as bytes."""
    t = btf.skip_qualifiers(type_id)
    return isinstance(t, Int) and t.size == 1 and (t.is_char or t.name in _CHAR_NAMES)


def is_text(btf: Btf, type_id: int) -> bool:
    """Whether an array of ``type_id`` is text: plain ``char``, NUL-terminated.

    ``unsigned char`` and ``signed char`` (``__u8``, ``__s8``) arrays hold binary data —
    MAC and IP addresses, hashes — in which a zero byte is data: they read whole.
    """
    t = btf.skip_qualifiers(type_id)
    return isinstance(t, Int) and t.size == 1 and (t.is_char or t.name == "char")


def is_signed(t: BtfType) -> bool:
    """Whether an integer or enum type is signed (a bitfield of it is sign-extended)."""
    return (isinstance(t, Int) and t.is_signed) or (isinstance(t, Enum) and t.signed)


def sign_extend(v: int, bits: int) -> int:
    """The signed value of the ``bits``-bit two's complement number ``v``."""
    return v - (1 << bits) if v >> (bits - 1) else v


def c_name(t: BtfType) -> str:
    """The C name of a type, e.g. ``struct flow``, ``enum colour`` or ``__u32``."""
    if t.kind in (BtfKind.STRUCT, BtfKind.UNION):
        return f"{t.kind.name.lower()} {t.name or '(anonymous)'}"
    if t.kind == BtfKind.ENUM or t.kind == BtfKind.ENUM64:
        return f"enum {t.name}"
    return t.name or t.kind.name.lower()


def _raw(value: Any, size: int, what: str, layout: Any = None) -> bytes | None:
    """``value`` as exact-size bytes if it is a bytes-like, else None.

    ``layout`` is a codec whose ``describe()`` names the layout in the error message.
    """
    if isinstance(value, bytes | bytearray | memoryview):
        raw = bytes(value)
        if len(raw) != size:
            text = f" ({layout.describe()})" if layout is not None else ""
            raise LayoutError(f"{what} must be exactly {size} bytes{text}, got {len(raw)}")
        return raw
    return None


class FloatCodec:
    """A ``float`` or ``double``."""

    def __init__(self, size: int, what: str, order: str = "<") -> None:
        if size not in (4, 8):
            raise LayoutError(f"{what}: floats of {size} bytes are not supported")
        self.size = size
        self.what = what
        self.fmt = "f" if size == 4 else "d"
        self.order = order
        self._s = struct.Struct(order + self.fmt)

    def encode(self, value: Any) -> bytes:
        """Encode a float (or an int), or raw bytes."""
        raw = _raw(value, self.size, self.what)
        if raw is not None:
            return raw
        if isinstance(value, float | int) and not isinstance(value, bool):
            return self._s.pack(value)
        raise TypeError(
            f"{self.what} is a {self.size * 8}-bit float: give a float, not {type(value).__name__}"
        )

    def decode(self, data: bytes) -> float:
        """Decode the float."""
        return float(self._s.unpack(data)[0])

    def plan(self) -> tuple[Any, ...] | None:
        """The C fast path's layout (a little-endian float on a little-endian host)."""
        return ("float", self.size) if self.order == "<" and _LITTLE_HOST else None

    def zero(self) -> float:
        """The value of all-zero bytes."""
        return 0.0

    def describe(self) -> str:
        """The C layout, for error messages."""
        return "float" if self.size == 4 else "double"


class EnumCodec(IntCodec):
    """An enum: decodes to a member of a generated ``IntEnum`` (unknown values stay int)."""

    def __init__(
        self, t: Enum, what: str, cls: type[enum.IntEnum] | None = None, byteorder: str = "little"
    ) -> None:
        super().__init__(t.size, t.signed, what)
        self.byteorder = byteorder
        if cls is None:
            members: dict[str, int] = {}
            for v in t.values:
                if v.name and v.name.isidentifier() and v.value not in members.values():
                    members[v.name] = v.value
            name = _identifier(t.name or "anonymous_enum")
            made: Any = enum.IntEnum(name, members)  # type: ignore[misc]
            cls = made
        self.enum: type[enum.IntEnum] = cls
        self.by_value: dict[int, Any] = {int(m): m for m in self.enum}
        self._names = {v.name: v.value for v in t.values}
        self.c_name = f"enum {t.name}" if t.name else "enum"

    def encode(self, value: Any) -> bytes:
        """Encode a member, its name, an int, or raw bytes."""
        if isinstance(value, str):
            if value not in self._names:
                raise LayoutError(
                    f"{self.what}: {self.c_name} has no member {value!r} "
                    f"(members: {', '.join(self._names)})"
                )
            value = self._names[value]
        raw = super().encode(value)
        if self.byteorder == "big" and not isinstance(value, bytes | bytearray | memoryview):
            return raw[::-1]
        return raw

    def decode(self, data: bytes) -> Any:
        """Decode into the enum member, or the plain int if no member has the value."""
        v = int.from_bytes(data, self.byteorder, signed=self.signed)  # type: ignore[arg-type]
        return self.by_value.get(v, v)

    def convert(self, value: int) -> Any:
        """The member for an already decoded integer."""
        return self.by_value.get(value, value)

    def plan(self) -> tuple[Any, ...] | None:
        """The C fast path's layout: the integer, then its member as :meth:`decode`."""
        base = super().plan()
        if base is None or self.byteorder != "little":
            return None
        return ("enum", self.size, self.signed, self.by_value)


class BoolCodec(IntCodec):
    """A C ``bool`` (``_Bool``): decodes to ``bool``; encodes a bool or 0/1."""

    fmt = "?"

    def __init__(self, what: str) -> None:
        super().__init__(1, False, what)

    def encode(self, value: Any) -> bytes:
        """Encode a bool (or an int in range, or one raw byte)."""
        if isinstance(value, bool):
            return b"\x01" if value else b"\x00"
        return super().encode(value)

    def decode(self, data: bytes) -> bool:
        """Decode: any non-zero byte is True, as in C."""
        return data[0] != 0

    def plan(self) -> tuple[Any, ...] | None:
        """None: bools decode in Python."""
        return None


class BigIntCodec(IntCodec):
    """A big-endian integer (BTF of a big-endian object, read without the kernel)."""

    def encode(self, value: Any) -> bytes:
        """Encode an int in range (or raw bytes of the exact size)."""
        raw = super().encode(value)
        return raw if isinstance(value, bytes | bytearray | memoryview) else raw[::-1]

    def decode(self, data: bytes) -> int:
        """Decode the integer."""
        return int.from_bytes(data, "big", signed=self.signed)

    def plan(self) -> tuple[Any, ...] | None:
        """None: big-endian integers decode in Python."""
        return None


class CharArrayCodec:
    """A one-byte array as ``bytes``, encoded padded with NULs.

    ``char name[N]`` (``text``) decodes without its trailing NULs; ``unsigned char`` and
    ``signed char`` arrays decode whole, all N bytes.
    """

    def __init__(self, size: int, what: str, text: bool = True) -> None:
        self.size = size
        self.what = what
        self.text = text
        if not text:
            self.decode = self._whole  # type: ignore[method-assign]

    def encode(self, value: Any) -> bytes:
        """Encode bytes (or str, as UTF-8) of at most ``size`` bytes, padded with NULs."""
        if isinstance(value, str):
            value = value.encode()
        if isinstance(value, bytes | bytearray | memoryview):
            raw = bytes(value)
            if len(raw) > self.size:
                raise LayoutError(f"{self.what} is {self.describe()}: {len(raw)} bytes do not fit")
            return raw.ljust(self.size, b"\0")
        raise TypeError(
            f"{self.what} is {self.describe()}: give bytes or str, not {type(value).__name__}"
        )

    def decode(self, data: bytes) -> bytes:
        """The bytes without trailing NULs (text), or all of them."""
        return bytes(data).rstrip(b"\0")

    def _whole(self, data: bytes) -> bytes:
        return bytes(data)

    def plan(self) -> tuple[Any, ...] | None:
        """The C fast path's layout: the bytes, without trailing NULs for text."""
        return ("chars", self.size, self.text)

    def zero(self) -> bytes:
        """The value of all-zero bytes."""
        return b"" if self.text else bytes(self.size)

    def describe(self) -> str:
        """The C layout, for error messages."""
        return f"char[{self.size}]" if self.text else f"u8[{self.size}]"


class ArrayCodec:
    """``T name[N]`` as a list of N decoded elements."""

    takes_sequences = "array"

    def __init__(self, elem: Codec, n: int, what: str, order: str = "<") -> None:
        self.elem = elem
        self.n = n
        self.size = elem.size * n
        self.what = what
        self.order = order
        fmt = getattr(elem, "fmt", None)
        self._s = (
            struct.Struct(f"{order}{n}{fmt}") if fmt and not isinstance(elem, EnumCodec) else None
        )

    def encode(self, value: Any) -> bytes:
        """Encode a sequence of exactly N elements, or raw bytes."""
        raw = _raw(value, self.size, self.what)
        if raw is not None:
            return raw
        if not isinstance(value, Sequence) or isinstance(value, str):
            raise TypeError(
                f"{self.what} is an array of {self.n}: give a list or tuple, "
                f"not {type(value).__name__}"
            )
        if len(value) != self.n:
            raise LayoutError(
                f"{self.what} is an array of exactly {self.n} elements "
                f"({self.describe()}), got {len(value)}"
            )
        if self._s is not None:
            try:
                return self._s.pack(*value)
            except (struct.error, TypeError, OverflowError):
                pass  # diagnose element by element below
        return b"".join(self.elem.encode(v) for v in value)

    def decode(self, data: bytes) -> list[Any]:
        """Decode into a list."""
        if self._s is not None:
            return list(self._s.unpack(data))
        size = self.elem.size
        mv = memoryview(data)
        return [self.elem.decode(bytes(mv[i * size : (i + 1) * size])) for i in range(self.n)]

    def zero(self) -> list[Any]:
        """The value of all-zero bytes."""
        return self.decode(b"\0" * self.size)

    def plan(self) -> tuple[Any, ...] | None:
        """The C fast path's layout: a list of elements of the element's plan."""
        sub = getattr(self.elem, "plan", None)
        elem = sub() if sub is not None and self.order == "<" else None
        return None if elem is None else ("array", self.size, self.n, elem)

    def describe(self) -> str:
        """The C layout, for error messages."""
        return f"{_describe(self.elem)}[{self.n}]"


class TypedValue:
    """Base of the generated struct and union classes: ``repr``, ``_asdict()``.

    Struct classes are also ``tuple`` subclasses (named tuples): one ``tuple.__new__``
    per decoded value, immutable, hashable, unpackable, equal to a tuple of the same
    values. Union classes keep one slot per member, since a union also remembers which
    member was given to encode it.
    """

    __slots__ = ()
    _fields: tuple[str, ...] = ()
    _c_name = ""

    def _astuple(self) -> tuple[Any, ...]:
        return tuple(getattr(self, f) for f in self._fields)

    def _asdict(self) -> dict[str, Any]:
        """The fields as a dict (nested values stay objects)."""
        return {f: getattr(self, f) for f in self._fields}

    def __eq__(self, other: object) -> bool:
        if type(other) is type(self):
            return self._astuple() == other._astuple()
        return NotImplemented

    def __hash__(self) -> int:
        return hash(_frozen(self._astuple()))

    def __repr__(self) -> str:
        inner = ", ".join(f"{f}={getattr(self, f)!r}" for f in self._fields)
        return f"{type(self).__name__}({inner})"


@functools.lru_cache(maxsize=1024)
def _compiled(src: str, filename: str) -> Any:
    return compile(src, filename, "exec")


def _define(src: str, scope: dict[str, Any], filename: str = "<generated by typed>") -> None:
    """Run generated source in ``scope``. The source holds only generated names and
    integers (the objects it uses come in through ``scope``), so the same layout gives
    the same text and its compiled code is kept: another engine (another BTF blob, the
    same object read again) pays for a new scope, not for a compile."""
    exec(_compiled(src, filename), scope)


def _frozen(value: Any) -> Any:
    if isinstance(value, list | tuple):
        return tuple(_frozen(v) for v in value)
    return value


def _identifier(name: str) -> str:
    text = "".join(c if c.isalnum() or c == "_" else "_" for c in name) or "anonymous"
    if text[0].isdigit() or keyword.iskeyword(text):
        text = "_" + text
    return text


# namedtuple's own C field accessor, the fastest attribute read a tuple can have; a
# property over itemgetter does the same where the interpreter does not offer it.
_tuplegetter: Any = getattr(collections, "_tuplegetter", None)


def _field_getter(index: int, doc: str) -> Any:
    if _tuplegetter is not None:
        return _tuplegetter(index, doc)
    return property(operator.itemgetter(index), doc=doc)  # pragma: no cover


def _struct_hash(self: tuple[Any, ...]) -> int:
    return hash(_frozen(tuple(self)))


def _make_struct_class(
    c_name: str, fields: list[str], defaults: list[Callable[[], Any]], flat: dict[str, str]
) -> type[TypedValue]:
    """A named-tuple class: one item per field, built by position or name."""
    params = ", ".join(f"{f}=_MISSING" for f in fields)
    items = "".join(f"_d{i}() if {f} is _MISSING else {f}, " for i, f in enumerate(fields))
    src = f"def __new__(cls, {params}):\n    return _tnew(cls, ({items}))\n"
    scope: dict[str, Any] = {"_MISSING": _MISSING, "_tnew": tuple.__new__}
    scope.update({f"_d{i}": d for i, d in enumerate(defaults)})
    _define(src, scope)
    names = tuple(fields)

    def _make(cls: type[Any], iterable: Any) -> Any:
        value = tuple.__new__(cls, iterable)
        if len(value) != len(names):
            raise TypeError(f"{c_name} has {len(names)} fields, got {len(value)} values")
        return value

    def _replace(self: Any, **changes: Any) -> Any:
        value = self._make(map(changes.pop, names, self))
        if changes:
            raise ValueError(f"{c_name} has no field {', '.join(map(repr, changes))}")
        return value

    ns: dict[str, Any] = {
        "__slots__": (),
        "__new__": scope["__new__"],
        "_fields": names,
        "__match_args__": names,
        "_c_name": c_name,
        "_make": classmethod(_make),
        "_replace": _replace,
        "_astuple": tuple,
        "_asdict": lambda self: dict(zip(names, self, strict=True)),
        "__getnewargs__": tuple,
        # Tuple equality: a decoded struct equals another of the same values and the
        # plain tuple of them; lists inside are frozen for the hash.
        "__eq__": tuple.__eq__,
        "__ne__": tuple.__ne__,
        "__hash__": _struct_hash,
        "__doc__": f"A Python view of ``{c_name}`` (a named tuple generated from BTF).",
    }
    for i, f in enumerate(fields):
        ns[f] = _field_getter(i, f"{c_name}.{f}")
    for name, path in flat.items():
        ns[name] = property(operator.attrgetter(path), doc=f"{c_name}.{name} (anonymous member)")
    return type(_identifier(c_name.split(" ")[-1]), (TypedValue, tuple), ns)


def _make_class(
    c_name: str, fields: list[str], defaults: list[Callable[[], Any]], flat: dict[str, str]
) -> type[TypedValue]:
    """A union class with one slot per member, taking them by position or name."""
    params = ", ".join(f"{f}=_MISSING" for f in fields)
    body = "\n".join(
        f"    self.{f} = _d{i}() if {f} is _MISSING else {f}" for i, f in enumerate(fields)
    )
    body += (
        "\n    self._given = tuple(f for f, v in zip(_FIELDS, ("
        + "".join(f + ", " for f in fields)
        + ")) if v is not _MISSING)"
    )
    src = f"def __init__(self, {params}):\n{body}\n"
    scope: dict[str, Any] = {"_MISSING": _MISSING, "_FIELDS": tuple(fields)}
    scope.update({f"_d{i}": d for i, d in enumerate(defaults)})
    _define(src, scope)
    slots = (*fields, "_given", "_raw")
    getter = operator.attrgetter(*fields) if len(fields) > 1 else None
    astuple: Callable[[Any], tuple[Any, ...]] = (
        (lambda self: getter(self))
        if getter is not None
        else (lambda self: tuple(getattr(self, f) for f in fields))
    )
    ns: dict[str, Any] = {
        "__slots__": slots,
        "__init__": scope["__init__"],
        "_fields": tuple(fields),
        "_astuple": astuple,
        "_c_name": c_name,
        "__doc__": f"A Python view of ``{c_name}`` (generated from BTF).",
    }
    for name, path in flat.items():
        ns[name] = property(operator.attrgetter(path), doc=f"{c_name}.{name} (anonymous member)")
    return type(_identifier(c_name.split(" ")[-1]), (TypedValue,), ns)


_MISSING: Any = object()
# Names the generated classes use themselves: a member called so gets its index appended.
_RESERVED = frozenset(
    {"_fields", "_c_name", "_asdict", "_astuple", "_replace", "_make", "_given", "_raw"}
)


class _Field:
    """One member of a struct: where it lives and how it is coded."""

    __slots__ = ("anonymous", "bits", "codec", "name", "offset", "shift", "signed")

    def __init__(
        self,
        name: str,
        codec: Codec,
        offset: int,
        bits: int = 0,
        shift: int = 0,
        signed: bool = False,
        anonymous: bool = False,
    ) -> None:
        self.name = name
        self.anonymous = anonymous  # an unnamed struct/union: its members are ours too
        self.codec = codec
        self.offset = offset  # bytes; for bitfields the first byte of the storage span
        self.bits = bits
        self.shift = shift
        self.signed = signed


class _Aggregate:
    """What struct and union codecs share: C name, size, fields and the Python class."""

    takes_sequences = "struct"
    _union = False

    def __init__(
        self,
        c_name: str,
        size: int,
        fields: list[_Field],
        what: str,
        cls: type[TypedValue] | None = None,
        order: str = "<",
    ) -> None:
        self.size = size
        self.what = what
        self.c_name = c_name
        self.fields = fields
        self.order = order  # struct's byte order prefix: "<" or ">"
        self.byteorder = "little" if order == "<" else "big"
        # Members of anonymous structs and unions, reachable by their own names as in C:
        # name -> dotted path through the generated ``_anonN`` fields.
        self.flat: dict[str, str] = {}
        own = {f.name for f in fields}
        for f in fields:
            inner = f.codec
            if f.anonymous and isinstance(inner, _Aggregate):
                for g in inner.fields:
                    if not g.anonymous and g.name not in own:
                        self.flat.setdefault(g.name, f"{f.name}.{g.name}")
                for name, path in inner.flat.items():
                    if name not in own:
                        self.flat.setdefault(name, f"{f.name}.{path}")
        self.names = frozenset(own)
        self._zeros = [(f.name, _zero_of(f.codec)) for f in fields]  # for dicts missing some
        make = _make_class if self._union else _make_struct_class
        self.cls = cls or make(
            c_name, [f.name for f in fields], [_zero_of(f.codec) for f in fields], self.flat
        )

    def nested(self, value: Mapping[Any, Any]) -> dict[Any, Any]:
        """A mapping of fields with the names of anonymous members moved into theirs."""
        names = self.names
        out: dict[Any, Any] = {}
        for key, v in value.items():
            path = self.flat.get(key) if key not in names else None
            if path is None:
                if key not in names:
                    listed = ", ".join([*(f.name for f in self.fields), *self.flat])
                    raise LayoutError(
                        f"no field named {key!r}: {self.what} ({self.c_name}) "
                        f"has no field {key!r}; its fields: {listed}"
                    )
                out[key] = v
                continue
            head = path.partition(".")[0]
            inner = out.setdefault(head, {})
            if not isinstance(inner, dict):
                raise LayoutError(f"{self.what}: {key!r} is in {head!r}, given twice")
            inner[key] = v  # the anonymous member's own codec knows the rest of the path
        return out

    def shift(self, rel: int, span: int, bits: int) -> int:
        """How far right a bitfield sits in the integer of its ``span`` storage bytes,
        ``rel`` bits after the span's first bit (BTF counts from the low bit of a
        little-endian span, from the high bit of a big-endian one)."""
        return rel if self.order == "<" else span * 8 - rel - bits


class _DecodeWriter:
    """Writes one decode function for a struct: a single ``struct.Struct`` covers every
    member it can (nested structs, scalar arrays, char arrays, enums, bitfield storage),
    and the value is built in one expression, so a record costs one ``unpack_from`` and
    one ``tuple.__new__`` per struct, not a Python call per field. A member laid over
    another (in a union) is read by its own precompiled ``unpack_from``, a C call; what
    no format holds (very long arrays, too deep nesting) calls that member's codec on its
    bytes. Only generated names and integers go into the source.
    """

    def __init__(self, order: str = "<") -> None:
        self.order = order
        self.fmt = [order]
        self.pos = 0
        self.count = 0
        self.scope: dict[str, Any] = {"_new": tuple.__new__}

    def const(self, obj: Any) -> str:
        name = f"_k{len(self.scope)}"
        self.scope[name] = obj
        return name

    def slot(self, code: str, size: int, offset: int) -> str | None:
        """The next unpacked value, or None where it would overlap the last one."""
        if offset < self.pos or self.count >= _MAX_VALUES:
            return None
        if offset > self.pos:
            self.fmt.append(f"{offset - self.pos}x")
        self.fmt.append(code)
        self.pos = offset + size
        self.count += 1
        return f"t[{self.count - 1}]"

    def call(self, codec: Codec, offset: int) -> str:
        return f"{self.const(codec.decode)}(bytes(data[{offset}:{offset + codec.size}]))"

    def scalar(self, code: str, size: int, offset: int) -> str:
        """A value of the one format, or (over another member) its own C-level unpack."""
        got = self.slot(code, size, offset)
        if got is None:
            got = f"{self.const(struct.Struct(self.order + code).unpack_from)}(data, {offset})[0]"
        return got

    def expr(self, codec: Codec, offset: int, depth: int) -> str:
        if depth > _DEPTH:
            return self.call(codec, offset)
        if isinstance(codec, CharArrayCodec):
            got = (
                self.slot(f"{codec.size}s", codec.size, offset)
                or f"bytes(data[{offset}:{offset + codec.size}])"
            )
            return f"{got}.rstrip(b'\\x00')" if codec.text else got  # the char rule
        code = getattr(codec, "fmt", None)
        if isinstance(codec, EnumCodec):
            if not code:
                return self.call(codec, offset)
            got = self.scalar(code, codec.size, offset)
            return f"{self.const(codec.by_value.get)}({got}, {got})"
        if code and not isinstance(codec, ArrayCodec):
            return self.scalar(code, codec.size, offset)
        if isinstance(codec, ArrayCodec) and codec.n <= _MAX_UNROLLED:
            step = codec.elem.size
            items = [self.expr(codec.elem, offset + i * step, depth + 1) for i in range(codec.n)]
            return "[" + "".join(x + ", " for x in items) + "]"
        if isinstance(codec, StructCodec | UnionCodec):
            return codec.inline(self, offset, depth)
        return self.call(codec, offset)

    def function(self, codec: StructCodec | UnionCodec) -> Callable[[Any], Any]:
        body = codec.inline(self, 0, 0)
        lines = ["def decode(data):"]
        if self.count:
            # unpack_from: a record may be longer than its type (perf samples are
            # padded), and ring memory is read in place.
            self.scope["_unpack"] = struct.Struct("".join(self.fmt)).unpack_from
            names = [k for k, v in self.scope.items() if v is codec.cls]
            flat = f"_new({names[0]}, (" if names else ""
            if flat and body == flat + "".join(f"t[{i}], " for i in range(self.count)) + "))":
                body = flat[:-3] + ", _unpack(data))"  # scalars only: the tuple itself
            else:
                lines.append("    t = _unpack(data)")
        lines.append(f"    return {body}")
        _define("\n".join(lines), self.scope, f"<decoder of {codec.c_name}>")
        return self.scope["decode"]  # type: ignore[no-any-return]


class StructCodec(_Aggregate):
    """A struct: decodes to a generated class, encodes from it, a dict, a tuple or bytes.

    The layout is compiled once into a :class:`struct.Struct` (padding as pad bytes,
    nested aggregates and bitfield storage as byte strings) and two generated functions.
    """

    def __init__(
        self,
        c_name: str,
        size: int,
        fields: list[_Field],
        what: str,
        cls: type[TypedValue] | None = None,
        order: str = "<",
    ) -> None:
        super().__init__(c_name, size, fields, what, cls, order)
        self._plan: Any = _UNPLANNED  # a plan, None, or not made yet
        self._compile()

    def _compile(self) -> None:
        """The pack function (one ``struct.Struct``, per-field checks on failure) and the
        decode function (one ``unpack_from`` of the whole type, nested ones inlined)."""
        fmt = [self.order]
        pos = 0
        enc_items: list[str] = []
        scope: dict[str, Any] = {"_bf": _bitfield}
        spans = self.spans = bitfield_spans(self.fields)
        span_of = {i: s for s in spans for i in s[2]}
        done_spans: set[int] = set()
        for i, f in enumerate(self.fields):
            if f.bits:
                start, end, members = span_of[i]
                if start in done_spans:
                    continue
                done_spans.add(start)
                if start > pos:
                    fmt.append(f"{start - pos}x")
                n = end - start
                fmt.append(_INT_FMT.get((n, False), f"{n}s"))
                parts = []
                for j in members:
                    g = self.fields[j]
                    rel = self.shift((g.offset - start) * 8 + g.shift, n, g.bits)
                    parts.append(f"(_bf(v{j}, {g.bits}, {g.signed}) << {rel})")
                packed = " | ".join(parts)
                enc_items.append(
                    packed if n in (1, 2, 4, 8) else f"({packed}).to_bytes({n}, '{self.byteorder}')"
                )
                pos = end
                continue
            if f.offset > pos:
                fmt.append(f"{f.offset - pos}x")
            c = f.codec
            code = getattr(c, "fmt", None)
            if code and not isinstance(c, CharArrayCodec):
                fmt.append(code)
                if isinstance(c, EnumCodec):
                    scope[f"_n{i}"] = c.encode
                    enc_items.append(
                        f"(v{i} if type(v{i}) is int else "
                        f"int.from_bytes(_n{i}(v{i}), '{self.byteorder}', "
                        f"signed={c.signed}))"
                    )
                else:
                    enc_items.append(f"v{i}")
            else:
                fmt.append(f"{c.size}s")
                scope[f"_c{i}"] = c.encode
                enc_items.append(f"_c{i}(v{i})")
            pos = f.offset + c.size
        if self.size > pos:
            fmt.append(f"{self.size - pos}x")
        self._s = struct.Struct("".join(fmt))
        if self._s.size != self.size:
            raise LayoutError(
                f"{self.what}: BTF says {self.c_name} has {self.size} bytes "
                f"but its members cover {self._s.size}"
            )
        scope["_S"] = self._s
        args = ", ".join(f"v{i}" for i in range(len(self.fields)))
        _define(f"def pack({args}):\n    return _S.pack({', '.join(enc_items)})\n", scope)
        self._pack: Callable[..., bytes] = scope["pack"]
        self.decode: Callable[[bytes], Any] = _DecodeWriter(self.order).function(self)

    def inline(self, w: _DecodeWriter, base: int, depth: int) -> str:
        """The expression of this struct at byte ``base`` of what ``w`` decodes."""
        span_of = {i: s for s in self.spans for i in s[2]}
        span_int: dict[int, str] = {}
        parts = []
        for i, f in enumerate(self.fields):
            if f.bits:
                start, end, _ = span_of[i]
                if start not in span_int:
                    n = end - start
                    code = _INT_FMT.get((n, False))
                    got = w.slot(code or f"{n}s", n, base + start)
                    if got is None:
                        got = (
                            f"int.from_bytes(data[{base + start}:{base + end}], '{self.byteorder}')"
                        )
                    elif code is None:
                        got = f"int.from_bytes({got}, '{self.byteorder}')"
                    span_int[start] = got
                rel = self.shift((f.offset - start) * 8 + f.shift, end - start, f.bits)
                val = f"(({span_int[start]} >> {rel}) & {(1 << f.bits) - 1})"
                parts.append(f"{w.const(sign_extend)}({val}, {f.bits})" if f.signed else val)
            else:
                parts.append(w.expr(f.codec, base + f.offset, depth + 1))
        return f"_new({w.const(self.cls)}, ({''.join(p + ', ' for p in parts)}))"

    def values_of(self, value: Any) -> tuple[Any, ...] | None:
        """The field values of a class instance, dict or tuple (None for bytes)."""
        if type(value) is self.cls:
            return value  # type: ignore[return-value]  # a named tuple already
        if isinstance(value, dict | Mapping):
            if not value.keys() <= self.names:
                value = self.nested(value)
            return tuple(value[n] if n in value else zero() for n, zero in self._zeros)
        if isinstance(value, tuple | list):
            if len(value) != len(self.fields):
                raise LayoutError(
                    f"{self.what} is {self.describe()}: give "
                    f"{len(self.fields)} values, got {len(value)}"
                )
            return tuple(value)
        return None

    def encode(self, value: Any) -> bytes:
        """Encode an instance, a dict, a tuple, or raw bytes of exactly ``size``."""
        raw = _raw(value, self.size, self.what, self)
        if raw is not None:
            return raw
        values = self.values_of(value)
        if values is None:
            raise TypeError(
                f"{self.what} is {self.c_name}: give a {self.cls.__name__}, a "
                f"dict, a tuple or {self.size} bytes, not {type(value).__name__}"
            )
        try:
            return self._pack(*values)
        except (struct.error, TypeError, OverflowError, ValueError) as exc:
            self._diagnose(values)
            raise LayoutError(f"{self.what} ({self.describe()}): {exc}") from None

    def _diagnose(self, values: tuple[Any, ...]) -> None:
        """Re-encode field by field to raise an error naming the field at fault."""
        for f, v in zip(self.fields, values, strict=True):
            try:
                if f.bits:
                    _bitfield(v, f.bits, f.signed)
                else:
                    f.codec.encode(v)
            except LayoutError as exc:
                raise LayoutError(f"{self.what}, field {f.name!r}: {exc}") from None
            except TypeError as exc:
                raise TypeError(f"{self.what}, field {f.name!r}: {exc}") from None

    def zero(self) -> Any:
        """A new instance with every field zero."""
        return self.cls()

    def plan(self) -> tuple[Any, ...] | None:
        """The C fast path's layout: the class and each field's offset and plan; None
        when a field has none (bitfields, unions, bools) or the BTF is big-endian.
        Built once."""
        if self._plan is _UNPLANNED:
            self._plan = self._make_plan()
        plan: tuple[Any, ...] | None = self._plan
        return plan

    def _make_plan(self) -> tuple[Any, ...] | None:
        if self.order != "<" or not _LITTLE_HOST:
            return None
        fields = []
        for f in self.fields:
            sub = getattr(f.codec, "plan", None)
            got = sub() if sub is not None and not f.bits else None
            if got is None:
                return None
            fields.append((f.offset, got))
        return ("struct", self.size, self.cls, tuple(fields))

    def describe(self) -> str:
        """The C layout with offsets, for error messages."""
        parts = []
        for f in self.fields:
            bits = f":{f.bits}" if f.bits else ""
            parts.append(f"{_describe(f.codec)} {f.name}{bits} @{f.offset}")
        return f"{self.c_name} {{{'; '.join(parts)}}} ({self.size} bytes)"


class UnionCodec(_Aggregate):
    """A union: decodes every member from the same bytes; encodes the one member given."""

    _union = True

    def __init__(
        self,
        c_name: str,
        size: int,
        fields: list[_Field],
        what: str,
        cls: type[TypedValue] | None = None,
        order: str = "<",
    ) -> None:
        super().__init__(c_name, size, fields, what, cls, order)
        # Every member decoded, nothing given: re-encoding gives back the same bytes.
        args = "".join(f", v{i}" for i in range(len(fields)))
        sets = "".join(f"    o.{f.name} = v{i}\n" for i, f in enumerate(fields))
        scope: dict[str, Any] = {"_alloc": object.__new__, "_cls": self.cls}
        _define(
            f"def made(raw{args}):\n    o = _alloc(_cls)\n{sets}"
            "    o._given = ()\n    o._raw = raw\n    return o\n",
            scope,
        )
        self.made: Callable[..., Any] = scope["made"]
        self.decode: Callable[[bytes], Any] = _DecodeWriter(self.order).function(self)

    def inline(self, w: _DecodeWriter, base: int, depth: int) -> str:
        """The expression of this union at byte ``base`` of what ``w`` decodes."""
        parts = [f"bytes(data[{base}:{base + self.size}])"]
        for f in self.fields:
            if f.bits:
                start, end = base + f.offset, base + f.offset + (f.shift + f.bits + 7) // 8
                rel = self.shift(f.shift, end - start, f.bits)
                val = (
                    f"((int.from_bytes(data[{start}:{end}], '{self.byteorder}') >> {rel}) & "
                    f"{(1 << f.bits) - 1})"
                )
                parts.append(f"{w.const(sign_extend)}({val}, {f.bits})" if f.signed else val)
            else:
                parts.append(w.expr(f.codec, base + f.offset, depth + 1))
        return f"{w.const(self.made)}({', '.join(parts)})"

    def encode(self, value: Any) -> bytes:
        """Encode bytes, a dict with one member, or an instance (its one given member)."""
        raw = _raw(value, self.size, self.what, self)
        if raw is not None:
            return raw
        if isinstance(value, self.cls):
            given = value._given  # type: ignore[attr-defined]
            if not given:
                return bytes(value._raw) if hasattr(value, "_raw") else b"\0" * self.size
            if len(given) > 1:
                raise LayoutError(
                    f"{self.what} is {self.c_name}: set one member, not {', '.join(given)}"
                )
            value = {given[0]: getattr(value, given[0])}
        if isinstance(value, Mapping):
            if self.flat and not value.keys() <= self.names:
                value = self.nested(value)
            if len(value) != 1:
                raise LayoutError(f"{self.what} is {self.describe()}: give exactly one member")
            ((name, v),) = value.items()
            for f in self.fields:
                if f.name == name:
                    buf = bytearray(self.size)
                    if f.bits:
                        rel = self.shift(f.offset * 8 + f.shift, self.size, f.bits)
                        bits = _bitfield(v, f.bits, f.signed) << rel
                        buf[:] = bits.to_bytes(self.size, self.byteorder)  # type: ignore[arg-type]
                    else:
                        buf[f.offset : f.offset + f.codec.size] = f.codec.encode(v)
                    return bytes(buf)
            raise LayoutError(f"{self.what} is {self.describe()}: no member {name!r}")
        raise TypeError(
            f"{self.what} is {self.c_name}: give a {self.cls.__name__}, a dict "
            f"of one member or {self.size} bytes, not {type(value).__name__}"
        )

    def zero(self) -> Any:
        """An instance decoded from zero bytes."""
        return self.decode(b"\0" * self.size)

    def describe(self) -> str:
        """The C layout, for error messages."""
        inner = "; ".join(f"{_describe(f.codec)} {f.name}" for f in self.fields)
        return f"{self.c_name} {{{inner}}} ({self.size} bytes)"


def _describe(codec: Codec) -> str:
    d = getattr(codec, "describe", None)
    if d is not None:
        return str(d())
    if isinstance(codec, IntCodec):
        return f"{'s' if codec.signed else 'u'}{codec.size * 8}"
    return f"{codec.size} bytes"


def _zero_of(codec: Codec) -> Callable[[], Any]:
    z = getattr(codec, "zero", None)
    if z is not None:
        return z  # type: ignore[no-any-return]
    if isinstance(codec, IntCodec):
        return int
    size = codec.size
    return lambda: b"\0" * size


def bitfield_spans(fields: Sequence[_Field]) -> list[tuple[int, int, list[int]]]:
    """Bitfields sharing bytes form one storage span: (first byte, end byte, members)."""
    spans: list[tuple[int, int, list[int]]] = []
    for i, f in enumerate(fields):
        if f.bits:
            end = f.offset + (f.shift + f.bits + 7) // 8
            if spans and f.offset < spans[-1][1]:
                start, old_end, members = spans[-1]
                spans[-1] = (start, max(old_end, end), [*members, i])
            else:
                spans.append((f.offset, end, [i]))
    return spans


def _bitfield(v: Any, bits: int, signed: bool) -> int:
    if not isinstance(v, int) or isinstance(v, bool):
        raise TypeError(f"a {bits}-bit bitfield is an integer, not {type(v).__name__}")
    low, high = (-(1 << (bits - 1)), (1 << (bits - 1)) - 1) if signed else (0, (1 << bits) - 1)
    if not low <= v <= high:
        raise LayoutError(
            f"a {'signed' if signed else 'unsigned'} {bits}-bit bitfield "
            f"holds [{low}, {high}]; {v} is out of range"
        )
    return v & ((1 << bits) - 1)


class TypeCodecs:
    """The codecs of one BTF, one per type id, built on first use and kept."""

    def __init__(self, btf: Btf) -> None:
        self.btf = btf
        self.order = "<" if btf.byteorder == "little" else ">"
        self._cache: dict[tuple[int, str], Codec] = {}
        # One Python class per C type, whichever map or global it is used by (and shared
        # with other engines through _SHARED).
        self._classes: dict[int, Any] = {}

    def codec(self, type_id: int, what: str = "the value") -> Codec:
        """The codec for BTF type ``type_id`` (typedefs and qualifiers followed)."""
        found = self._cache.get((type_id, what))
        if found is None:
            found = self._build(type_id, what, 0)
            self._cache[(type_id, what)] = found
        return found

    def type_name(self, type_id: int) -> str:
        """The C name of a type, e.g. ``struct flow`` or ``__u32``."""
        return c_name(self.btf.type_by_id(type_id))

    def _build(self, type_id: int, what: str, depth: int) -> Codec:
        if depth > _DEPTH:
            raise LayoutError(f"{what}: BTF type {type_id} nests deeper than {_DEPTH}")
        if depth and (type_id, what) in self._cache:
            return self._cache[(type_id, what)]
        t = self.btf.skip_qualifiers(type_id)
        codec: Codec
        order = self.order
        if isinstance(t, Int):
            if t.is_bool and t.size == 1 and t.nr_bits == 8 and t.bits_offset == 0:
                codec = BoolCodec(what)
            elif t.nr_bits == t.size * 8 and t.bits_offset == 0:
                codec = _int_codec(t.size, t.is_signed, what, order)
            else:
                codec = BytesCodec(t.size, what)
        elif isinstance(t, Enum):
            key: tuple[Any, ...] = (
                "enum",
                t.name,
                t.size,
                t.signed,
                tuple((v.name, v.value) for v in t.values),
            )
            codec = EnumCodec(
                t,
                what,
                self._classes.get(t.id) or _shared(key),
                "little" if order == "<" else "big",
            )
            self._classes[t.id] = _share(key, codec.enum)
            codec.fmt = int_format(t.size, t.signed)  # type: ignore[attr-defined]
        elif isinstance(t, Float):
            codec = FloatCodec(t.size, what, order)
        elif isinstance(t, Ptr):
            codec = _int_codec(8, False, what, order)
        elif isinstance(t, Array):
            if is_char(self.btf, t.type_id):
                codec = CharArrayCodec(t.nelems, what, is_text(self.btf, t.type_id))
            else:
                elem = self._build(t.type_id, what, depth + 1)
                # An array of zero-size elements (an empty struct's) holds no byte; as a
                # list it would cost memory per element, and a damaged BTF can claim
                # four billion of them, so it is its zero raw bytes.
                codec = (
                    ArrayCodec(elem, t.nelems, what, order)
                    if elem.size or not t.nelems
                    else BytesCodec(0, what)
                )
        elif isinstance(t, Struct):
            fields = self._fields(t, what, depth)
            key = (
                t.is_union,
                c_name(t),
                t.size,
                tuple(
                    (f.name, f.offset, f.bits, f.shift, f.signed, f.anonymous, _shape(f.codec))
                    for f in fields
                ),
            )
            cls = self._classes.get(t.id) or _shared(key)
            codec = (
                UnionCodec(c_name(t), t.size, fields, what, cls, order)
                if t.is_union
                else StructCodec(c_name(t), t.size, fields, what, cls, order)
            )
            self._classes[t.id] = _share(key, codec.cls)
        else:
            codec = BytesCodec(self.btf.size_of(type_id), what)
        if depth:
            self._cache.setdefault((type_id, what), codec)
        return codec

    def _fields(self, t: Struct, what: str, depth: int) -> list[_Field]:
        fields: list[_Field] = []
        used: set[str] = set()
        for n, m in enumerate(t.members):
            name = _identifier(m.name) if m.name else f"_anon{n}"
            if name.startswith("__"):
                # Python mangles slot names that start with two underscores.
                name = f"{name.lstrip('_') or 'field'}_{n}"
            while name in used or name in _RESERVED:
                name = f"{name}_{n}"
            used.add(name)
            sub = self._build(m.type_id, what, depth + 1)
            if m.bitfield_size:
                signed = is_signed(self.btf.skip_qualifiers(m.type_id))
                fields.append(
                    _Field(
                        name, sub, m.bits_offset // 8, m.bitfield_size, m.bits_offset % 8, signed
                    )
                )
            else:
                if m.bits_offset % 8:
                    raise LayoutError(
                        f"{what}: member {m.name!r} of {t.name!r} is not byte-aligned"
                    )
                fields.append(
                    _Field(
                        name,
                        sub,
                        m.bits_offset // 8,
                        anonymous=not m.name and isinstance(sub, _Aggregate),
                    )
                )
        if not t.is_union:
            fields.sort(key=lambda f: (f.offset, f.shift))
        return fields


def _int_codec(size: int, signed: bool, what: str, order: str = "<") -> IntCodec:
    codec = IntCodec(size, signed, what) if order == "<" else BigIntCodec(size, signed, what)
    codec.fmt = int_format(size, signed)  # type: ignore[attr-defined]
    return codec


# The classes of every engine, by C name and layout: the same struct read through two
# BTF blobs (an object's .BTF as compiled and as libbpf fixed it up at open, or a map's
# BTF from the kernel) is one Python class. Weak values: a class lives while an engine
# or a value uses it.
_SHARED: weakref.WeakValueDictionary[tuple[Any, ...], Any] = weakref.WeakValueDictionary()
_SHARED_LOCK = threading.Lock()


def _shared(key: tuple[Any, ...]) -> Any:
    with _SHARED_LOCK:
        return _SHARED.get(key)


def _share(key: tuple[Any, ...], cls: Any) -> Any:
    with _SHARED_LOCK:
        return _SHARED.setdefault(key, cls)


def _shape(codec: Codec) -> Any:
    """What a member's codec contributes to its struct's class: the class of a nested
    aggregate or enum, else the kind and size of its value (never the byte order)."""
    if isinstance(codec, _Aggregate):
        return codec.cls
    if isinstance(codec, EnumCodec):
        return codec.enum
    if isinstance(codec, BoolCodec):
        return ("bool",)
    if isinstance(codec, IntCodec):
        return ("int", codec.size, codec.signed)
    if isinstance(codec, CharArrayCodec):
        return ("chars", codec.size, codec.text)
    if isinstance(codec, ArrayCodec):
        return ("array", codec.n, _shape(codec.elem))
    return (type(codec).__name__, codec.size)


_SIMPLE = {f"{p}{b}": (b // 8, p == "s") for p in ("u", "s") for b in (8, 16, 32, 64)}


def simple_type(name: str, size: int, what: str) -> Codec:
    """A codec for a name like ``"u32"``/``"s64"``/``"bytes"`` (for ``Map.create``)."""
    if name == "bytes":
        return BytesCodec(size, what)
    if name not in _SIMPLE:
        raise ValueError(
            f"unknown type name {name!r}: use u8..u64, s8..s64 or bytes, or a BTF-typed codec"
        )
    width, signed = _SIMPLE[name]
    if width != size:
        raise LayoutError(f"{what} is {size} bytes but {name} is {width}")
    return _int_codec(size, signed, what)
