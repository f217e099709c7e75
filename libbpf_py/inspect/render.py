"""Render BTF types as C: a type's name (``const char *``), a declaration
(``int counts[16]``) and a whole definition (``struct foo { ... };``)."""

from __future__ import annotations

from libbpf_py.btf.kinds import (
    Array,
    BtfKind,
    BtfType,
    Datasec,
    DeclTag,
    Enum,
    Func,
    FuncProto,
    Fwd,
    Linkage,
    Ptr,
    Qualifier,
    Struct,
    Var,
)
from libbpf_py.btf.reader import MAX_CHAIN, Btf
from libbpf_py.errors import ObjectFormatError

__all__ = ["declaration", "render_c", "type_name"]

_QUAL_WORDS = {BtfKind.CONST: "const", BtfKind.VOLATILE: "volatile", BtfKind.RESTRICT: "restrict"}
_TAGGED = {
    BtfKind.STRUCT: "struct",
    BtfKind.UNION: "union",
    BtfKind.ENUM: "enum",
    BtfKind.ENUM64: "enum",
}


def _too_deep(btf: Btf, type_id: int) -> ObjectFormatError:
    return ObjectFormatError(
        f"BTF type {type_id} nests deeper than {MAX_CHAIN} levels (a type loop?)",
        section=".BTF",
        offset=btf.offset_of(type_id),
    )


def type_name(btf: Btf, type_id: int) -> str:
    """The C spelling of a type without a variable name (``struct task_struct *``)."""
    return declaration(btf, type_id, "")


def declaration(btf: Btf, type_id: int, name: str, indent: int = 0) -> str:
    """A C declaration of ``name`` with this type (``int (*fn)(void)``)."""
    return _decl(btf, type_id, name, indent, 0).strip()


def _base(btf: Btf, t: BtfType, indent: int, depth: int) -> str:
    if t.kind == BtfKind.VOID:
        return "void"
    if isinstance(t, Fwd):
        return ("union " if t.is_union else "struct ") + t.name
    tag = _TAGGED.get(t.kind)
    if tag is not None:
        if t.name:
            return f"{tag} {t.name}"
        return _body(btf, t, indent, depth)
    return t.name


def _decl(btf: Btf, type_id: int, inner: str, indent: int, depth: int) -> str:
    if depth > MAX_CHAIN:
        raise _too_deep(btf, type_id)
    t = btf.type_by_id(type_id)
    if isinstance(t, Ptr):
        target = btf.skip_modifiers(t.type_id)
        star = "*" + inner
        if isinstance(target, Array | FuncProto):
            star = f"(*{inner})"
        return _decl(btf, t.type_id, star, indent, depth + 1)
    if isinstance(t, Array):
        return _decl(btf, t.type_id, f"{inner}[{t.nelems}]", indent, depth + 1)
    if isinstance(t, FuncProto):
        params = (
            ", ".join(
                _decl(btf, p.type_id, p.name, indent, depth + 1).strip() if p.type_id else "..."
                for p in t.params
            )
            or "void"
        )
        return _decl(btf, t.return_type_id, f"{inner}({params})", indent, depth + 1)
    if isinstance(t, Qualifier) and t.kind != BtfKind.TYPEDEF:
        word = _QUAL_WORDS.get(t.kind) or f'__attribute__((btf_type_tag("{t.name}")))'
        target = btf.skip_modifiers(t.type_id)
        if isinstance(target, Ptr):
            return _decl(btf, t.type_id, f" {word} {inner}".rstrip(), indent, depth + 1)
        return f"{word} " + _decl(btf, t.type_id, inner, indent, depth + 1).lstrip()
    if isinstance(t, Func | Var):
        return _decl(btf, t.type_id, inner, indent, depth + 1)
    base = _base(btf, t, indent, depth + 1)
    if not inner:
        return base
    return f"{base} {inner.lstrip()}" if not inner.startswith(" ") else base + inner


def _body(btf: Btf, t: BtfType, indent: int, depth: int) -> str:
    pad = "\t" * (indent + 1)
    tag = _TAGGED[t.kind]
    head = f"{tag} {t.name} " if t.name else f"{tag} "
    lines = [head + "{"]
    if isinstance(t, Struct):
        for m in t.members:
            text = _decl(btf, m.type_id, m.name, indent + 1, depth + 1).strip()
            if m.bitfield_size:
                text += f": {m.bitfield_size}"
            lines.append(f"{pad}{text};")
    elif isinstance(t, Enum):
        for v in t.values:
            lines.append(f"{pad}{v.name} = {v.value},")
    lines.append("\t" * indent + "}")
    return "\n".join(lines)


def _var_decl(btf: Btf, var: Var) -> str:
    prefix = {Linkage.STATIC: "static ", Linkage.EXTERN: "extern "}.get(var.linkage, "")
    return f"{prefix}{_decl(btf, var.type_id, var.name, 0, 0).strip()};"


def render_c(btf: Btf, type_id: int) -> str:
    """A C definition of the type: structs, unions and enums with their bodies,
    typedefs, functions as prototypes, variables and DATASECs as declarations."""
    t = btf.type_by_id(type_id)
    if isinstance(t, Struct | Enum):
        text = _body(btf, t, 0, 0) + ";"
        if isinstance(t, Enum) and t.size != 4:
            text += f" /* {t.size} bytes */"
        return text
    if isinstance(t, Qualifier) and t.kind == BtfKind.TYPEDEF:
        return f"typedef {_decl(btf, t.type_id, t.name, 0, 0).strip()};"
    if isinstance(t, Func):
        static = (
            "static "
            if t.linkage == Linkage.STATIC
            else ("extern " if t.linkage == Linkage.EXTERN else "")
        )
        return f"{static}{_decl(btf, t.type_id, t.name, 0, 0).strip()};"
    if isinstance(t, Var):
        return _var_decl(btf, t)
    if isinstance(t, Datasec):
        lines = [f'/* section "{t.name}", {t.size} bytes */']
        for v in t.vars:
            var = btf.type_by_id(v.type_id)
            text = _var_decl(btf, var) if isinstance(var, Var) else f"/* {var.kind.name} */"
            lines.append(f"/* +{v.offset:#x} ({v.size}) */ {text}")
        return "\n".join(lines)
    if isinstance(t, DeclTag):
        where = "" if t.component_idx < 0 else f" (component {t.component_idx})"
        return (
            f'/* __attribute__((btf_decl_tag("{t.name}"))) on '
            f"{type_name(btf, t.type_id) or t.type_id}{where} */"
        )
    if isinstance(t, Fwd):
        return f"{_base(btf, t, 0, 0)};"
    return type_name(btf, type_id) + ";" if t.name else type_name(btf, type_id)
