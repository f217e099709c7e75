"""What the inspection says about the corpus, checked against what the sources declare."""

from __future__ import annotations

from pathlib import Path

import pytest

from libbpf_py.enums import AttachType, MapType, ProgType
from libbpf_py.inspect import (
    BtfKind,
    CoreKind,
    ObjectSpec,
    RelocationKind,
    match_section,
    read_object,
)
from libbpf_py.inspect.btf_types import Struct
from libbpf_py.inspect.disasm import disassemble
from libbpf_py.inspect.jsonout import object_json
from libbpf_py.inspect.render import render_c, type_name
from libbpf_py.types.typed import TypedValue


def test_object_facts(specs: dict[str, ObjectSpec]) -> None:
    spec = specs["tp_execve"]
    assert spec.name == "tp_execve"
    assert spec.license == "GPL"
    assert spec.endianness == "little"
    assert spec.kern_version is None
    assert specs["uprobe_bash"].license == "Dual BSD/GPL"
    assert specs["legacy_maps"].kern_version == 0x060000


@pytest.mark.parametrize(
    ("section", "ptype", "attach", "target", "autoload", "sleepable"),
    [
        (
            "tracepoint/syscalls/sys_enter_execve",
            ProgType.TRACEPOINT,
            None,
            "syscalls/sys_enter_execve",
            True,
            False,
        ),
        (
            "tp/sched/sched_process_exit",
            ProgType.TRACEPOINT,
            None,
            "sched/sched_process_exit",
            True,
            False,
        ),
        ("raw_tp/sched_switch", ProgType.RAW_TRACEPOINT, None, "sched_switch", True, False),
        (
            "raw_tp.w/sched_wakeup",
            ProgType.RAW_TRACEPOINT_WRITABLE,
            None,
            "sched_wakeup",
            True,
            False,
        ),
        (
            "tp_btf/sched_wakeup",
            ProgType.TRACING,
            AttachType.TRACE_RAW_TP,
            "sched_wakeup",
            True,
            False,
        ),
        (
            "fentry/do_unlinkat",
            ProgType.TRACING,
            AttachType.TRACE_FENTRY,
            "do_unlinkat",
            True,
            False,
        ),
        ("fexit/do_unlinkat", ProgType.TRACING, AttachType.TRACE_FEXIT, "do_unlinkat", True, False),
        (
            "fentry.s/__x64_sys_getpgid",
            ProgType.TRACING,
            AttachType.TRACE_FENTRY,
            "__x64_sys_getpgid",
            True,
            True,
        ),
        ("lsm.s/file_open", ProgType.LSM, AttachType.LSM_MAC, "file_open", True, True),
        ("uprobe//bin/bash:readline", ProgType.KPROBE, None, "/bin/bash:readline", True, False),
        (
            "uprobe.s//bin/bash:shell_execve",
            ProgType.KPROBE,
            None,
            "/bin/bash:shell_execve",
            True,
            True,
        ),
        (
            "uprobe.multi//lib/libc.so.6:str*",
            ProgType.KPROBE,
            AttachType.TRACE_UPROBE_MULTI,
            "/lib/libc.so.6:str*",
            True,
            False,
        ),
        (
            "kprobe.multi/vfs_*",
            ProgType.KPROBE,
            AttachType.TRACE_KPROBE_MULTI,
            "vfs_*",
            True,
            False,
        ),
        ("xdp", ProgType.XDP, AttachType.XDP, None, True, False),
        ("?xdp", ProgType.XDP, AttachType.XDP, None, False, False),
        ("xdp.frags/devmap", ProgType.XDP, AttachType.XDP_DEVMAP, None, True, False),
        ("tc/ingress", ProgType.SCHED_CLS, AttachType.TCX_INGRESS, None, True, False),
        ("tc", ProgType.SCHED_CLS, None, None, True, False),
        (
            "cgroup/connect4",
            ProgType.CGROUP_SOCK_ADDR,
            AttachType.CGROUP_INET4_CONNECT,
            None,
            True,
            False,
        ),
        (
            "cgroup_skb/ingress",
            ProgType.CGROUP_SKB,
            AttachType.CGROUP_INET_INGRESS,
            None,
            True,
            False,
        ),
        ("syscall", ProgType.SYSCALL, None, None, True, True),
        ("iter.s/task", ProgType.TRACING, AttachType.TRACE_ITER, "task", True, True),
        ("usdt/./prog:provider:probe", ProgType.KPROBE, None, "./prog:provider:probe", True, False),
        # "socket" takes no suffix: libbpf 1.x does not recognise "socket/first".
        ("socket/first", ProgType.UNSPEC, None, None, True, False),
        ("xdp/foo", ProgType.UNSPEC, None, None, True, False),
        ("kprobe.session", ProgType.KPROBE, AttachType.TRACE_KPROBE_SESSION, None, True, False),
        ("kprobefoo", ProgType.UNSPEC, None, None, True, False),
    ],
)
def test_section_rules(
    section: str,
    ptype: ProgType,
    attach: AttachType | None,
    target: str | None,
    autoload: bool,
    sleepable: bool,
) -> None:
    rule = match_section(section)
    assert (
        rule.type,
        rule.expected_attach_type,
        rule.attach_target,
        rule.autoload,
        rule.sleepable,
    ) == (ptype, attach, target, autoload, sleepable)


