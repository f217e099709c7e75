"""Will this object load on that kernel? A report from the object and the kernel's BTF.

:func:`portability` checks, for every program and map of a compiled object, what would
stop libbpf and the kernel from loading it on the kernel a BTF describes:

- **CO-RE relocations** (exact: libbpf's rules, :mod:`.core_resolve`): each one that no
  candidate type matches poisons its instruction. Whether the verifier reaches a
  poisoned instruction is decided by constant propagation (:mod:`.reach`), a
  heuristic: a read guarded by ``bpf_core_field_exists()`` and friends is *guarded*, not
  failing. Relocations libbpf refuses outright (ambiguous candidates, an offset too
  large for the instruction) fail the load.
- **program types** (exact: the kernel's ``bpf_ctx_convert`` lists the types it built);
- **attach targets** of ``fentry``/``fexit``/``fmod_ret``, ``tp_btf``, ``lsm`` and
  ``iter`` programs (exact: the functions, ``btf_trace_`` typedefs, ``bpf_lsm_`` hooks
  and ``bpf_iter_`` targets of the BTF), and of ``raw_tp`` (exact by the same typedefs);
  ``kprobe`` targets are not in BTF and are not checked;
- **map types** (the kernel version's ``bpf_map_type``; a type configured out is not
  seen) and **helpers** (its ``bpf_func_id``: a helper of a newer kernel is a certain
  failure; one the program type may not call is not checked);
- **kfuncs** and typed **ksyms** (exact where the BTF tags kfuncs; else by function name).

A report never needs the kernel itself, root or the compiled module: it stays in this
pure-Python layer. Fetching a kernel's BTF is :func:`libbpf_py.fetch_kernel_btf`'s.
"""

from __future__ import annotations

import enum
import os
from dataclasses import dataclass, field
from typing import Any

from libbpf_py.btf.reader import Btf, read_btf

from .btf_ext import CoreRecord
from .core_resolve import CoreOutcome, Resolver
from .helpers import HELPERS
from .kernel_facts import KernelFacts
from .reach import reachable
from .spec import CoreRelocation, ObjectSpec, ProgramSpec, RelocationKind

__all__ = ["Check", "Problem", "Report", "Severity", "portability"]


class Severity(enum.Enum):
    """How bad a problem is for the load."""

    #: The load fails.
    FAILS = "fails"
    #: A CO-RE relocation is poisoned, but no path reaches it: the load succeeds.
    GUARDED = "guarded"


class Check(enum.Enum):
    """Which check found a problem."""

    CORE = "CO-RE"
    PROGRAM_TYPE = "program type"
    ATTACH_TARGET = "attach target"
    MAP_TYPE = "map type"
    HELPER = "helper"
    KFUNC = "kfunc"
    KSYM = "ksym"


@dataclass(frozen=True)
class Problem:
    """One thing that stops (or, guarded, would stop) the load on a kernel.

    ``program`` or ``map`` says where; ``what`` is the C-level name (a field path, a
    helper, a map type); ``exact`` is False where the verdict rests on a heuristic.
    """

    severity: Severity
    check: Check
    what: str
    message: str
    program: str | None = None
    map: str | None = None
    exact: bool = True

    def line(self, kernel: str) -> str:
        """The problem as one line: kernel, where, what and why."""
        where = f"prog {self.program!r}" if self.program else f"map {self.map!r}"
        guess = "" if self.exact else " (heuristic)"
        return (
            f"{kernel}: {where}: {self.severity.value}{guess}: {self.check.value} "
            f"{self.what}: {self.message}"
        )

    def to_json(self) -> dict[str, Any]:
        """The same facts as a JSON object."""
        return {
            "severity": self.severity.value,
            "check": self.check.value,
            "what": self.what,
            "message": self.message,
            "program": self.program,
            "map": self.map,
            "exact": self.exact,
        }


@dataclass(frozen=True)
class Report:
    """The verdict for one object on one kernel: ``loads``, and every problem found."""

    kernel: str
    problems: tuple[Problem, ...] = field(default=())

    @property
    def loads(self) -> bool:
        """Whether nothing found stops the load."""
        return not any(p.severity == Severity.FAILS for p in self.problems)

    @property
    def first_reason(self) -> Problem | None:
        """The first problem that fails the load, in the order libbpf meets them."""
        return next((p for p in self.problems if p.severity == Severity.FAILS), None)

    def lines(self) -> list[str]:
        """One line per problem."""
        return [p.line(self.kernel) for p in self.problems]

    def to_json(self) -> dict[str, Any]:
        """The report as a JSON object."""
        return {
            "kernel": self.kernel,
            "loads": self.loads,
            "problems": [p.to_json() for p in self.problems],
        }


def _read_target(kernel_btf: str | os.PathLike[str] | Btf) -> tuple[Btf, str]:
    if isinstance(kernel_btf, Btf):
        return kernel_btf, "the given BTF"
    with open(kernel_btf, "rb") as f:
        return read_btf(f.read()), os.fspath(kernel_btf)


def portability(
    spec: ObjectSpec, kernel_btf: str | os.PathLike[str] | Btf, *, kernel: str | None = None
) -> Report:
    """What stops ``spec`` from loading on the kernel whose BTF is ``kernel_btf`` (a
    file's path or a parsed :class:`~libbpf_py.btf.Btf`); ``kernel`` names it in the
    report's lines (default: the file's path)."""
    target, label = _read_target(kernel_btf)
    facts = KernelFacts.from_btf(target)
    problems: list[Problem] = []
    loaded = [p for p in spec.programs.values() if p.autoload]
    for m in spec.maps.values():
        type_name = m.type.name if isinstance(m.type, enum.Enum) else f"#{m.type}"
        if not m.internal and type_name not in facts.map_types:
            problems.append(
                Problem(
                    Severity.FAILS,
                    Check.MAP_TYPE,
                    f"BPF_MAP_TYPE_{type_name}",
                    "this kernel has no such map type",
                    map=m.name,
                )
            )
    for prog in loaded:
        problems += _program_problems(prog, facts)
    problems += _core_problems(spec, target, loaded)
    return Report(kernel or label, tuple(problems))


