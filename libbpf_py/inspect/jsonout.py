"""The JSON form of an inspection (schema documented in ``docs/inspect.md``).

BTF types use exactly the shape of ``bpftool btf dump file OBJ -j`` so the two can be
compared (and tools written for one read the other). Everything else is plain objects
with the field names of the spec dataclasses.
"""

from __future__ import annotations

from typing import Any

from libbpf_py.btf.kinds import (
    Array,
    BtfType,
    Datasec,
    DeclTag,
    Enum,
    Float,
    Func,
    FuncProto,
    Fwd,
    Int,
    Ptr,
    Qualifier,
    Struct,
    Var,
)
from libbpf_py.btf.reader import Btf
from libbpf_py.errors import BpfError
from libbpf_py.types._plain import plain
from libbpf_py.types.typed import TypeCodecs

from .disasm import disassemble
from .render import type_name
from .spec import GlobalVar, MapSpec, ObjectSpec, ProgramSpec

__all__ = ["SCHEMA_VERSION", "btf_type_json", "object_json"]

SCHEMA_VERSION = 2


def btf_type_json(t: BtfType) -> dict[str, Any]:
    """One BTF type as bpftool's JSON prints it."""
    out: dict[str, Any] = {"id": t.id, "kind": t.kind.name, "name": t.name or "(anon)"}
    if isinstance(t, Int):
        out.update(size=t.size, bits_offset=t.bits_offset, nr_bits=t.nr_bits, encoding=t.encoding)
    elif isinstance(t, Ptr | Qualifier):
        out["type_id"] = t.type_id
    elif isinstance(t, Array):
        out.update(type_id=t.type_id, index_type_id=t.index_type_id, nr_elems=t.nelems)
    elif isinstance(t, Struct):
        members = []
        for m in t.members:
            member: dict[str, Any] = {
                "name": m.name or "(anon)",
                "type_id": m.type_id,
                "bits_offset": m.bits_offset,
            }
            if m.bitfield_size:
                member["bitfield_size"] = m.bitfield_size
            members.append(member)
        out.update(size=t.size, vlen=len(t.members), members=members)
    elif isinstance(t, Enum):
        out.update(
            encoding="SIGNED" if t.signed else "UNSIGNED",
            size=t.size,
            vlen=len(t.values),
            values=[{"name": v.name, "val": v.value} for v in t.values],
        )
    elif isinstance(t, Fwd):
        out["fwd_kind"] = "union" if t.is_union else "struct"
    elif isinstance(t, Func):
        out.update(type_id=t.type_id, linkage=t.linkage.name.lower())
    elif isinstance(t, FuncProto):
        out.update(
            ret_type_id=t.return_type_id,
            vlen=len(t.params),
            params=[{"name": p.name or "(anon)", "type_id": p.type_id} for p in t.params],
        )
    elif isinstance(t, Var):
        out.update(type_id=t.type_id, linkage={0: "static", 1: "global"}.get(t.linkage, "extern"))
    elif isinstance(t, Datasec):
        out.update(
            size=t.size,
            vlen=len(t.vars),
            vars=[{"type_id": v.type_id, "offset": v.offset, "size": v.size} for v in t.vars],
        )
    elif isinstance(t, Float):
        out["size"] = t.size
    elif isinstance(t, DeclTag):
        out.update(type_id=t.type_id, component_idx=t.component_idx)
    return out


def _enum_json(member: Any) -> Any:
    return {"enum": member.name, "value": int(member)}


def _bytes_json(raw: bytes) -> Any:
    return {"bytes": raw.hex()}


def _value(types: TypeCodecs | None, g: GlobalVar) -> Any:
    """A global's value in JSON: the engine's value through :func:`plain`, by the codec
    that decoded it (a value kept as raw bytes has none)."""
    if g.value is None or types is None or g.type is None:
        return plain(None, g.value, raw=_bytes_json)
    try:
        codec = types.codec(g.type.id, "the global")
        if codec.size == g.size:
            return plain(codec, g.value, enum_member=_enum_json, raw=_bytes_json)
    except (BpfError, ValueError, TypeError, AttributeError):
        pass  # a type the engine cannot model: the value stayed raw bytes
    return plain(None, g.value, raw=_bytes_json)


