"""The BTF type model: one small class per BTF kind.

Field names follow the kernel's ``linux/btf.h`` (``nr_bits``, ``bits_offset``, ``vlen``
items become tuples). A type refers to others by id; :class:`~libbpf_py.btf.Btf` resolves ids.
"""

from __future__ import annotations

import enum
from typing import Any, ClassVar

__all__ = [
    "Array",
    "BtfKind",
    "BtfType",
    "Datasec",
    "DeclTag",
    "Enum",
    "EnumValue",
    "Float",
    "Func",
    "FuncProto",
    "Fwd",
    "Int",
    "Linkage",
    "Member",
    "Param",
    "Ptr",
    "Qualifier",
    "Struct",
    "Var",
    "VarSecinfo",
    "Void",
]


class BtfKind(enum.IntEnum):
    """A BTF kind (``BTF_KIND_*``)."""

    VOID = 0
    INT = 1
    PTR = 2
    ARRAY = 3
    STRUCT = 4
    UNION = 5
    ENUM = 6
    FWD = 7
    TYPEDEF = 8
    VOLATILE = 9
    CONST = 10
    RESTRICT = 11
    FUNC = 12
    FUNC_PROTO = 13
    VAR = 14
    DATASEC = 15
    FLOAT = 16
    DECL_TAG = 17
    TYPE_TAG = 18
    ENUM64 = 19


class Linkage(enum.IntEnum):
    """Linkage of a FUNC (``btf_func_linkage``) or VAR (``BTF_VAR_*``)."""

    STATIC = 0
    GLOBAL = 1
    EXTERN = 2


class _Record:
    """What ``@dataclass(slots=True)`` gave these classes, without its cost at import:
    the dataclass machinery took half a millisecond a class, and every
    ``import libbpf_py`` that uses a map builds this module (tests/test_import_time.py).

    A class's fields are the parameters of its ``__init__``, in that order (base fields
    first); ``repr``, ``==`` and ``__match_args__`` follow them as a dataclass's would,
    and instances are unhashable, as those of a dataclass with ``eq`` and without
    ``frozen`` are.
    """

    __slots__ = ()
    __match_args__: ClassVar[tuple[str, ...]] = ()

    def __init_subclass__(cls) -> None:
        super().__init_subclass__()
        code = cls.__init__.__code__
        cls.__match_args__ = code.co_varnames[1 : code.co_argcount]  # type: ignore[misc]

    def _values(self) -> tuple[Any, ...]:
        return tuple(getattr(self, name) for name in self.__match_args__)

    def __repr__(self) -> str:
        shown = ", ".join(f"{name}={getattr(self, name)!r}" for name in self.__match_args__)
        return f"{type(self).__qualname__}({shown})"

    def __eq__(self, other: object) -> bool:
        if other.__class__ is not self.__class__:
            return NotImplemented
        assert isinstance(other, _Record)
        return self._values() == other._values()

    __hash__ = None  # type: ignore[assignment]


class BtfType(_Record):
    """Common part of every BTF type: its id, kind and name (``""`` when anonymous)."""

    __slots__ = ("id", "kind", "name")

    def __init__(self, id: int, kind: BtfKind, name: str) -> None:
        self.id = id
        self.kind = kind
        self.name = name


class Void(BtfType):
    """Type id 0: ``void``."""

    __slots__ = ()


class Int(BtfType):
    """An integer: ``size`` bytes, ``nr_bits`` used from ``bits_offset``."""

    __slots__ = ("bits_offset", "is_bool", "is_char", "is_signed", "nr_bits", "size")

    def __init__(
        self,
        id: int,
        kind: BtfKind,
        name: str,
        size: int,
        is_signed: bool,
        is_char: bool,
        is_bool: bool,
        bits_offset: int,
        nr_bits: int,
    ) -> None:
        self.id = id
        self.kind = kind
        self.name = name
        self.size = size
        self.is_signed = is_signed
        self.is_char = is_char
        self.is_bool = is_bool
        self.bits_offset = bits_offset
        self.nr_bits = nr_bits

    @property
    def encoding(self) -> str:
        """The encoding the way bpftool prints it (``SIGNED``, ``CHAR``, ``BOOL``, ``(none)``)."""
        if self.is_signed:
            return "SIGNED"
        if self.is_char:
            return "CHAR"
        if self.is_bool:
            return "BOOL"
        return "(none)"


class Ptr(BtfType):
    """A pointer to ``type_id``."""

    __slots__ = ("type_id",)

    def __init__(self, id: int, kind: BtfKind, name: str, type_id: int) -> None:
        self.id = id
        self.kind = kind
        self.name = name
        self.type_id = type_id


class Qualifier(BtfType):
    """TYPEDEF, VOLATILE, CONST, RESTRICT or TYPE_TAG of ``type_id``."""

    __slots__ = ("type_id",)

    def __init__(self, id: int, kind: BtfKind, name: str, type_id: int) -> None:
        self.id = id
        self.kind = kind
        self.name = name
        self.type_id = type_id


