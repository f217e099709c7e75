"""Phase 1: CO-RE compile with clang against vmlinux.h from the running kernel's BTF."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

import libbpf_py
from libbpf_py.errors import CompileError, NotFound
from libbpf_py.vmlinux import vmlinux_header

MINIMAL = """
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
SEC("xdp") int f(struct xdp_md *ctx) { return XDP_PASS; }
char LICENSE[] SEC("license") = "GPL";
"""


def test_vmlinux_header_comes_from_kernel_btf() -> None:
    header = vmlinux_header()
    text = header.read_text()
    assert "struct task_struct {" in text
    assert "preserve_access_index" in text
    assert vmlinux_header() == header  # cached


def test_compile_source_text(tmp_path: Path) -> None:
    out = libbpf_py.compile(MINIMAL, tmp_path / "min.o")
    data = out.read_bytes()
    assert data[:4] == b"\x7fELF"
    assert int.from_bytes(data[18:20], "little") == 247  # EM_BPF
    assert b".BTF" in data


def test_compile_is_cached_without_output() -> None:
    first = libbpf_py.compile(MINIMAL)
    second = libbpf_py.compile(MINIMAL)
    assert first == second and first.exists()


def test_compile_defines_and_cflags(tmp_path: Path) -> None:
    src = MINIMAL.replace("return XDP_PASS;", "return VERDICT;")
    out = libbpf_py.compile(
        src, tmp_path / "v.o", defines={"VERDICT": "XDP_DROP"}, cflags=("-mcpu=v4",)
    )
    assert out.exists()


def test_compile_error_carries_diagnostics(tmp_path: Path) -> None:
    with pytest.raises(CompileError) as info:
        libbpf_py.compile(
            MINIMAL.replace("return XDP_PASS;", "return undeclared_thing;"), tmp_path / "bad.o"
        )
    assert "undeclared_thing" in info.value.diagnostics
    assert "error" in info.value.diagnostics
    assert not (tmp_path / "bad.o").exists()


def test_compile_missing_file() -> None:
    with pytest.raises(NotFound, match="no BPF source file"):
        libbpf_py.compile("/nonexistent/prog.bpf.c")


def test_compile_unknown_clang() -> None:
    with pytest.raises(NotFound, match="no clang found"):
        libbpf_py.compile(MINIMAL, clang="clang-does-not-exist")


def _struct_names(header: Path) -> set[str]:
    return {
        line[len("struct ") : -len(" {")]
        for line in header.read_text().splitlines()
        if line.startswith("struct ") and line.endswith(" {")
    }


def test_btf_chooses_the_kernel_types_the_object_is_built_against(tmp_path: Path) -> None:
    from libbpf_py.compiler import BTF_ENV, resolve_btf

    pinned, running = resolve_btf(), resolve_btf("running")
    assert os.environ[BTF_ENV] == str(pinned)  # the suite's conftest pins it
    assert running == Path("/sys/kernel/btf/vmlinux")
    only_pinned = sorted(
        _struct_names(vmlinux_header(pinned)) - _struct_names(vmlinux_header(running))
    )
    if not only_pinned:
        pytest.skip(f"every struct of {pinned} is also in this kernel's BTF")
    source = MINIMAL.replace(
        "return XDP_PASS;", f"return sizeof(struct {only_pinned[0]}) ? XDP_PASS : XDP_DROP;"
    )
    assert libbpf_py.compile(source, tmp_path / "pinned.o", btf=pinned).exists()
    with pytest.raises(CompileError) as err:
        libbpf_py.compile(source, tmp_path / "running.o", btf="running")
    assert only_pinned[0] in err.value.diagnostics


def test_btf_by_kernel_version_is_the_fetched_package() -> None:
    from libbpf_py.compiler import resolve_btf
    from tests.conftest import pinned_btf

    release = pinned_btf().parent.name
    assert resolve_btf(release) == pinned_btf()
    with pytest.raises(NotFound, match="no BTF file"):
        resolve_btf("/nonexistent/vmlinux.btf")


def test_an_edited_header_makes_the_cached_object_stale(tmp_path: Path) -> None:
    header = tmp_path / "verdict.h"
    source = tmp_path / "prog.bpf.c"
    source.write_text(
        MINIMAL.replace(
            "#include <bpf/bpf_helpers.h>", '#include <bpf/bpf_helpers.h>\n#include "verdict.h"'
        ).replace("return XDP_PASS;", "return VERDICT;")
    )
    header.write_text("#define VERDICT XDP_PASS\n")
    first = libbpf_py.compile(source, tmp_path / "a.o").read_bytes()
    assert libbpf_py.compile(source, tmp_path / "b.o").read_bytes() == first  # cached
    header.write_text("#define VERDICT XDP_DROP\n")
    assert libbpf_py.compile(source, tmp_path / "c.o").read_bytes() != first
