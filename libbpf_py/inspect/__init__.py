"""Read a compiled BPF object completely, without the kernel and without privileges.

:func:`read_object` turns the bytes of a BPF ELF object into an :class:`ObjectSpec`:
programs (type and attach type from the section name, instructions, source lines,
relocations, CO-RE relocations), maps (BTF-defined, legacy and the internal maps of
global data), global variables with their initial values, and the whole BTF.
Only pyelftools and the standard library are needed: this package sits beside the C
layer and imports nothing compiled (import-linter's ``pure`` contract keeps it so). It
stands on the two other pure-Python layers: the BTF reader (:mod:`libbpf_py.btf`,
re-exported here and as ``inspect.btf``/``inspect.btf_types``) and the value engine
(:mod:`libbpf_py.types`), which decodes the initial values of globals exactly as a
loaded object's globals view does.
"""

from __future__ import annotations

from libbpf_py.btf.kinds import BtfKind, BtfType
from libbpf_py.btf.reader import Btf, read_btf

from . import btf as btf  # the old paths stay attributes, as when the reader lived here
from . import btf_types as btf_types
from .btf_ext import BtfExt, CoreKind, read_btf_ext
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
