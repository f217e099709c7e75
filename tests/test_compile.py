"""Phase 1: CO-RE compile with clang against vmlinux.h from the running kernel's BTF."""

from __future__ import annotations

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
    out = libbpf_py.compile(src, tmp_path / "v.o", defines={"VERDICT": "XDP_DROP"},
                            cflags=("-mcpu=v4",))
    assert out.exists()


def test_compile_error_carries_diagnostics(tmp_path: Path) -> None:
    with pytest.raises(CompileError) as info:
        libbpf_py.compile(MINIMAL.replace("return XDP_PASS;", "return undeclared_thing;"),
                          tmp_path / "bad.o")
    assert "undeclared_thing" in info.value.diagnostics
    assert "error" in info.value.diagnostics
    assert not (tmp_path / "bad.o").exists()


def test_compile_missing_file() -> None:
    with pytest.raises(NotFound, match="no BPF source file"):
        libbpf_py.compile("/nonexistent/prog.bpf.c")


def test_compile_unknown_clang() -> None:
    with pytest.raises(NotFound, match="no clang found"):
        libbpf_py.compile(MINIMAL, clang="clang-does-not-exist")
