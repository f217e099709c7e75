"""The compiled module: pinned libbpf, version checks, enums against the C headers."""

from __future__ import annotations

import re
from pathlib import Path

import libbpf_py
from libbpf_py._lowlevel import ffi, lib
from libbpf_py.enums import AttachType, LinkType, MapType, ProgType

ROOT = Path(__file__).resolve().parent.parent


def test_libbpf_version_is_the_pin() -> None:
    pin = re.search(r"^VERSION=(\S+)$", (ROOT / "vendor" / "libbpf.pin").read_text(), re.M)
    assert pin is not None
    assert libbpf_py.libbpf_version() == pin.group(1) == "1.7.0"
    assert ffi.string(lib.libbpf_version_string()).decode() == "v1.7"


def test_module_carries_the_package_version() -> None:
    assert ffi.string(lib.lpy_package_version()).decode() == libbpf_py.__version__


def test_enums_match_the_kernel_headers() -> None:
    for enum, prefix in (
        (ProgType, "BPF_PROG_TYPE_"),
        (MapType, "BPF_MAP_TYPE_"),
        (LinkType, "BPF_LINK_TYPE_"),
        (AttachType, "BPF_"),
    ):
        checked = 0
        for member in enum:
            name = prefix + member.name
            if hasattr(lib, name):
                assert getattr(lib, name) == member.value, name
                checked += 1
        assert checked >= 3, enum


def test_the_pure_readers_numbers_match_the_c_headers() -> None:
    """libbpf_py.inspect works without the compiled module, so it keeps its own copies of
    a few ELF and BPF numbers; everything above it takes them from C (the cdef)."""
    from libbpf_py.inspect import elf, maps

    names = [
        "EM_BPF",
        "SHT_PROGBITS",
        "SHT_SYMTAB",
        "SHT_STRTAB",
        "SHT_NOBITS",
        "SHT_REL",
        "SHF_WRITE",
        "SHF_ALLOC",
        "SHF_EXECINSTR",
        "SHN_UNDEF",
        "SHN_ABS",
        "SHN_COMMON",
    ]
    assert {n: getattr(elf, n) for n in names} == {n: getattr(lib, n) for n in names}
    names = ["BPF_F_RDONLY_PROG", "BPF_F_MMAPABLE", "BPF_F_LINK"]
    assert {n: getattr(maps, n) for n in names} == {n: getattr(lib, n) for n in names}


def test_enum_names_from_libbpf() -> None:
    for member in ProgType:
        if member is ProgType.UNSPEC:
            continue
        text = lib.libbpf_bpf_prog_type_str(member)
        assert text != ffi.NULL and ffi.string(text).decode() == member.label
    for member in MapType:
        if member.name.endswith("DEPRECATED") or member is MapType.UNSPEC:
            continue
        text = lib.libbpf_bpf_map_type_str(member)
        if text != ffi.NULL:
            assert ffi.string(text).decode() == member.label, member


def test_enum_coercion() -> None:
    assert ProgType.coerce("xdp") is ProgType.XDP
    assert MapType.coerce("percpu_array") is MapType.PERCPU_ARRAY
    assert AttachType.coerce(37) is AttachType.XDP
    import pytest

    with pytest.raises(ValueError, match="unknown ProgType"):
        ProgType.coerce("nonsense")
    with pytest.raises(TypeError):
        ProgType.coerce(1.5)  # type: ignore[arg-type]


def test_bpf_headers_ship_with_the_package() -> None:
    from libbpf_py.compiler import include_dir

    for header in ("bpf_helpers.h", "bpf_endian.h", "bpf_core_read.h", "bpf_tracing.h"):
        assert (include_dir() / "bpf" / header).is_file()
