"""Map declarations: BTF-defined maps in ``.maps``, the legacy ``maps`` section, and the
internal maps libbpf makes for global data sections and ``.kconfig``."""

from __future__ import annotations

import struct

from libbpf_py.btf.kinds import (
    Array,
    BtfKind,
    Datasec,
    Enum,
    FuncProto,
    Linkage,
    Ptr,
    Struct,
    Var,
)
from libbpf_py.btf.reader import Btf
from libbpf_py.enums import MapType
from libbpf_py.errors import ObjectFormatError

from .datasec import find_datasec, place_vars
from .elf import SHF_EXECINSTR, SHT_NOBITS, SHT_PROGBITS, ElfObject, Section
from .spec import MapSpec, Pinning

__all__ = [
    "BPF_F_MMAPABLE",
    "BPF_F_RDONLY_PROG",
    "btf_maps",
    "data_section_kind",
    "internal_map_name",
    "internal_maps",
    "legacy_maps",
    "struct_ops_maps",
]

BPF_F_RDONLY_PROG = 1 << 7
BPF_F_MMAPABLE = 1 << 10
_OBJ_NAME_LEN = 16
_MAP_IN_MAP = (MapType.ARRAY_OF_MAPS, MapType.HASH_OF_MAPS)


def _map_type(value: int) -> MapType | int:
    try:
        return MapType(value)
    except ValueError:
        return value


def internal_map_name(obj_name: str, section: str) -> str:
    """The name libbpf gives the map of a global data section (kernel limit: 15 chars)."""
    sfx_len = min(max(7, len(section)), _OBJ_NAME_LEN - 1)
    # Custom sections (a second dot) take no object-name prefix.
    pfx_len = 0 if "." in section[1:] else min(_OBJ_NAME_LEN - sfx_len - 1, len(obj_name))
    name = obj_name[:pfx_len] + section[:sfx_len]
    return "".join(c if c.isascii() and (c.isalnum() or c in "_.") else "_" for c in name)


def data_section_kind(section: Section) -> str | None:
    """``"data"``, ``"rodata"`` or ``"bss"`` when libbpf makes a map of this section."""
    name = section.name
    if section.size == 0:
        return None
    if section.type == SHT_PROGBITS and not section.flags & SHF_EXECINSTR:
        if name == ".data" or name.startswith(".data."):
            return "data"
        if name == ".rodata" or name.startswith(".rodata."):
            return "rodata"
    if section.type == SHT_NOBITS and (name == ".bss" or name.startswith(".bss.")):
        return "bss"
    return None


class _MapDef:
    """What one ``.maps`` struct says, before it becomes a :class:`MapSpec`."""

    def __init__(self) -> None:
        self.type = 0
        self.key_size = 0
        self.value_size = 0
        self.max_entries = 0
        self.flags = 0
        self.numa_node = 0
        self.map_extra = 0
        self.pinning = 0
        self.key_type: int | None = None
        self.value_type: int | None = None
        self.inner: _MapDef | None = None
        self.values_offset: int | None = None


def _fail(message: str, offset: int) -> ObjectFormatError:
    return ObjectFormatError(message, section=".maps", offset=offset)


def _field_int(btf: Btf, type_id: int, name: str, where: int) -> int:
    """``__uint(name, N)`` is ``int (*name)[N]``: N is the array's element count."""
    t = btf.skip_qualifiers(type_id)
    if not isinstance(t, Ptr):
        raise _fail(f"map attribute {name!r} is a {t.kind.name}, not __uint()'s pointer", where)
    arr = btf.skip_qualifiers(t.type_id)
    if not isinstance(arr, Array):
        raise _fail(f"map attribute {name!r} does not point to an array", where)
    return arr.nelems


def _field_long(btf: Btf, type_id: int, name: str, where: int) -> int:
    """``__ulong(name, N)`` is an enum with one enumerator of value N."""
    t = btf.skip_qualifiers(type_id)
    if isinstance(t, Ptr):
        return _field_int(btf, type_id, name, where)
    if isinstance(t, Enum) and len(t.values) == 1:
        return t.values[0].value & 0xFFFFFFFFFFFFFFFF
    raise _fail(f"map attribute {name!r} is not __ulong()'s one-value enum", where)


