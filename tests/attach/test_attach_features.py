"""Feature probes: every answer is None or a reason the kernel gave, and agrees with what
the attach methods then do. Nothing here hard-codes what this kernel supports."""

from __future__ import annotations

from pathlib import Path

import pytest

import libbpf_py
from libbpf_py import features
from libbpf_py.enums import LinkType, MapType, ProgType
from libbpf_py.errors import NotSupported
from libbpf_py.link import Link
from libbpf_py.loaded import LoadedObject
from libbpf_py.netns import VethPair
from libbpf_py.program import Program
from tests.conftest import requires_root

pytestmark = [requires_root, pytest.mark.usefixtures("no_fd_leak")]


@pytest.mark.parametrize("kind", features.ATTACH_KINDS)
def test_every_attach_kind_gets_an_answer(kind: str) -> None:
    reason = features.check(f"attach:{kind}")
    assert reason is None or (isinstance(reason, str) and len(reason) > 20)
    assert features.has_attach(kind) is (reason is None)


def test_core_kinds_this_library_needs_are_present() -> None:
    # A kernel without these cannot run the rest of the suite at all.
    for feature in (
        "prog_type:xdp",
        "prog_type:socket_filter",
        "map_type:array",
        "map_type:hash",
        "helper:xdp:bpf_map_lookup_elem",
    ):
        assert features.check(feature) is None, feature


def test_program_and_map_type_answers_agree_with_libbpf() -> None:
    from libbpf_py._lowlevel import ffi, lib

    for prog_type in ProgType:
        if prog_type is ProgType.UNSPEC:
            continue
        libbpf_says = lib.libbpf_probe_bpf_prog_type(prog_type, ffi.NULL) == 1
        if libbpf_says:
            assert features.has_prog_type(prog_type), prog_type
    for map_type in MapType:
        if map_type is MapType.UNSPEC:
            continue
        libbpf_says = lib.libbpf_probe_bpf_map_type(map_type, ffi.NULL) == 1
        if map_type is MapType.STRUCT_OPS:
            # The library's own probe: libbpf's sets value_type_btf_obj_fd to -1, which
            # kernels before 6.9 refuse, so it says no on 6.1, which has struct_ops
            # (the legacy registration tests of test_attach_struct_ops run there).
            assert features.has_map_type(map_type) or not libbpf_says, map_type
            continue
        assert features.has_map_type(map_type) is libbpf_says, map_type


def test_missing_kprobes_are_named_from_the_kernel_config() -> None:
    reason = features.check("attach:kprobe")
    config = features.kconfig()
    if reason is None:
        assert not config or config.get("CONFIG_KPROBES") == "y"
        return
    assert "kprobe" in reason
    if config:
        assert "CONFIG_KPROBES" not in config
        assert "CONFIG_KPROBES" in reason


def test_kconfig_answers_match_the_config_file() -> None:
    config = features.kconfig()
    if not config:
        assert "not readable" in (features.check("kconfig:CONFIG_BPF") or "")
        return
    assert features.check("kconfig:CONFIG_BPF") is None
    assert features.has_kconfig("BPF_SYSCALL") is (config.get("CONFIG_BPF_SYSCALL") == "y")
    assert "not set" in (features.check("kconfig:CONFIG_LPY_NEVER_A_REAL_OPTION") or "")


def test_helper_probe_distinguishes_program_types() -> None:
    # bpf_redirect is a networking helper: socket filters may not call it.
    assert features.has_helper("xdp", "bpf_redirect")
    reason = features.check("helper:socket_filter:bpf_redirect")
    assert reason is not None and "bpf_redirect" in reason


def test_require_raises_not_supported_with_the_reason() -> None:
    from libbpf_py.errors import NotSupported

    missing = [k for k in features.ATTACH_KINDS if not features.has_attach(k)]
    if not missing:
        pytest.skip("this kernel has every attach kind")
    with pytest.raises(NotSupported) as err:
        features.require(f"attach:{missing[0]}")
    reason = features.check(f"attach:{missing[0]}")
    assert reason is not None and reason in str(err.value)
    features.clear_cache()
    assert not features.has_attach(missing[0])


# --- kinds newer than some supported kernels: NotSupported from the probe, or the real thing

_NEWER: dict[str, tuple[str, LinkType]] = {
    "tcx": ("newer_tcx", LinkType.TCX),
    "netfilter": ("newer_nf", LinkType.NETFILTER),
    "uprobe_multi": ("newer_umulti", LinkType.UPROBE_MULTI),
    "sockmap": ("newer_msg", LinkType.SOCKMAP),
}


def _attach(kind: str, prog: Program, obj: LoadedObject, dev: str, binary: Path) -> Link:
    if kind == "tcx":
        return prog.attach_tcx(dev)
    if kind == "netfilter":
        return prog.attach_netfilter("local_in", priority=1000)  # accepts every packet
    if kind == "uprobe_multi":
        return prog.attach_uprobe_multi(binary, "lpy_target*")  # the binary never runs
    return prog.attach_sockmap(obj.maps["newer_socks"])


@pytest.mark.parametrize("kind", sorted(_NEWER))
def test_newer_kind_attaches_or_is_not_supported_from_the_probe(
    kind: str, attach_objects: dict[str, Path], veth: VethPair, target_binary: Path
) -> None:
    reason = features.check(f"attach:{kind}")
    program, link_type = _NEWER[kind]
    with libbpf_py.ObjectFile(attach_objects["newer"]).open() as opened:
        if reason is None:
            opened.programs[program].autoload = True
        with opened.load() as obj:
            if reason is None:
                link = _attach(kind, obj.programs[program], obj, veth.host, target_binary)
                try:
                    assert link.info().type is link_type
                finally:
                    link.detach()
                return
            # Missing: the method says so before the kernel sees the program, so a
            # program that loads everywhere stands in for one this kernel cannot load.
            with pytest.raises(NotSupported) as err:
                _attach(kind, obj.programs["plain"], obj, veth.host, target_binary)
            assert reason in str(err.value) and kind in str(err.value)


def test_stream_read_is_not_supported_from_the_probe_or_reads(
    attach_objects: dict[str, Path],
) -> None:
    reason = features.check("command:prog_stream_read")
    with libbpf_py.ObjectFile(attach_objects["newer"]).open() as opened, opened.load() as obj:
        prog = obj.programs["plain"]
        if reason is None:
            assert prog.stream_read() == b""  # it wrote nothing
            return
        assert "BPF_PROG_STREAM_READ_BY_FD" in reason
        with pytest.raises(NotSupported, match="stream"):
            prog.stream_read()


def test_unknown_command_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="prog_stream_read"):
        features.check("command:no_such_command")
