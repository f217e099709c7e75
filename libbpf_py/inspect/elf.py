"""The ELF layer: sections through pyelftools, symbols and relocations from their bytes.

pyelftools reads the ELF and section headers; symbol and relocation tables are fixed-size
records decoded here with :mod:`struct` (faster, and every bound is checked). Anything
pyelftools cannot read becomes :class:`~libbpf_py.errors.ObjectFormatError`.
"""

from __future__ import annotations

import io
import struct
from dataclasses import dataclass

from elftools.common.exceptions import ELFError
from elftools.elf.elffile import ELFFile
from elftools.elf.enums import ENUM_SH_TYPE_BASE

from libbpf_py.enums import EM_BPF
from libbpf_py.errors import ObjectFormatError

__all__ = [
    "SHF_ALLOC",
    "SHF_EXECINSTR",
    "SHF_WRITE",
    "SHT_NOBITS",
    "SHT_PROGBITS",
    "SHT_REL",
    "SHT_STRTAB",
    "SHT_SYMTAB",
    "ElfObject",
    "Reloc",
    "Section",
    "Symbol",
    "read_elf",
]

SHT_PROGBITS = 1
SHT_SYMTAB = 2
SHT_STRTAB = 3
SHT_NOBITS = 8
SHT_REL = 9
SHF_WRITE = 1
SHF_ALLOC = 2
SHF_EXECINSTR = 4
SHN_UNDEF = 0
SHN_ABS = 0xFFF1
SHN_COMMON = 0xFFF2

STT_NAMES = {0: "NOTYPE", 1: "OBJECT", 2: "FUNC", 3: "SECTION", 4: "FILE", 5: "COMMON", 6: "TLS"}
STB_NAMES = {0: "LOCAL", 1: "GLOBAL", 2: "WEAK"}
STV_NAMES = {0: "DEFAULT", 1: "INTERNAL", 2: "HIDDEN", 3: "PROTECTED"}
SHT_NAMES = {
    v: k
    for k, v in ENUM_SH_TYPE_BASE.items()
    if not k.startswith("SHT_LO") and not k.startswith("SHT_HI")
}


@dataclass(slots=True)
class Section:
    """One ELF section: header fields and its bytes (empty for SHT_NOBITS)."""

    index: int
    name: str
    type: int
    flags: int
    offset: int
    size: int
    link: int
    info: int
    entsize: int
    addralign: int
    data: bytes

    @property
    def type_name(self) -> str:
        """The section type as readelf names it without ``SHT_`` (``PROGBITS``...)."""
        name = SHT_NAMES.get(self.type)
        return name[4:] if name else f"{self.type:#x}"

    @property
    def is_program(self) -> bool:
        """Whether libbpf looks for programs in this section (executable PROGBITS)."""
        return self.type == SHT_PROGBITS and bool(self.flags & SHF_EXECINSTR) and self.size > 0


@dataclass(slots=True)
class Symbol:
    """One entry of ``.symtab``."""

    index: int
    name: str
    value: int
    size: int
    type: int
    bind: int
    visibility: int
    shndx: int

    @property
    def type_name(self) -> str:
        """``FUNC``, ``OBJECT``, ``SECTION``... as readelf prints it."""
        return STT_NAMES.get(self.type, str(self.type))

    @property
    def bind_name(self) -> str:
        """``LOCAL``, ``GLOBAL`` or ``WEAK``."""
        return STB_NAMES.get(self.bind, str(self.bind))

    @property
    def is_defined(self) -> bool:
        """Whether the symbol lives in a section of this object (not an extern)."""
        return self.shndx not in (SHN_UNDEF, SHN_ABS, SHN_COMMON) and self.shndx < 0xFF00


@dataclass(slots=True)
class Reloc:
    """One ``Elf64_Rel`` record: ``offset`` is the byte offset in the target section."""

    offset: int
    symbol: int
    type: int