def test_programs_and_subprograms(specs: dict[str, ObjectSpec]) -> None:
    spec = specs["subprogs"]
    assert list(spec.programs) == ["use_subprogs", "xdp_sub"]
    assert set(spec.subprograms) == {"global_helper", "loop_body", "sum_elem", "square"}
    assert spec.subprograms["square"].type == ProgType.UNSPEC
    main = spec.programs["use_subprogs"]
    assert main.calls == ["square", "global_helper"]
    kinds = {(r.kind, r.target) for r in main.relocations}
    assert (RelocationKind.FUNC_POINTER, "loop_body") in kinds
    assert (RelocationKind.FUNC_POINTER, "sum_elem") in kinds
    assert (RelocationKind.MAP, "vals") in kinds
    assert spec.subprograms["global_helper"].is_global
    assert not spec.subprograms["square"].is_global
    assert main.insn_count == len(main.instructions) + sum(
        1 for i in main.instructions if i.imm64 is not None
    )


def test_source_lines(specs: dict[str, ObjectSpec]) -> None:
    prog = specs["tp_execve"].programs["count_exec"]
    assert prog.lines
    assert all(line.file.endswith("tp_execve.bpf.c") for line in prog.lines)
    assert any("BPF_CORE_READ(task, real_parent, tgid)" in line.text for line in prog.lines)
    first = prog.line_at(0)
    assert first is not None and first.line > 0


def test_maps_of_every_kind(specs: dict[str, ObjectSpec]) -> None:
    declared = {m.type for s in specs.values() for m in s.maps.values()}
    expected = set(MapType) - {MapType.UNSPEC, MapType.INSN_ARRAY}
    # INSN_ARRAY is newer than this kernel's BTF (vmlinux.h lacks it).
    assert expected <= declared


def test_map_details(specs: dict[str, ObjectSpec]) -> None:
    flows = specs["maps_hash"].maps["flows"]
    assert (flows.type, flows.key_size, flows.value_size, flows.max_entries) == (
        MapType.HASH,
        13 + 3,
        16,
        4096,
    )
    assert flows.flags == 1  # BPF_F_NO_PREALLOC
    assert flows.pinning.name == "BY_NAME"
    assert isinstance(flows.key_type, Struct) and flows.key_type.name == "flow"
    assert specs["maps_hash"].maps["seen"].map_extra == 3
    assert specs["maps_special"].maps["arena"].map_extra == 0x100000000 << 8
    outer = specs["map_in_map"].maps["outer_array"]
    assert outer.inner is not None and outer.inner.type == MapType.ARRAY
    assert outer.inner.max_entries == 16
    assert outer.initial_slots == {0: "first", 2: "second"}
    assert specs["map_in_map"].maps["outer_hash"].inner.type == MapType.HASH  # type: ignore[union-attr]
    assert specs["maps_array"].maps["jumps"].initial_slots == {1: "tail_b", 3: "tail_a"}
    assert specs["struct_ops_cc"].maps["pycc"].type == MapType.STRUCT_OPS
    assert "cc_init" in specs["struct_ops_cc"].maps["pycc"].initial_slots.values()


def test_internal_maps(specs: dict[str, ObjectSpec]) -> None:
    maps = specs["globals_all"].maps
    assert {m.section for m in maps.values() if m.internal} == {
        ".rodata",
        ".data",
        ".bss",
        ".data.foo",
        ".rodata.bar",
        ".bss.big",
    }
    assert maps["globals_.rodata"].flags & 0x80  # BPF_F_RDONLY_PROG
    assert maps[".data.foo"].value_size == 16
    kconfig = [m for m in specs["kconfig_ksym"].maps.values() if m.section == ".kconfig"]
    assert len(kconfig) == 1 and kconfig[0].value_size > 0


