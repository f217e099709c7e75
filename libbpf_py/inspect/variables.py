"""Global variables and externs, found through the DATASECs of ``.BTF``, with their
initial values decoded from the section bytes by the value engine
(:mod:`libbpf_py.types.typed`), as a loaded object's globals view decodes them."""

from __future__ import annotations

import struct

from libbpf_py.btf.kinds import Datasec, Linkage, Var
from libbpf_py.btf.reader import Btf
from libbpf_py.errors import BpfError, ObjectFormatError
from libbpf_py.types.typed import TypeCodecs

from .datasec import place_vars
from .elf import ElfObject
from .spec import GlobalVar

__all__ = ["NOT_GLOBALS", "initial_value", "kconfig_size", "read_globals"]

# DATASECs that declare other things than variables.
NOT_GLOBALS = frozenset(
    {
        ".maps",
        ".struct_ops",
        ".struct_ops.link",
        "?.struct_ops",
        "?.struct_ops.link",
        "license",
        "version",
    }
)
_EXTERN_SECTIONS = (".kconfig", ".ksyms")


def read_globals(elf: ElfObject, btf: Btf | None) -> dict[str, GlobalVar]:
    """Every VAR of every data DATASEC, keyed by name (a later duplicate gets its section
    appended: ``name@section``)."""
    out: dict[str, GlobalVar] = {}
    if btf is None:
        return out
    types = TypeCodecs(btf)
    for t in btf.types:
        if not isinstance(t, Datasec) or t.name in NOT_GLOBALS:
            continue
        sec = elf.by_name.get(t.name)
        data = sec.data if sec is not None else b""
        # A section without file bytes (.bss) still has a size in its header, which
        # bounds its variables: an initial value of zeros is made only within it.
        room = len(data) if data else (sec.size if sec is not None else 0)
        is_extern = t.name in _EXTERN_SECTIONS
        for place in place_vars(elf, btf, t):
            var = place.var
            raw = bytes(data[place.offset : place.offset + place.size])
            if not is_extern and (data or sec is not None) and place.offset + place.size > room:
                raise ObjectFormatError(
                    f"variable {var.name!r} ({place.offset}+{place.size}) lies outside its section",
                    section=t.name,
                    offset=place.offset,
                )
            if is_extern:
                value: object = None
            else:
                # .bss has no bytes in the file: its initial value is all zero.
                value = initial_value(types, var.type_id, raw or bytes(place.size))
            key = var.name if var.name not in out else f"{var.name}@{t.name}"
            out[key] = GlobalVar(
                name=var.name,
                section=t.name,
                offset=place.offset,
                size=place.size,
                type=btf.types[var.type_id],
                linkage=_linkage(place.linkage),
                value=value,
                raw=raw,
            )
    return out


def initial_value(types: TypeCodecs, type_id: int, data: bytes) -> object:
    """``data`` decoded by the engine's codec of ``type_id``; a type the engine cannot
    model, or one whose size is not the variable's, stays its raw bytes (as a map's
    value does)."""
    try:
        codec = types.codec(type_id, "the global")
        if codec.size != len(data):
            return data
        return codec.decode(data)
    except ObjectFormatError:
        raise  # damaged BTF is the reader's error, as everywhere else
    except (BpfError, ValueError, OverflowError, RecursionError, struct.error):
        return data


def _linkage(linkage: Linkage) -> str:
    return {Linkage.STATIC: "static", Linkage.GLOBAL: "global"}.get(linkage, "extern")


def kconfig_size(btf: Btf | None) -> int:
    """The size of libbpf's ``.kconfig`` map: externs laid out by libbpf's rule (sorted
    by alignment descending, then size, then name; each aligned)."""
    if btf is None:
        return 0
    ds = None
    for type_id in btf.ids_by_name(".kconfig"):
        cand = btf.types[type_id]
        if isinstance(cand, Datasec):
            ds = cand
            break
    if ds is None:
        return 0
    items = []
    for vsi in ds.vars:
        var = btf.types[vsi.type_id]
        if isinstance(var, Var):
            items.append((-btf.align_of(var.type_id), btf.size_of(var.type_id), var.name))
    off = 0
    for neg_align, size, _ in sorted(items):
        align = -neg_align
        off = (off + align - 1) // align * align + size
    return off
