"""Turn a CO-RE relocation record into words: the root type and a readable access path
(``task_struct->real_parent``, ``sk_buff->cb[2]``, ``enum pid_type::PIDTYPE_TGID``)."""

from __future__ import annotations

from libbpf_py.btf.kinds import Array, Enum, Struct
from libbpf_py.btf.reader import Btf
from libbpf_py.errors import ObjectFormatError

from .btf_ext import CoreKind, CoreRecord
from .render import type_name
from .spec import CoreRelocation

__all__ = ["describe_core"]


def _fail(rec: CoreRecord, message: str) -> ObjectFormatError:
    return ObjectFormatError(
        f"CO-RE relocation at {rec.section}+{rec.insn_off:#x}: {message}",
        section=".BTF.ext",
        offset=rec.insn_off,
    )


def describe_core(btf: Btf, rec: CoreRecord, program: str, index: int) -> CoreRelocation:
    """Build the :class:`CoreRelocation` for one record (``index``: within the program)."""
    if not 0 < rec.type_id < len(btf.types):
        raise _fail(rec, f"root type id {rec.type_id} does not exist")
    root = btf.types[rec.type_id]
    root_name = root.name or type_name(btf, rec.type_id)
    try:
        indexes = [int(part) for part in rec.access.split(":")]
    except ValueError:
        raise _fail(rec, f"access string {rec.access!r} is not a list of numbers") from None
    if rec.kind.is_field:
        path = _field_path(btf, rec, root_name, indexes)
    elif rec.kind.is_enumval:
        enum = btf.skip_qualifiers(rec.type_id)
        if (
            not isinstance(enum, Enum)
            or len(indexes) != 1
            or not 0 <= indexes[0] < len(enum.values)
        ):
            raise _fail(rec, f"access {rec.access!r} names no enumerator of {root_name}")
        path = f"{type_name(btf, rec.type_id)}::{enum.values[indexes[0]].name}"
    else:
        if rec.kind != CoreKind.TYPE_ID_LOCAL and indexes != [0]:
            raise _fail(rec, f"type relocation with access {rec.access!r} (expected '0')")
        path = type_name(btf, rec.type_id)
    return CoreRelocation(
        program=program,
        index=index,
        kind=rec.kind,
        type_id=rec.type_id,
        root_type=root_name,
        access=rec.access,
        path=path,
    )


def _field_path(btf: Btf, rec: CoreRecord, root_name: str, indexes: list[int]) -> str:
    first, rest = indexes[0], indexes[1:]
    text = root_name if first == 0 else f"{root_name}[{first}]"
    separator = "->" if first == 0 else "."
    current = rec.type_id
    for i in rest:
        t = btf.skip_qualifiers(current)
        if isinstance(t, Struct):
            if not 0 <= i < len(t.members):
                raise _fail(
                    rec,
                    f"member {i} of {type_name(btf, t.id)} does not exist "
                    f"(it has {len(t.members)})",
                )
            member = t.members[i]
            if member.name:
                text += separator + member.name
                separator = "."
            current = member.type_id
        elif isinstance(t, Array):
            text += f"[{i}]"
            separator = "."
            current = t.type_id
        else:
            raise _fail(rec, f"access {rec.access!r} indexes into a {t.kind.name}")
    return text