def test_legacy_maps(specs: dict[str, ObjectSpec]) -> None:
    spec = specs["legacy_maps"]
    assert spec.has_legacy_maps
    old = spec.maps["old_counts"]
    assert old.legacy and (old.type, old.key_size, old.value_size, old.max_entries) == (
        MapType.HASH,
        4,
        8,
        64,
    )


def test_globals_are_decoded(specs: dict[str, ObjectSpec]) -> None:
    g = specs["globals_all"].globals
    # The engine's values (issue 13): a struct is its generated named tuple, an enum its
    # IntEnum member, a char array bytes without its trailing NULs.
    cfg = g["cfg"].value
    assert isinstance(cfg, TypedValue) and type(cfg).__name__ == "config"
    assert cfg._asdict() == {
        "version": 3,
        "tag": b"cfg",
        "lvl": 5,
        "ports": [80, 443, 8080],
        "pair": (200, -3),
    }
    assert cfg.lvl.name == "MID" and (cfg.pair.a, cfg.pair.b) == (200, -3)
    assert g["banner"].value == b"hello, bpf"
    assert g["negative"].value == -12345678901
    assert g["enabled"].value is True
    assert g["table"].value == [1, 2, 3, 4]
    assert g["counter"].value == 7 and g["counter"].section == ".data"
    assert g["zeroed_bss"].value == 0 and g["zeroed_bss"].section == ".bss"
    assert g["foo_array"].value == [21, 22] and g["foo_array"].section == ".data.foo"
    assert g["bar_name"].value == b"bar section" and g["bar_byte"].value == 0xAB
    assert g["big_bss_buf"].section == ".bss.big"
    assert g["hidden_static"].linkage == "static" and g["hidden_static"].value == 99
    assert g["hidden_global"].linkage == "static"
    ext = specs["kconfig_ksym"].globals
    assert ext["LINUX_KERNEL_VERSION"].section == ".kconfig"
    assert ext["runqueues"].section == ".ksyms" and ext["runqueues"].linkage == "extern"


def test_globals_follow_the_char_rule_in_either_byte_order(tmp_path: Path) -> None:
    # One struct of every kind of member (tests/bpf/execute/same_struct.bpf.c), read from
    # a little- and a big-endian build: the same values, of the same generated class.
    from libbpf_py import compile

    src = Path(__file__).resolve().parents[1] / "bpf" / "execute" / "same_struct.bpf.c"
    little = read_object(compile(src, tmp_path / "le.bpf.o").read_bytes(), "le")
    big = read_object(
        compile(src, tmp_path / "be.bpf.o", cflags=("-target", "bpfeb")).read_bytes(), "be"
    )
    le, be = little.globals["first"].value, big.globals["first"].value
    assert big.endianness == "big" and type(le) is type(be) and le == be
    assert (le.seq, le.delta, le.colour.name, le.ok) == (7, -1, "LPY_RED", True)
    # char[N]: trailing NULs stripped, interior ones kept; unsigned char[N]: every byte.
    assert le.name == b"ab\0cd" and le.addr == b"\x0a\x00\x00\x01\x00\x00"
    assert (le.port, le.halves, le.pair.lo, le.pair.hi, le.flags, le.kind) == (
        0x00350035,
        [0x35, 0x35],
        3,
        4,
        5,
        17,
    )
    # JSON: char[N] as text (interior NULs kept), other bytes as hex, enums named,
    # anonymous members merged in by their own names.
    first = next(g for g in object_json(little)["globals"] if g["name"] == "first")["value"]
    assert first["name"] == "ab\x00cd" and first["addr"] == {"bytes": "0a0000010000"}
    assert first["colour"] == {"enum": "LPY_RED", "value": 1}
    assert (first["port"], first["halves"], first["pair"]) == (
        0x00350035,
        [0x35, 0x35],
        {"lo": 3, "hi": 4},
    )


