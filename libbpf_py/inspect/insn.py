"""Decode eBPF instructions (``struct bpf_insn``) from a program's bytes.

One :class:`Instruction` per instruction; ``ld_imm64`` takes two 8-byte slots and
carries its full 64-bit immediate in ``imm64``.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from libbpf_py.errors import ObjectFormatError

__all__ = ["Instruction", "decode"]

# Instruction classes (the low three bits of the opcode).
LD, LDX, ST, STX, ALU, JMP, JMP32, ALU64 = range(8)
LD_IMM64 = 0x18
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


def decode(data: bytes, byteorder: str, section: str, base: int = 0) -> list[Instruction]:
    """Decode ``data`` (a whole number of 8-byte slots); ``base`` is its section offset."""
    if len(data) % 8:
        raise ObjectFormatError(f"code size {len(data)} is not a multiple of 8",
                                section=section, offset=base)
    little = byteorder == "little"
    fmt = "<BBhi" if little else ">BBhi"
    out: list[Instruction] = []
    pending: Instruction | None = None
    for i, (code, regs, off, imm) in enumerate(struct.iter_unpack(fmt, data)):
        if pending is not None:
            pending.imm64 = (pending.imm & 0xFFFFFFFF) | ((imm & 0xFFFFFFFF) << 32)
            pending.raw = data[8 * (i - 1):8 * (i + 1)]
            pending = None
            continue
        if little:
            dst, src = regs & 0xF, regs >> 4
        else:
            dst, src = regs >> 4, regs & 0xF
        insn = Instruction(i, code, dst, src, off, imm, None, data[8 * i:8 * i + 8])
        if code == LD_IMM64:
            pending = insn
        out.append(insn)
    if pending is not None:
        raise ObjectFormatError("ld_imm64 instruction is missing its second half",
                                section=section, offset=base + 8 * pending.index)
    return out