# The ``__uint()`` attributes of a map definition, and the _MapDef field each one sets.
_UINT_ATTRS = {
    "type": "type",
    "max_entries": "max_entries",
    "map_flags": "flags",
    "numa_node": "numa_node",
    "key_size": "key_size",
    "value_size": "value_size",
    "pinning": "pinning",
}


def _parse_def(btf: Btf, struct_t: Struct, where: int, inner_allowed: bool) -> _MapDef:
    d = _MapDef()
    for m in struct_t.members:
        name = m.name
        if name in _UINT_ATTRS:
            setattr(d, _UINT_ATTRS[name], _field_int(btf, m.type_id, name, where))
        elif name in ("key", "value"):
            ptr = btf.skip_qualifiers(m.type_id)
            if not isinstance(ptr, Ptr):
                raise _fail(f"map attribute {name!r} is not __type()'s pointer", where)
            size = btf.size_of(ptr.type_id)
            if name == "key":
                d.key_size, d.key_type = size, ptr.type_id
            else:
                d.value_size, d.value_type = size, ptr.type_id
        elif name == "values":
            d.value_size = 4
            d.values_offset = m.bits_offset // 8
            arr = btf.skip_qualifiers(m.type_id)
            if not isinstance(arr, Array):
                raise _fail("map attribute 'values' is not __array()'s array", where)
            ptr = btf.skip_qualifiers(arr.type_id)
            if not isinstance(ptr, Ptr):
                raise _fail("map attribute 'values' is not an array of pointers", where)
            target = btf.skip_qualifiers(ptr.type_id)
            if isinstance(target, Struct) and inner_allowed:
                d.inner = _parse_def(btf, target, where, False)
            elif not isinstance(target, FuncProto | Struct):
                raise _fail(
                    "map attribute 'values' points to neither a map definition nor a program", where
                )
        elif name == "map_extra":
            d.map_extra = _field_long(btf, m.type_id, name, where)
    return d


def _spec(name: str, d: _MapDef, btf: Btf, section: str) -> MapSpec:
    pinning = Pinning.BY_NAME if d.pinning == 1 else Pinning.NONE
    return MapSpec(
        name=name,
        type=_map_type(d.type),
        key_size=d.key_size,
        value_size=d.value_size,
        max_entries=d.max_entries,
        flags=d.flags,
        section=section,
        pinning=pinning,
        numa_node=d.numa_node,
        map_extra=d.map_extra,
        key_type=btf.types[d.key_type] if d.key_type is not None else None,
        value_type=btf.types[d.value_type] if d.value_type is not None else None,
        inner=_spec(name + ".inner", d.inner, btf, section) if d.inner else None,
    )


