"""The BTF type model: one small class per BTF kind.

Field names follow the kernel's ``linux/btf.h`` (``nr_bits``, ``bits_offset``, ``vlen``
items become tuples). A type refers to others by id; :class:`~libbpf_py.btf.Btf` resolves ids.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

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


@dataclass(slots=True)
class BtfType:
    """Common part of every BTF type: its id, kind and name (``""`` when anonymous)."""

    id: int
    kind: BtfKind
    name: str


@dataclass(slots=True)
class Void(BtfType):
    """Type id 0: ``void``."""


@dataclass(slots=True)
class Int(BtfType):
    """An integer: ``size`` bytes, ``nr_bits`` used from ``bits_offset``."""

    size: int
    is_signed: bool
    is_char: bool
    is_bool: bool
    bits_offset: int
    nr_bits: int

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


@dataclass(slots=True)
class Ptr(BtfType):
    """A pointer to ``type_id``."""

    type_id: int


@dataclass(slots=True)
class Qualifier(BtfType):
    """TYPEDEF, VOLATILE, CONST, RESTRICT or TYPE_TAG of ``type_id``."""

    type_id: int


@dataclass(slots=True)
class Array(BtfType):
    """``nelems`` elements of ``type_id``, indexed by ``index_type_id``."""

    type_id: int
    index_type_id: int
    nelems: int


@dataclass(slots=True)
class Member:
    """A struct or union member; ``bitfield_size`` is 0 unless it is a bitfield."""

    name: str
    type_id: int
    bits_offset: int
    bitfield_size: int


@dataclass(slots=True)
class Struct(BtfType):
    """A struct or union (``kind`` tells which)."""

    size: int
    members: tuple[Member, ...]

    @property
    def is_union(self) -> bool:
        """Whether this is a union."""
        return self.kind == BtfKind.UNION


@dataclass(slots=True)
class EnumValue:
    """One enumerator."""

    name: str
    value: int


@dataclass(slots=True)
class Enum(BtfType):
    """An ENUM or ENUM64 of ``size`` bytes."""

    size: int
    signed: bool
    values: tuple[EnumValue, ...]


@dataclass(slots=True)
class Fwd(BtfType):
    """A forward declaration of a struct or union."""

    is_union: bool


@dataclass(slots=True)
class Func(BtfType):
    """A function; ``type_id`` is its FUNC_PROTO."""

    type_id: int
    linkage: Linkage


@dataclass(slots=True)
class Param:
    """A function parameter (``type_id`` 0 and no name: the ``...`` of a variadic)."""

    name: str
    type_id: int


@dataclass(slots=True)
class FuncProto(BtfType):
    """A function prototype."""

    return_type_id: int
    params: tuple[Param, ...]


@dataclass(slots=True)
class Var(BtfType):
    """A global variable."""

    type_id: int
    linkage: Linkage


@dataclass(slots=True)
class VarSecinfo:
    """Where a VAR lives inside a DATASEC."""

    type_id: int
    offset: int
    size: int


@dataclass(slots=True)
class Datasec(BtfType):
    """A data section (``.data``, ``.maps``, ``.kconfig``...) and the variables in it."""

    size: int
    vars: tuple[VarSecinfo, ...]


@dataclass(slots=True)
class Float(BtfType):
    """A floating point type of ``size`` bytes."""

    size: int


@dataclass(slots=True)
class DeclTag(BtfType):
    """A ``btf_decl_tag`` on ``type_id`` (``component_idx`` -1: the type itself)."""

    type_id: int
    component_idx: int