def test_bitfields_and_enums(specs: dict[str, ObjectSpec]) -> None:
    state = specs["bitfields"].globals["state"].value
    assert (
        state.ready,
        state.mode,
        state.delta,
        state.wide,
        state.tail,
        state.raw,
        state.lo,
        state.hi,
    ) == (1, 5, -7, 0x123456789A, 9, 0xF3, 3, 15)
    btf = specs["bitfields"].btf
    assert btf is not None
    flags = btf.find("flags", BtfKind.STRUCT)
    assert isinstance(flags, Struct)
    assert [m.bitfield_size for m in flags.members][:4] == [1, 3, 5, 40]
    e = specs["enums64"].globals
    assert (e["big_val"].value.name, e["big_val"].value) == ("HUGE", 0xFEDCBA9876543210)
    assert (e["sbig_val"].value.name, e["sbig_val"].value) == ("NEG_HUGE", -0x7000000000000000)
    assert (e["sign"].value.name, e["sign"].value) == ("MINUS_ONE", -1)
    assert specs["enums64"].btf.find("big").kind == BtfKind.ENUM64  # type: ignore[union-attr]


def test_every_btf_kind_is_read(specs: dict[str, ObjectSpec]) -> None:
    kinds = {t.kind for s in specs.values() if s.btf for t in s.btf.types}
    assert kinds == set(BtfKind)


def test_core_relocations(specs: dict[str, ObjectSpec]) -> None:
    relocs = specs["core_heavy"].core_relocations
    assert {r.kind for r in relocs} == set(CoreKind)
    paths = {(r.kind, r.path) for r in relocs}
    assert (CoreKind.FIELD_BYTE_OFFSET, "task_struct->se.vruntime") in paths
    assert (CoreKind.FIELD_BYTE_OFFSET, "task_struct->real_parent") in paths
    assert (CoreKind.FIELD_BYTE_OFFSET, "task_struct->comm[3]") in paths
    assert (CoreKind.FIELD_EXISTS, "task_struct___old->state") in paths
    assert (CoreKind.TYPE_SIZE, "struct mm_struct") in paths
    assert (CoreKind.ENUMVAL_VALUE, "enum pid_type::PIDTYPE_PGID") in paths
    execve = specs["tp_execve"].programs["count_exec"].core_relocations
    assert [r.path for r in execve][:2] == ["task_struct->real_parent", "task_struct->tgid"]


def test_kconfig_ksym_kfunc_relocations(specs: dict[str, ObjectSpec]) -> None:
    rel = {(r.kind, r.target) for r in specs["kconfig_ksym"].programs["new_task"].relocations}
    assert (RelocationKind.KCONFIG, "LINUX_KERNEL_VERSION") in rel
    assert (RelocationKind.KSYM, "runqueues") in rel
    assert (RelocationKind.KFUNC, "bpf_task_acquire") in rel
    glob = {(r.kind, r.target) for r in specs["globals_all"].programs["use_globals"].relocations}
    assert (RelocationKind.GLOBAL, "counter") in glob
    assert (RelocationKind.GLOBAL, "hidden_static") in glob


def test_render_c(specs: dict[str, ObjectSpec]) -> None:
    btf = specs["bitfields"].btf
    assert btf is not None
    text = render_c(btf, btf.find("flags").id)
    assert text.startswith("struct flags {")
    assert "\tunsigned int mode: 3;" in text and "\tint delta: 5;" in text
    assert "\tunion {" in text
    tags = specs["decl_tags"].btf
    assert tags is not None
    tagged = render_c(tags, tags.find("tagged").id)
    assert "int (*callback)(int, char * restrict);" in tagged
    assert "long long matrix[2][3];" in tagged
    assert "const volatile u64 cv;" in tagged
    assert '__attribute__((btf_type_tag("user"))) int *up;' in tagged
    fn = render_c(tags, tags.find("tagged_fn").id)
    assert fn == "int tagged_fn(int x, struct tagged *t);"
    assert type_name(tags, tags.find("tagged").id) == "struct tagged"


def test_default_disassembly_adds_names(specs: dict[str, ObjectSpec]) -> None:
    spec = specs["tp_execve"]
    prog = spec.programs["count_exec"]
    text = "\n".join(disassemble(prog, list(spec.programs.values())))
    assert "call bpf_get_current_task#35" in text
    assert "map exec_count" in text
    assert "&target_tgid (.rodata)" in text
    assert "CO-RE field_byte_offset task_struct->real_parent" in text
    assert "; u32 ppid = BPF_CORE_READ(task, real_parent, tgid);" in text
    sub = specs["subprogs"]
    text = "\n".join(
        disassemble(
            sub.programs["use_subprogs"], [*sub.programs.values(), *sub.subprograms.values()]
        )
    )
    assert "call square" in text and "&loop_body (function)" in text
    k = specs["kconfig_ksym"]
    text = "\n".join(disassemble(k.programs["new_task"], list(k.programs.values())))
    assert "call kfunc bpf_task_acquire" in text