class ElfObject:
    """A parsed BPF ELF relocatable object."""

    def __init__(self, data: bytes, sections: list[Section], byteorder: str, machine: int) -> None:
        self.data = data
        self.sections = sections
        self.byteorder = byteorder
        self.machine = machine
        self.endian = "<" if byteorder == "little" else ">"
        self.by_name: dict[str, Section] = {}
        for s in sections:
            self.by_name.setdefault(s.name, s)
        self.symtab: Section | None = None
        for s in sections:
            if s.type == SHT_SYMTAB:
                if self.symtab is not None:
                    raise ObjectFormatError(
                        "more than one symbol table", section=s.name, offset=s.offset
                    )
                self.symtab = s
        self.symbols = self._read_symbols()
        self._relocs: dict[int, list[Reloc]] | None = None
        self._objects: dict[str, Symbol] | None = None

    def object_symbols(self) -> dict[str, Symbol]:
        """Global or weak OBJECT symbols by name (what libbpf matches BTF VARs against)."""
        if self._objects is None:
            self._objects = {
                s.name: s for s in self.symbols if s.type == 1 and s.bind in (1, 2) and s.name
            }
        return self._objects

    def section(self, index: int) -> Section | None:
        """The section with this index, or ``None``."""
        if 0 <= index < len(self.sections):
            return self.sections[index]
        return None

    def _read_symbols(self) -> list[Symbol]:
        symtab = self.symtab
        if symtab is None:
            return []
        strtab = self.section(symtab.link)
        if strtab is None or strtab.type != SHT_STRTAB:
            raise ObjectFormatError(
                f"symbol table links to section {symtab.link}, which is not a string table",
                section=symtab.name,
                offset=0,
            )
        if symtab.size % 24:
            raise ObjectFormatError(
                f"symbol table size {symtab.size} is not a multiple of 24",
                section=symtab.name,
                offset=0,
            )
        strings = strtab.data
        symbols = []
        for i, (name_off, info, other, shndx, value, size) in enumerate(
            struct.iter_unpack(self.endian + "IBBHQQ", symtab.data)
        ):
            if name_off:
                end = strings.find(b"\0", name_off)
                if end < 0 or name_off >= len(strings):
                    raise ObjectFormatError(
                        f"symbol {i} name offset {name_off} is outside {strtab.name}",
                        section=symtab.name,
                        offset=24 * i,
                    )
                name = strings[name_off:end].decode("utf-8", "replace")
            else:
                name = ""
            symbols.append(Symbol(i, name, value, size, info & 0xF, info >> 4, other & 3, shndx))
        return symbols

    def relocations(self, target: int) -> list[Reloc]:
        """The REL records that apply to section ``target`` (in file order).

        Only the REL sections of that target are decoded: the ones for DWARF are large
        and nothing here needs them.
        """
        if self._relocs is None:
            self._relocs = {}
        cached = self._relocs.get(target)
        if cached is not None:
            return cached
        out: list[Reloc] = []
        fmt = self.endian + "QQ"
        for s in self.sections:
            if s.type != SHT_REL or s.info != target:
                continue
            if s.size % 16:
                raise ObjectFormatError(
                    f"relocation section size {s.size} is not a multiple of 16",
                    section=s.name,
                    offset=0,
                )
            count = len(self.symbols)
            for i, (off, info) in enumerate(struct.iter_unpack(fmt, s.data)):
                sym = info >> 32
                if sym >= count:
                    raise ObjectFormatError(
                        f"relocation {i} names symbol {sym}, but the symbol table has {count}",
                        section=s.name,
                        offset=16 * i,
                    )
                out.append(Reloc(off, sym, info & 0xFFFFFFFF))
        self._relocs[target] = out
        return out


def _shoff(data: bytes) -> int:
    """``e_shoff`` straight from the header bytes, to locate errors pyelftools hits."""
    return int(struct.unpack_from("<Q" if data[5] != 2 else ">Q", data, 0x28)[0])


def read_elf(data: bytes) -> ElfObject:
    """Read the ELF structure of a BPF object with pyelftools."""
    if len(data) < 64 or data[:4] != b"\x7fELF":
        raise ObjectFormatError(
            "not an ELF file (bad magic or shorter than an ELF header)",
            section="ELF header",
            offset=0,
        )
    if data[4] != 2:
        raise ObjectFormatError(
            "not a 64-bit ELF (BPF objects are ELFCLASS64)", section="ELF header", offset=4
        )
    try:
        elf = ELFFile(io.BytesIO(data))
        header = elf.header
        machine = header["e_machine"]
        byteorder = "little" if elf.little_endian else "big"
        shoff = header["e_shoff"]
        sections = []
        for index, sec in enumerate(elf.iter_sections()):
            h = sec.header
            sh_type = h["sh_type"]
            type_no = sh_type if isinstance(sh_type, int) else ENUM_SH_TYPE_BASE[sh_type]
            off, size = h["sh_offset"], h["sh_size"]
            where = shoff + 64 * index
            if type_no == SHT_NOBITS:
                blob = b""
            else:
                if off + size > len(data):
                    raise ObjectFormatError(
                        f"section {index} ({sec.name!r}) spans {off:#x}+{size:#x}, past the "
                        f"end of the file ({len(data):#x} bytes)",
                        section=sec.name or f"#{index}",
                        offset=where,
                    )
                blob = data[off : off + size]
            sections.append(
                Section(
                    index,
                    sec.name,
                    type_no,
                    h["sh_flags"],
                    off,
                    size,
                    h["sh_link"],
                    h["sh_info"],
                    h["sh_entsize"],
                    h["sh_addralign"],
                    blob,
                )
            )
    except ObjectFormatError:
        raise
    except (ELFError, RecursionError, MemoryError) as e:
        raise ObjectFormatError(
            f"pyelftools cannot read the ELF structure: {e}",
            section="section headers",
            offset=_shoff(data),
        ) from e
    except Exception as e:
        # pyelftools reports damage with many exception types (struct.error, its own
        # construct stream errors, KeyError, ValueError...): all mean a malformed file.
        raise ObjectFormatError(
            f"pyelftools cannot read the ELF structure: {type(e).__name__}: {e}",
            section="section headers",
            offset=_shoff(data),
        ) from e
    if machine not in ("EM_BPF", EM_BPF):
        raise ObjectFormatError(
            f"ELF machine is {machine}, not EM_BPF", section="ELF header", offset=18
        )
    return ElfObject(data, sections, byteorder, EM_BPF)