def btf_maps(elf: ElfObject, btf: Btf | None) -> list[MapSpec]:
    """The maps declared with BTF in ``.maps`` (in the order of its DATASEC)."""
    sec = elf.by_name.get(".maps")
    if sec is None:
        return []
    if btf is None:
        raise ObjectFormatError(
            "the object has a .maps section but no .BTF to describe it", section=".maps", offset=0
        )
    try:
        datasec = btf.find(".maps", BtfKind.DATASEC)
    except KeyError:
        raise ObjectFormatError(
            "the .BTF has no DATASEC for the .maps section", section=".maps", offset=0
        ) from None
    assert isinstance(datasec, Datasec)
    # Inner maps and programs in __array(values, ...) slots arrive as relocations.
    slot_targets = {r.offset: elf.symbols[r.symbol].name for r in elf.relocations(sec.index)}
    maps = []
    for entry in datasec.vars:
        if not isinstance(btf.types[entry.type_id], Var):
            raise _fail(f"DATASEC .maps entry {entry.type_id} is not a VAR", entry.offset)
    for vsi in place_vars(elf, btf, datasec):
        var = vsi.var
        body = btf.skip_qualifiers(var.type_id)
        if not isinstance(body, Struct):
            raise _fail(f"map {var.name!r} is not a struct", vsi.offset)
        d = _parse_def(btf, body, vsi.offset, True)
        spec = _spec(var.name, d, btf, ".maps")
        spec.btf_var_id = var.id
        if d.values_offset is not None:
            base = vsi.offset + d.values_offset
            for off, target in slot_targets.items():
                if base <= off < vsi.offset + vsi.size and (off - base) % 8 == 0:
                    spec.initial_slots[(off - base) // 8] = target
        maps.append(spec)
    return maps


def legacy_maps(elf: ElfObject) -> list[MapSpec]:
    """Maps of the pre-BTF ``maps`` section (``struct bpf_map_def``), sorted by offset."""
    sec = elf.by_name.get("maps")
    if sec is None:
        return []
    syms = sorted(
        (s for s in elf.symbols if s.shndx == sec.index and s.name and s.type in (0, 1)),
        key=lambda s: s.value,
    )
    if not syms:
        return []
    def_size = sec.size // len(syms)
    if def_size < 20:
        raise ObjectFormatError(
            f"legacy map definitions of {def_size} bytes are too small "
            "(struct bpf_map_def has at least 20)",
            section="maps",
            offset=0,
        )
    fmt = elf.endian + "IIIII"
    out = []
    for s in syms:
        if s.value + 20 > len(sec.data):
            raise ObjectFormatError(
                f"legacy map {s.name!r} lies outside the section", section="maps", offset=s.value
            )
        mtype, ksize, vsize, max_entries, flags = struct.unpack_from(fmt, sec.data, s.value)
        out.append(
            MapSpec(
                name=s.name,
                type=_map_type(mtype),
                key_size=ksize,
                value_size=vsize,
                max_entries=max_entries,
                flags=flags,
                section="maps",
                legacy=True,
            )
        )
    return out


def _mmapable(elf: ElfObject, btf: Btf, ds: Datasec | None) -> bool:
    if ds is None:
        return False
    return any(p.linkage != Linkage.STATIC for p in place_vars(elf, btf, ds))


_STRUCT_OPS_SECTIONS = (".struct_ops", ".struct_ops.link", "?.struct_ops", "?.struct_ops.link")
BPF_F_LINK = 1 << 13


def struct_ops_maps(elf: ElfObject, btf: Btf | None) -> list[MapSpec]:
    """The STRUCT_OPS maps: one per variable of a ``.struct_ops[.link]`` section.

    ``initial_slots`` maps a member's byte offset to the program it is set to.
    """
    out: list[MapSpec] = []
    if btf is None:
        return out
    for name in _STRUCT_OPS_SECTIONS:
        sec = elf.by_name.get(name)
        ds = find_datasec(btf, name)
        if sec is None or ds is None:
            continue
        funcs = {r.offset: elf.symbols[r.symbol].name for r in elf.relocations(sec.index)}
        for vsi in place_vars(elf, btf, ds):
            var = vsi.var
            spec = MapSpec(
                name=var.name,
                type=MapType.STRUCT_OPS,
                key_size=4,
                value_size=btf.size_of(var.type_id),
                max_entries=1,
                flags=BPF_F_LINK if name.endswith(".link") else 0,
                section=name,
                value_type=btf.types[var.type_id],
                btf_var_id=var.id,
            )
            for off, target in funcs.items():
                if vsi.offset <= off < vsi.offset + vsi.size:
                    spec.initial_slots[off - vsi.offset] = target
            out.append(spec)
    return out


def internal_maps(
    elf: ElfObject, btf: Btf | None, obj_name: str, kconfig_size: int
) -> list[MapSpec]:
    """The ARRAY maps libbpf makes for data sections and ``.kconfig`` (in its order)."""
    out = []
    for sec in elf.sections:
        kind = data_section_kind(sec)
        if kind is None:
            continue
        ds = find_datasec(btf, sec.name)
        flags = BPF_F_RDONLY_PROG if kind == "rodata" else 0
        if btf is not None and _mmapable(elf, btf, ds):
            flags |= BPF_F_MMAPABLE
        out.append(
            MapSpec(
                name=internal_map_name(obj_name, sec.name),
                type=MapType.ARRAY,
                key_size=4,
                value_size=sec.size,
                max_entries=1,
                flags=flags,
                section=sec.name,
                value_type=ds,
                internal=True,
            )
        )
    if kconfig_size and btf is not None:
        ds = find_datasec(btf, ".kconfig")
        flags = BPF_F_RDONLY_PROG | (BPF_F_MMAPABLE if _mmapable(elf, btf, ds) else 0)
        out.append(
            MapSpec(
                name=internal_map_name(obj_name, ".kconfig"),
                type=MapType.ARRAY,
                key_size=4,
                value_size=kconfig_size,
                max_entries=1,
                flags=flags,
                section=".kconfig",
                value_type=ds,
                internal=True,
            )
        )
    return out
