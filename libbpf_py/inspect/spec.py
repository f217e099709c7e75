"""The pure descriptions an inspection produces: object, programs, maps, globals.

These are plain dataclasses: they hold what the ELF file says, nothing live.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from libbpf_py.btf.kinds import BtfType
from libbpf_py.enums import AttachType, MapType, ProgType
from libbpf_py.errors import NameNotFound

from .btf_ext import CoreKind
from .insn import InstructionList

if TYPE_CHECKING:
    from .btf import Btf

__all__ = [
    "CoreRelocation",
    "GlobalVar",
    "MapSpec",
    "ObjectSpec",
    "Pinning",
    "ProgramSpec",
    "Relocation",
    "RelocationKind",
    "SourceLine",
]


class Pinning(enum.IntEnum):
    """How libbpf pins a map (``LIBBPF_PIN_*``)."""

    NONE = 0
    BY_NAME = 1


class RelocationKind(enum.Enum):
    """What an ELF relocation in a program's code refers to."""

    MAP = "map"
    GLOBAL = "global"
    KCONFIG = "kconfig"
    KSYM = "ksym"
    KFUNC = "kfunc"
    CALL = "call"
    FUNC_POINTER = "func_pointer"
    ARENA = "arena"
    OTHER = "other"


@dataclass(slots=True)
class SourceLine:
    """A line of source (from ``.BTF.ext`` line info) for the instruction at ``index``."""

    index: int
    file: str
    line: int
    column: int
    text: str


@dataclass(slots=True)
class Relocation:
    """An ELF relocation of one instruction of a program.

    ``index`` is the instruction index inside the program; ``symbol`` the ELF symbol;
    ``target`` what it means (a map name, a global's name, a function name).
    """

    index: int
    kind: RelocationKind
    symbol: str
    target: str
    section: str
    offset: int


@dataclass(slots=True)
class CoreRelocation:
    """A CO-RE relocation: which instruction is adjusted to the running kernel and how."""

    program: str
    index: int
    kind: CoreKind
    type_id: int
    root_type: str
    access: str
    path: str

    def __str__(self) -> str:
        return f"{self.kind.name.lower()} {self.path}"


@dataclass(slots=True)
class ProgramSpec:
    """A program: its section's meaning, its code and what the code refers to.

    Subprograms (functions in ``.text``, which libbpf appends to the programs calling
    them) are ProgramSpecs too, with ``type`` ``ProgType.UNSPEC``.
    """

    name: str
    section: str
    type: ProgType
    expected_attach_type: AttachType | None
    attach_target: str | None
    autoload: bool
    sleepable: bool
    is_global: bool
    offset: int
    insn_count: int
    instructions: InstructionList
    lines: list[SourceLine] = field(default_factory=list)
    relocations: list[Relocation] = field(default_factory=list)
    core_relocations: list[CoreRelocation] = field(default_factory=list)
    func_type_id: int | None = None
    calls: list[str] = field(default_factory=list)

    def line_at(self, index: int) -> SourceLine | None:
        """The line info record that starts exactly at instruction ``index``, if any."""
        for line in self.lines:
            if line.index == index:
                return line
        return None


@dataclass(slots=True)
class MapSpec:
    """A map as the object declares it.

    ``internal`` maps are the ones libbpf makes for global data sections (``.data``,
    ``.rodata``, ``.bss``, custom ``.data.*``/``.rodata.*``, ``.kconfig``); ``section``
    holds that section's name. ``legacy`` maps come from the old ``maps`` section, which
    libbpf 1.x refuses to open.
    """

    name: str
    type: MapType | int
    key_size: int
    value_size: int
    max_entries: int
    flags: int
    section: str
    pinning: Pinning = Pinning.NONE
    numa_node: int = 0
    map_extra: int = 0
    key_type: BtfType | None = None
    value_type: BtfType | None = None
    inner: MapSpec | None = None
    initial_slots: dict[int, str] = field(default_factory=dict)
    internal: bool = False
    legacy: bool = False
    btf_var_id: int | None = None


@dataclass(slots=True)
class GlobalVar:
    """A global variable (or extern) and its initial value decoded into Python.

    ``value`` is what the value engine (:mod:`libbpf_py.types.typed`) decodes from the
    section's bytes, the same value of the same Python type as a loaded object's globals
    view reads (``.bss`` variables are zeros); a type the engine cannot model stays its
    raw bytes. It is ``None`` for ``.kconfig`` and ``.ksyms`` externs, whose values come
    from the running kernel at load time.
    """

    name: str
    section: str
    offset: int
    size: int
    type: BtfType | None
    linkage: str
    value: object
    raw: bytes


@dataclass(slots=True)
class ObjectSpec:
    """Everything a compiled BPF object holds, read without the kernel."""

    name: str
    endianness: str
    license: str | None
    kern_version: int | None
    programs: dict[str, ProgramSpec]
    maps: dict[str, MapSpec]
    globals: dict[str, GlobalVar]
    subprograms: dict[str, ProgramSpec]
    btf: Btf | None
    has_legacy_maps: bool = False
    sections: list[str] = field(default_factory=list)

    @property
    def core_relocations(self) -> list[CoreRelocation]:
        """Every CO-RE relocation of every program, in program order."""
        return [
            r
            for p in (*self.programs.values(), *self.subprograms.values())
            for r in p.core_relocations
        ]

    def function(self, name: str) -> ProgramSpec:
        """A program or subprogram by name; :class:`~libbpf_py.errors.NameNotFound` (a
        ``KeyError``) naming those there are if there is none."""
        found = self.programs.get(name) or self.subprograms.get(name)
        if found is None:
            functions = [*self.programs, *self.subprograms]
            raise NameNotFound("function", name, f"object {self.name}", functions)
        return found
