"""Decode eBPF instructions (``struct bpf_insn``) from a program's bytes.

One :class:`Instruction` per instruction; ``ld_imm64`` takes two 8-byte slots and
carries its full 64-bit immediate in ``imm64``.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import overload

from libbpf_py.errors import ObjectFormatError

__all__ = ["Instruction", "InstructionList", "decode"]

# Instruction classes (the low three bits of the opcode).
LD, LDX, ST, STX, ALU, JMP, JMP32, ALU64 = range(8)
LD_IMM64 = 0x18
_LD_IMM64_BYTE = b"\x18"
CLASS_NAMES = ("ld", "ldx", "st", "stx", "alu", "jmp", "jmp32", "alu64")


@dataclass(slots=True)
class Instruction:
    """One decoded instruction; ``index`` counts 8-byte slots from the program start."""

    index: int
    code: int
    dst: int
    src: int
    off: int
    imm: int
    imm64: int | None
    raw: bytes

    @property
    def slots(self) -> int:
        """How many 8-byte slots the instruction takes (2 for ``ld_imm64``)."""
        return 2 if self.imm64 is not None else 1

    @property
    def cls(self) -> int:
        """The instruction class (``BPF_CLASS(code)``)."""
        return self.code & 7

    @property
    def class_name(self) -> str:
        """The class as a word: ``alu64``, ``jmp32``, ``stx``..."""
        return CLASS_NAMES[self.code & 7]


class InstructionList(Sequence[Instruction]):
    """A program's instructions, decoded on first use.

    Building one checks the code (whole slots, no ``ld_imm64`` cut in half); the
    :class:`Instruction` objects are made when first asked for, so reading an object
    with a very long program stays cheap until its instructions are looked at.
    """

    def __init__(self, data: bytes, byteorder: str, section: str, base: int = 0) -> None:
        if len(data) % 8:
            raise ObjectFormatError(
                f"code size {len(data)} is not a multiple of 8", section=section, offset=base
            )
        self._data = data
        self._byteorder = byteorder
        codes = data[0::8]
        wide: list[int] = []
        pos = codes.find(_LD_IMM64_BYTE)
        while pos >= 0:
            if pos + 1 >= len(codes):
                raise ObjectFormatError(
                    "ld_imm64 instruction is missing its second half",
                    section=section,
                    offset=base + 8 * pos,
                )
            wide.append(pos)
            pos = codes.find(_LD_IMM64_BYTE, pos + 2)
        self._wide = wide
        self._count = len(codes) - len(wide)
        self._items: list[Instruction] | None = None

    @property
    def ld_imm64_slots(self) -> list[int]:
        """The slots where an ``ld_imm64`` starts (the slot after each is its second half)."""
        return list(self._wide)

    @property
    def slot_count(self) -> int:
        """How many 8-byte slots the code takes (``insn_count`` as libbpf counts it)."""
        return len(self._data) // 8

    def _decoded(self) -> list[Instruction]:
        if self._items is None:
            self._items = decode(self._data, self._byteorder, "", 0)
        return self._items

    def __len__(self) -> int:
        return self._count

    @overload
    def __getitem__(self, index: int) -> Instruction: ...

    @overload
    def __getitem__(self, index: slice) -> list[Instruction]: ...

    def __getitem__(self, index: int | slice) -> Instruction | list[Instruction]:
        return self._decoded()[index]

    def __iter__(self) -> Iterator[Instruction]:
        return iter(self._decoded())

    def __eq__(self, other: object) -> bool:
        if isinstance(other, InstructionList):
            return self._data == other._data
        return list(self) == other

    def __hash__(self) -> int:
        return hash(self._data)

    def __repr__(self) -> str:
        return f"<{self._count} instructions>"


def decode(data: bytes, byteorder: str, section: str, base: int = 0) -> list[Instruction]:
    """Decode ``data`` (a whole number of 8-byte slots); ``base`` is its section offset."""
    if len(data) % 8:
        raise ObjectFormatError(
            f"code size {len(data)} is not a multiple of 8", section=section, offset=base
        )
    little = byteorder == "little"
    fmt = "<BBhi" if little else ">BBhi"
    out: list[Instruction] = []
    pending: Instruction | None = None
    for i, (code, regs, off, imm) in enumerate(struct.iter_unpack(fmt, data)):
        if pending is not None:
            pending.imm64 = (pending.imm & 0xFFFFFFFF) | ((imm & 0xFFFFFFFF) << 32)
            pending.raw = data[8 * (i - 1) : 8 * (i + 1)]
            pending = None
            continue
        if little:
            dst, src = regs & 0xF, regs >> 4
        else:
            dst, src = regs >> 4, regs & 0xF
        insn = Instruction(i, code, dst, src, off, imm, None, data[8 * i : 8 * i + 8])
        if code == LD_IMM64:
            pending = insn
        out.append(insn)
    if pending is not None:
        raise ObjectFormatError(
            "ld_imm64 instruction is missing its second half",
            section=section,
            offset=base + 8 * pending.index,
        )
    return out