def _program_problems(prog: ProgramSpec, facts: KernelFacts) -> list[Problem]:
    out: list[Problem] = []
    name = prog.name
    ptype = prog.type.name
    if ptype != "UNSPEC" and ptype not in facts.program_types:
        out.append(
            Problem(
                Severity.FAILS,
                Check.PROGRAM_TYPE,
                f"BPF_PROG_TYPE_{ptype}",
                "this kernel does not have the program type (too old, or configured out)",
                program=name,
            )
        )
    target = prog.attach_target
    attach = prog.expected_attach_type.name if prog.expected_attach_type is not None else ""
    where: tuple[frozenset[str], str] | None = None
    if attach in ("TRACE_FENTRY", "TRACE_FEXIT", "MODIFY_RETURN"):
        where = (facts.functions, "no function of that name in the kernel's BTF")
    elif attach == "TRACE_RAW_TP" or ptype in ("RAW_TRACEPOINT", "RAW_TRACEPOINT_WRITABLE"):
        where = (facts.tracepoints, "no raw tracepoint of that name in this kernel")
    elif attach == "LSM_MAC":
        where = (facts.lsm_hooks, "no LSM hook of that name in this kernel")
    elif attach == "TRACE_ITER":
        where = (facts.iterators, "no iterator target of that name in this kernel")
    if target and where is not None and target not in where[0]:
        out.append(Problem(Severity.FAILS, Check.ATTACH_TARGET, target, where[1], program=name))
    for insn in prog.instructions:
        if insn.code == 0x85 and insn.src == 0:
            helper = HELPERS.get(insn.imm, f"helper #{insn.imm}")
            if helper.removeprefix("bpf_") not in facts.helpers:
                out.append(
                    Problem(
                        Severity.FAILS,
                        Check.HELPER,
                        helper,
                        "this kernel does not have the helper",
                        program=name,
                    )
                )
    seen: set[tuple[str, str]] = set()
    for rel in prog.relocations:
        key = (rel.kind.value, rel.target)
        if key in seen:
            continue
        seen.add(key)
        if rel.kind == RelocationKind.KFUNC:
            known = facts.kfuncs if facts.kfuncs is not None else facts.functions
            if rel.target not in known:
                out.append(
                    Problem(
                        Severity.FAILS,
                        Check.KFUNC,
                        rel.target,
                        "this kernel has no such kfunc",
                        program=name,
                        exact=facts.kfuncs is not None,
                    )
                )
        elif rel.kind == RelocationKind.KSYM and rel.target not in facts.variables:
            if rel.target in facts.functions:
                continue  # a function's address: kallsyms has it
            out.append(
                Problem(
                    Severity.FAILS,
                    Check.KSYM,
                    rel.target,
                    "no kernel variable of that name in the kernel's BTF (a typed __ksym "
                    "needs one; an untyped one is looked up in kallsyms, which BTF does not "
                    "show)",
                    program=name,
                    exact=False,
                )
            )
    return out


def _core_problems(spec: ObjectSpec, target: Btf, loaded: list[ProgramSpec]) -> list[Problem]:
    """CO-RE relocations of the loaded programs and the subprograms, in libbpf's order
    (by section, then instruction), with one resolver as libbpf has one per load."""
    if spec.btf is None:
        return []
    everything = [*loaded, *spec.subprograms.values()]
    resolver = Resolver(spec.btf, target)
    out: list[Problem] = []
    by_section: dict[str, list[tuple[ProgramSpec, CoreRelocation]]] = {}
    for prog in everything:
        for relo in prog.core_relocations:
            by_section.setdefault(prog.section, []).append((prog, relo))
    for section, items in by_section.items():
        items.sort(key=lambda item: (item[0].offset, item[1].index))
        code_of: dict[str, bytes] = {}
        poisoned: dict[str, list[tuple[int, str, str]]] = {}
        patches: dict[str, dict[int, int]] = {}
        for number, (prog, relo) in enumerate(items):
            index = relo.index
            code = code_of.setdefault(prog.name, b"".join(i.raw for i in prog.instructions))
            record = CoreRecord(
                section, prog.offset + 8 * index, relo.type_id, relo.access, relo.kind
            )
            res = resolver.resolve(record, number, code[index * 8 : index * 8 + 16])
            if res.outcome == CoreOutcome.REFUSED:
                out.append(
                    Problem(
                        Severity.FAILS,
                        Check.CORE,
                        relo.path,
                        f"libbpf refuses the relocation: {res.reason}",
                        program=prog.name,
                    )
                )
            elif res.outcome == CoreOutcome.POISONED:
                poisoned.setdefault(prog.name, []).append((index, relo.path, res.reason))
            else:
                patches.setdefault(prog.name, {})[index] = res.value
        for prog_name, bad in poisoned.items():
            seen = reachable(code_of[prog_name], patches.get(prog_name, {}))
            for index, path, reason in bad:
                hit = index in seen
                out.append(
                    Problem(
                        Severity.FAILS if hit else Severity.GUARDED,
                        Check.CORE,
                        path,
                        (
                            f"{reason}; the instruction is reached (the verifier rejects "
                            "it as an invalid call)"
                            if hit
                            else f"{reason}; no path reaches the instruction"
                        ),
                        program=prog_name,
                        exact=False,
                    )
                )
    return out
