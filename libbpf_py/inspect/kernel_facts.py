"""What a kernel can do, read from its BTF alone: program and map types, attach types,
helpers, kfuncs, functions, tracepoints, iterators and LSM hooks.

A kernel's ``vmlinux`` BTF describes the kernel that was built, so much of what a BPF
object needs can be checked against it without booting that kernel:

- **program types** built in: ``struct bpf_ctx_convert`` has a member pair per program
  type the kernel registered (configuration included: a kernel without ``CONFIG_BPF_LSM``
  has no ``BPF_PROG_TYPE_LSM`` members);
- **map types**, **attach types** and **helpers** the kernel version knows: the enums
  ``bpf_map_type``, ``bpf_attach_type`` and ``bpf_func_id`` (a type or helper may still
  be compiled out by configuration: these are what the version defines);
- **variables**: its ``VAR`` types (the per-CPU variables typed ``__ksym`` externs name);
- **functions** (``fentry``/``fexit`` targets, kfunc candidates): its ``FUNC`` types; the
  **kfuncs** are those tagged ``bpf_kfunc``, where the BTF carries the tags (newer
  pahole), else unknown;
- **tracepoints** of ``tp_btf``/``raw_tp``: the ``btf_trace_<name>`` typedefs;
  **iterators**: the ``bpf_iter_<target>`` functions (not the open-coded iterators'
  ``_new``/``_next``/``_destroy`` kfuncs); **LSM hooks**: ``bpf_lsm_<hook>``.

The module is pure Python, like the rest of :mod:`libbpf_py.inspect`.
"""

from __future__ import annotations

from dataclasses import dataclass

from libbpf_py.btf.kinds import BtfKind, DeclTag, Enum, Struct
from libbpf_py.btf.reader import Btf

__all__ = ["KernelFacts"]

# bpf_iter_<name>_new/_next/_destroy are the kfuncs of open-coded iterators, not targets.
_OPEN_CODED = ("_new", "_next", "_destroy")


def _enum_names(btf: Btf, name: str, prefix: str) -> frozenset[str]:
    """The members of enum ``name`` without ``prefix`` (and without the ``__MAX`` ones)."""
    for type_id in btf.ids_by_name(name):
        t = btf.types[type_id]
        if isinstance(t, Enum):
            return frozenset(
                v.name.removeprefix(prefix)
                for v in t.values
                if v.name.startswith(prefix) and not v.name.startswith("__")
            )
    return frozenset()


@dataclass(frozen=True)
class KernelFacts:
    """What one kernel's BTF shows it has. Names are the kernel's without their prefix:
    program types ``XDP``, map types ``HASH``, attach types ``TRACE_FENTRY`` (from
    ``BPF_PROG_TYPE_*``, ``BPF_MAP_TYPE_*``, ``BPF_*``), helpers ``map_lookup_elem`` (from
    ``BPF_FUNC_*``), tracepoints ``sched_switch``, iterators ``task``, hooks ``file_open``."""

    program_types: frozenset[str]
    map_types: frozenset[str]
    attach_types: frozenset[str]
    helpers: frozenset[str]
    functions: frozenset[str]
    #: The variables the BTF describes (the per-CPU ones: what typed ``__ksym`` externs
    #: are resolved against).
    variables: frozenset[str]
    #: The functions tagged ``bpf_kfunc``; None when this BTF carries no such tags (it
    #: was made by an older pahole), so kfuncs can only be told from functions by name.
    kfuncs: frozenset[str] | None
    tracepoints: frozenset[str]
    iterators: frozenset[str]
    lsm_hooks: frozenset[str]

    @classmethod
    def from_btf(cls, btf: Btf) -> KernelFacts:
        """Read the facts from a kernel's ``vmlinux`` BTF."""
        programs: set[str] = set()
        for type_id in btf.ids_by_name("bpf_ctx_convert"):
            t = btf.types[type_id]
            if isinstance(t, Struct):
                for m in t.members:
                    base = m.name.removeprefix("BPF_PROG_TYPE_")
                    for suffix in ("_prog", "_kern"):
                        if base != m.name and base.endswith(suffix):
                            programs.add(base.removesuffix(suffix))
        functions: set[str] = set()
        variables: set[str] = set()
        tracepoints: set[str] = set()
        kfunc_ids: set[int] = set()
        for t in btf.types:
            if t.kind == BtfKind.FUNC:
                functions.add(t.name)
            elif t.kind == BtfKind.VAR:
                variables.add(t.name)
            elif t.kind == BtfKind.TYPEDEF and t.name.startswith("btf_trace_"):
                tracepoints.add(t.name.removeprefix("btf_trace_"))
            elif isinstance(t, DeclTag) and t.name == "bpf_kfunc" and t.component_idx == -1:
                kfunc_ids.add(t.type_id)
        kfuncs = (
            frozenset(btf.types[i].name for i in kfunc_ids if 0 <= i < len(btf.types))
            if kfunc_ids
            else None
        )
        return cls(
            program_types=frozenset(programs),
            map_types=_enum_names(btf, "bpf_map_type", "BPF_MAP_TYPE_") - {"UNSPEC"},
            attach_types=_enum_names(btf, "bpf_attach_type", "BPF_"),
            helpers=_enum_names(btf, "bpf_func_id", "BPF_FUNC_") - {"unspec"},
            functions=frozenset(functions),
            variables=frozenset(variables),
            kfuncs=kfuncs,
            tracepoints=frozenset(tracepoints),
            iterators=frozenset(
                f.removeprefix("bpf_iter_")
                for f in functions
                if f.startswith("bpf_iter_") and not f.endswith(_OPEN_CODED)
            ),
            lsm_hooks=frozenset(
                f.removeprefix("bpf_lsm_") for f in functions if f.startswith("bpf_lsm_")
            ),
        )
