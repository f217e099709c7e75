"""Where each variable of a DATASEC really lives.

clang writes DATASECs with size 0 and every variable at offset 0; the ELF symbols hold
the real offsets. This applies libbpf's fix-up (without changing the BTF itself, which
stays as the file has it): the section size from ELF, each global's offset from its
symbol, hidden globals treated as static, variables sorted by offset.
"""

from __future__ import annotations

from dataclasses import dataclass

from libbpf_py.btf.kinds import Datasec, Linkage, Var
from libbpf_py.btf.reader import Btf
from libbpf_py.errors import ObjectFormatError

from .elf import ElfObject

__all__ = ["VarPlacement", "find_datasec", "place_vars"]

_STT_OBJECT = 1
_STV_INTERNAL, _STV_HIDDEN = 1, 2
_EXTERN_SECTIONS = (".kconfig", ".ksyms")


@dataclass(slots=True)
class VarPlacement:
    """One variable of a DATASEC at its fixed-up offset, with its effective linkage."""

    var: Var
    offset: int
    size: int
    linkage: Linkage


def find_datasec(btf: Btf | None, name: str) -> Datasec | None:
    """The DATASEC called ``name``, if the BTF has one."""
    if btf is None:
        return None
    for type_id in btf.ids_by_name(name):
        t = btf.types[type_id]
        if isinstance(t, Datasec):
            return t
    return None


def place_vars(elf: ElfObject, btf: Btf, ds: Datasec) -> list[VarPlacement]:
    """The variables of ``ds`` where libbpf puts them, sorted by offset."""
    fixup = ds.size == 0 and ds.name not in _EXTERN_SECTIONS
    symbols = elf.object_symbols()
    out = []
    for vsi in ds.vars:
        var = btf.types[vsi.type_id]
        if not isinstance(var, Var):
            continue  # .ksyms also lists kfuncs (FUNC)
        offset, linkage = vsi.offset, var.linkage
        if ds.name not in _EXTERN_SECTIONS and linkage == Linkage.GLOBAL:
            sym = symbols.get(var.name)
            if sym is None:
                raise ObjectFormatError(
                    f"global {var.name!r} of {ds.name} has no ELF symbol",
                    section=".BTF",
                    offset=btf.offset_of(ds.id),
                )
            if fixup:
                offset = sym.value
            if sym.visibility in (_STV_HIDDEN, _STV_INTERNAL):
                linkage = Linkage.STATIC
        out.append(VarPlacement(var, offset, vsi.size, linkage))
    out.sort(key=lambda p: p.offset)
    return out