def _type_ref(btf: Btf | None, t: BtfType | None) -> dict[str, Any] | None:
    if t is None or btf is None:
        return None
    return {"id": t.id, "c": type_name(btf, t.id)}


def _program(obj: ObjectSpec, p: ProgramSpec, functions: list[ProgramSpec]) -> dict[str, Any]:
    return {
        "name": p.name,
        "section": p.section,
        "type": p.type.name.lower(),
        "expected_attach_type": (
            p.expected_attach_type.name.lower() if p.expected_attach_type is not None else None
        ),
        "attach_target": p.attach_target,
        "autoload": p.autoload,
        "sleepable": p.sleepable,
        "global": p.is_global,
        "offset": p.offset,
        "insn_count": p.insn_count,
        "calls": list(p.calls),
        "instructions": [
            {
                "index": i.index,
                "code": i.code,
                "dst": i.dst,
                "src": i.src,
                "off": i.off,
                "imm": i.imm,
                **({"imm64": i.imm64} if i.imm64 is not None else {}),
                "text": text.split(":\t", 1)[1],
            }
            for i, text in zip(p.instructions, disassemble(p, functions, style="llvm"), strict=True)
        ],
        "lines": [
            {"index": s.index, "file": s.file, "line": s.line, "column": s.column, "text": s.text}
            for s in p.lines
        ],
        "relocations": [
            {
                "index": r.index,
                "kind": r.kind.value,
                "symbol": r.symbol,
                "target": r.target,
                "section": r.section,
            }
            for r in p.relocations
        ],
        "core_relocations": [
            {
                "index": c.index,
                "kind": c.kind.name.lower(),
                "type_id": c.type_id,
                "root_type": c.root_type,
                "access": c.access,
                "path": c.path,
            }
            for c in p.core_relocations
        ],
    }


def _map(obj: ObjectSpec, m: MapSpec) -> dict[str, Any]:
    return {
        "name": m.name,
        "type": m.type.name.lower() if hasattr(m.type, "name") else int(m.type),
        "key_size": m.key_size,
        "value_size": m.value_size,
        "max_entries": m.max_entries,
        "flags": m.flags,
        "section": m.section,
        "pinning": m.pinning.name.lower(),
        "numa_node": m.numa_node,
        "map_extra": m.map_extra,
        "key_type": _type_ref(obj.btf, m.key_type),
        "value_type": _type_ref(obj.btf, m.value_type),
        "inner": _map(obj, m.inner) if m.inner is not None else None,
        "initial_slots": {str(k): v for k, v in sorted(m.initial_slots.items())},
        "internal": m.internal,
        "legacy": m.legacy,
    }


def _global(obj: ObjectSpec, types: TypeCodecs | None, g: GlobalVar) -> dict[str, Any]:
    return {
        "name": g.name,
        "section": g.section,
        "offset": g.offset,
        "size": g.size,
        "type": _type_ref(obj.btf, g.type),
        "linkage": g.linkage,
        "value": _value(types, g),
        "raw": g.raw.hex(),
    }


def object_json(obj: ObjectSpec, *, btf: bool = True) -> dict[str, Any]:
    """The whole inspection as JSON-ready Python objects."""
    functions = [*obj.programs.values(), *obj.subprograms.values()]
    types = TypeCodecs(obj.btf) if obj.btf is not None and obj.globals else None
    return {
        "schema": SCHEMA_VERSION,
        "name": obj.name,
        "endianness": obj.endianness,
        "license": obj.license,
        "kern_version": obj.kern_version,
        "has_legacy_maps": obj.has_legacy_maps,
        "sections": list(obj.sections),
        "programs": [_program(obj, p, functions) for p in obj.programs.values()],
        "subprograms": [_program(obj, p, functions) for p in obj.subprograms.values()],
        "maps": [_map(obj, m) for m in obj.maps.values()],
        "globals": [_global(obj, types, g) for g in obj.globals.values()],
        "btf": (
            [btf_type_json(t) for t in obj.btf.types[1:]] if btf and obj.btf is not None else None
        ),
    }
