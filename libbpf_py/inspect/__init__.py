"""Read a compiled BPF object completely, without the kernel and without privileges.

:func:`read_object` turns the bytes of a BPF ELF object into an :class:`ObjectSpec`:
programs (type and attach type from the section name, instructions, source lines,
relocations, CO-RE relocations), maps (BTF-defined, legacy and the internal maps of
global data), global variables with their initial values, and the whole BTF.
Only pyelftools and the standard library are needed: this package sits beside the C
layer, at the bottom, and imports nothing compiled (import-linter keeps it so).
"""

from __future__ import annotations

from .btf import Btf, read_btf
from .btf_ext import BtfExt, CoreKind, read_btf_ext
from .btf_types import BtfKind, BtfType
from .insn import Instruction
from .objfile import object_name, read_object
from .sections import SectionRule, match_section
from .spec import (
    CoreRelocation,
    GlobalVar,
    MapSpec,
    ObjectSpec,
    Pinning,
    ProgramSpec,
    Relocation,
    RelocationKind,
    SourceLine,
)

__all__ = [
    "Btf",
    "BtfExt",
    "BtfKind",
    "BtfType",
    "CoreKind",
    "CoreRelocation",
    "GlobalVar",
    "Instruction",
    "MapSpec",
    "ObjectSpec",
    "Pinning",
    "ProgramSpec",
    "Relocation",
    "RelocationKind",
    "SectionRule",
    "SourceLine",
    "match_section",
    "object_name",
    "read_btf",
    "read_btf_ext",
    "read_object",
]