class Array(BtfType):
    """``nelems`` elements of ``type_id``, indexed by ``index_type_id``."""

    __slots__ = ("index_type_id", "nelems", "type_id")

    def __init__(
        self, id: int, kind: BtfKind, name: str, type_id: int, index_type_id: int, nelems: int
    ) -> None:
        self.id = id
        self.kind = kind
        self.name = name
        self.type_id = type_id
        self.index_type_id = index_type_id
        self.nelems = nelems


class Member(_Record):
    """A struct or union member; ``bitfield_size`` is 0 unless it is a bitfield."""

    __slots__ = ("bitfield_size", "bits_offset", "name", "type_id")

    def __init__(self, name: str, type_id: int, bits_offset: int, bitfield_size: int) -> None:
        self.name = name
        self.type_id = type_id
        self.bits_offset = bits_offset
        self.bitfield_size = bitfield_size


class Struct(BtfType):
    """A struct or union (``kind`` tells which)."""

    __slots__ = ("members", "size")

    def __init__(
        self, id: int, kind: BtfKind, name: str, size: int, members: tuple[Member, ...]
    ) -> None:
        self.id = id
        self.kind = kind
        self.name = name
        self.size = size
        self.members = members

    @property
    def is_union(self) -> bool:
        """Whether this is a union."""
        return self.kind == BtfKind.UNION


class EnumValue(_Record):
    """One enumerator."""

    __slots__ = ("name", "value")

    def __init__(self, name: str, value: int) -> None:
        self.name = name
        self.value = value


class Enum(BtfType):
    """An ENUM or ENUM64 of ``size`` bytes."""

    __slots__ = ("signed", "size", "values")

    def __init__(
        self,
        id: int,
        kind: BtfKind,
        name: str,
        size: int,
        signed: bool,
        values: tuple[EnumValue, ...],
    ) -> None:
        self.id = id
        self.kind = kind
        self.name = name
        self.size = size
        self.signed = signed
        self.values = values


class Fwd(BtfType):
    """A forward declaration of a struct or union."""

    __slots__ = ("is_union",)

    def __init__(self, id: int, kind: BtfKind, name: str, is_union: bool) -> None:
        self.id = id
        self.kind = kind
        self.name = name
        self.is_union = is_union


class Func(BtfType):
    """A function; ``type_id`` is its FUNC_PROTO."""

    __slots__ = ("linkage", "type_id")

    def __init__(self, id: int, kind: BtfKind, name: str, type_id: int, linkage: Linkage) -> None:
        self.id = id
        self.kind = kind
        self.name = name
        self.type_id = type_id
        self.linkage = linkage


class Param(_Record):
    """A function parameter (``type_id`` 0 and no name: the ``...`` of a variadic)."""

    __slots__ = ("name", "type_id")

    def __init__(self, name: str, type_id: int) -> None:
        self.name = name
        self.type_id = type_id


class FuncProto(BtfType):
    """A function prototype."""

    __slots__ = ("params", "return_type_id")

    def __init__(
        self, id: int, kind: BtfKind, name: str, return_type_id: int, params: tuple[Param, ...]
    ) -> None:
        self.id = id
        self.kind = kind
        self.name = name
        self.return_type_id = return_type_id
        self.params = params


class Var(BtfType):
    """A global variable."""

    __slots__ = ("linkage", "type_id")

    def __init__(self, id: int, kind: BtfKind, name: str, type_id: int, linkage: Linkage) -> None:
        self.id = id
        self.kind = kind
        self.name = name
        self.type_id = type_id
        self.linkage = linkage


class VarSecinfo(_Record):
    """Where a VAR lives inside a DATASEC."""

    __slots__ = ("offset", "size", "type_id")

    def __init__(self, type_id: int, offset: int, size: int) -> None:
        self.type_id = type_id
        self.offset = offset
        self.size = size


class Datasec(BtfType):
    """A data section (``.data``, ``.maps``, ``.kconfig``...) and the variables in it."""

    __slots__ = ("size", "vars")

    def __init__(
        self, id: int, kind: BtfKind, name: str, size: int, vars: tuple[VarSecinfo, ...]
    ) -> None:
        self.id = id
        self.kind = kind
        self.name = name
        self.size = size
        self.vars = vars


class Float(BtfType):
    """A floating point type of ``size`` bytes."""

    __slots__ = ("size",)

    def __init__(self, id: int, kind: BtfKind, name: str, size: int) -> None:
        self.id = id
        self.kind = kind
        self.name = name
        self.size = size


class DeclTag(BtfType):
    """A ``btf_decl_tag`` on ``type_id`` (``component_idx`` -1: the type itself)."""

    __slots__ = ("component_idx", "type_id")

    def __init__(self, id: int, kind: BtfKind, name: str, type_id: int, component_idx: int) -> None:
        self.id = id
        self.kind = kind
        self.name = name
        self.type_id = type_id
        self.component_idx = component_idx
