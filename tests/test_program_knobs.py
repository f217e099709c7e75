"""Pre-load knobs of programs and objects, seen in the kernel's own view.

The attach target of an extension (freplace), the device of a device-bound XDP program
and its load flags, ``prepare()`` as a step of its own, and the ``kconfig`` and
``btf_custom_path`` open options. Objects come from tests/bpf/progknobs/.
"""

from __future__ import annotations

import os
import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

import libbpf_py
from libbpf_py import ProgramFlag, features, kernel
from libbpf_py._lowlevel import lib
from libbpf_py.btf import BtfKind, read_btf
from libbpf_py.enums import AttachType, LinkType
from libbpf_py.errors import BpfError, NotFound, PhaseError
from libbpf_py.loaded import LoadedObject
from libbpf_py.testing.netns import NetnsPair
from tests.conftest import requires_root

pytestmark = [requires_root, pytest.mark.usefixtures("no_fd_leak")]

SOURCES = Path(__file__).resolve().parent / "bpf" / "progknobs"
PACKET = bytes(64)  # a zeroed Ethernet frame is enough for these XDP programs
XDP_DROP, XDP_PASS = 1, 2
INVALID = r"Invalid argument|EINVAL"  # how the kernel refuses a device-bound attach


@pytest.fixture(scope="module")
def objects(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """tests/bpf/progknobs/*.bpf.c compiled once, by name."""
    out = tmp_path_factory.mktemp("progknobs-bpf")
    return {
        src.name.removesuffix(".bpf.c"): libbpf_py.compile(src, out / src.name.replace(".c", ".o"))
        for src in sorted(SOURCES.glob("*.bpf.c"))
    }


@pytest.fixture
def target(objects: dict[str, Path]) -> Iterator[LoadedObject]:
    """The XDP program whose verdict comes from the global function verdict()."""
    with libbpf_py.ObjectFile(objects["target"]).open() as opened, opened.load() as loaded:
        yield loaded


def need(feature: str) -> None:
    reason = features.check(feature)
    if reason:
        pytest.skip(reason)


def verdict(obj: LoadedObject) -> int:
    return obj.programs["xdp_entry"].test_run(PACKET).retval


# -- freplace: the attach target ------------------------------------------------------


def test_freplace_replaces_a_global_function_then_gives_it_back(
    objects: dict[str, Path], target: LoadedObject
) -> None:
    need("attach:freplace")
    entry = target.programs["xdp_entry"]
    assert verdict(target) == XDP_PASS
    with libbpf_py.ObjectFile(objects["replace"]).open() as opened:
        ext = opened.programs["new_verdict"]
        ext.set_attach_target(entry, "verdict")
        with opened.load() as replacing:
            program = replacing.programs["new_verdict"]
            # The first attachment goes where set_attach_target pointed before load.
            with program.attach_freplace():
                assert verdict(target) == XDP_DROP
            assert verdict(target) == XDP_PASS
            # Later ones name the target again (the kernel keeps it for the first only).
            with program.attach_freplace(entry, "verdict"):
                assert verdict(target) == XDP_DROP
            assert verdict(target) == XDP_PASS


def test_freplace_is_attached_by_the_objects_auto_attach(
    objects: dict[str, Path], target: LoadedObject
) -> None:
    need("attach:freplace")
    with libbpf_py.ObjectFile(objects["replace"]).open() as opened:
        # The target by fd: libbpf_py keeps its own duplicate until load.
        opened.programs["new_verdict"].set_attach_target(target.programs["xdp_entry"].fd, "verdict")
        with opened.load() as replacing:
            links = replacing.attach()
            assert len(links) == 1
            assert verdict(target) == XDP_DROP
        assert verdict(target) == XDP_PASS


def test_freplace_without_a_target_is_refused_by_libbpf(objects: dict[str, Path]) -> None:
    need("attach:freplace")
    opened = libbpf_py.ObjectFile(objects["replace"]).open()
    with opened, pytest.raises(BpfError):
        opened.load()


def test_a_missing_function_of_the_target_is_not_found(
    objects: dict[str, Path], target: LoadedObject
) -> None:
    with libbpf_py.ObjectFile(objects["replace"]).open() as opened:
        ext = opened.programs["new_verdict"]
        with pytest.raises(NotFound, match="no function 'no_such_function'"):
            ext.set_attach_target(target.programs["xdp_entry"], "no_such_function")
        # The global function is found in the target's BTF (the kernel's answer).
        ext.set_attach_target(target.programs["xdp_entry"], "verdict")


def test_attach_target_in_the_kernel_is_looked_up_in_its_btf(objects: dict[str, Path]) -> None:
    with libbpf_py.ObjectFile(objects["knobs"]).open() as opened:
        fentry = opened.programs["fentry_any"]
        with pytest.raises(NotFound, match="kernel's BTF"):
            fentry.set_attach_target(None, "lpy_no_such_kernel_function")
        fentry.set_attach_target(None, "bpf_fentry_test1")
        if features.check("attach:fentry") is None:
            fentry.autoload = True
            # The section names no function: the load and the attach work only
            # because of the target set above.
            with opened.load() as loaded, loaded.programs["fentry_any"].attach() as link:
                info = link.info()
                assert (info.type, info.attach_type) == (
                    LinkType.TRACING,
                    AttachType.TRACE_FENTRY,
                )


def test_attach_target_bad_input(objects: dict[str, Path], target: LoadedObject) -> None:
    with libbpf_py.ObjectFile(objects["replace"]).open() as opened:
        ext = opened.programs["new_verdict"]
        with pytest.raises(ValueError, match="kernel function"):
            ext.set_attach_target(None, None)
        with pytest.raises(ValueError, match="positive"):
            ext.set_attach_target(-1, "verdict")
        with pytest.raises(TypeError):
            ext.set_attach_target(True, "verdict")
        not_a_program = os.open("/dev/null", os.O_RDONLY | os.O_CLOEXEC)
        try:
            with pytest.raises(BpfError):
                ext.set_attach_target(not_a_program, "verdict")
        finally:
            os.close(not_a_program)


def test_attach_target_after_load_is_a_phase_error(
    objects: dict[str, Path], target: LoadedObject
) -> None:
    with libbpf_py.ObjectFile(objects["knobs"]).open() as opened:
        program = opened.programs["xdp_bound"]
        with opened.load():
            with pytest.raises(PhaseError):
                program.set_attach_target(target.programs["xdp_entry"], "verdict")
            with pytest.raises(PhaseError):
                program.ifindex = 1


def test_attach_freplace_takes_both_arguments_or_neither(target: LoadedObject) -> None:
    with pytest.raises(ValueError, match="both"):
        target.programs["xdp_entry"].attach_freplace(target.programs["xdp_entry"])


# -- the device and the load flags ----------------------------------------------------


def test_program_flags_are_the_kernel_headers_constants() -> None:
    for member in ProgramFlag:
        assert member.value == getattr(lib, "BPF_F_" + member.name), member
    assert ProgramFlag.XDP_DEV_BOUND_ONLY == 1 << 6


def test_flags_and_ifindex_round_trip_before_load(objects: dict[str, Path]) -> None:
    with libbpf_py.ObjectFile(objects["knobs"]).open() as opened:
        program = opened.programs["xdp_bound"]
        assert program.flags == ProgramFlag(0) and program.ifindex == 0
        program.flags = ProgramFlag.XDP_DEV_BOUND_ONLY | ProgramFlag.XDP_HAS_FRAGS
        assert isinstance(program.flags, ProgramFlag)
        assert ProgramFlag.XDP_HAS_FRAGS in program.flags
        program.ifindex = "lo"
        assert program.ifindex == 1
        with pytest.raises(NotFound):
            program.ifindex = "lpy-no-such-dev"
        with pytest.raises(ValueError):
            program.ifindex = -1


def test_device_bound_program_loads_for_its_device_and_attaches_nowhere_else(
    objects: dict[str, Path],
) -> None:
    need("attach:xdp_dev_bound")
    with NetnsPair() as pair, libbpf_py.ObjectFile(objects["knobs"]).open() as opened:
        program = opened.programs["xdp_bound"]
        ifindex = pair.a.ifindex
        program.ifindex = ifindex
        program.flags = ProgramFlag.XDP_DEV_BOUND_ONLY
        with pair.a.inside():  # the kernel finds the ifindex in the loading namespace
            loaded = opened.load()
        with loaded:
            bound = loaded.programs["xdp_bound"]
            # The kernel's info names a device for offloaded programs only; what it
            # says about a bound one is where it lets it attach: its device, natively.
            with pytest.raises(BpfError, match=INVALID), pair.b.inside():
                bound.attach_xdp(pair.b.dev, mode="native")
            with pytest.raises(BpfError, match=INVALID), pair.a.inside():
                bound.attach_xdp(pair.a.dev, mode="skb")
            with pair.a.inside(), bound.attach_xdp(pair.a.dev, mode="native") as link:
                assert link.info().target
            # The same program loaded without the knobs attaches to the other device.
            unbound = loaded.programs["xdp_report"]
            with pair.b.inside(), unbound.attach_xdp(pair.b.dev, mode="native") as link:
                assert link.info().target


NETDEVSIM = Path("/sys/bus/netdevsim")


@pytest.fixture
def netdevsim() -> Iterator[str]:
    """A netdevsim device (the kernel's fake offload NIC); its interface name."""
    had_module = Path("/sys/module/netdevsim").exists()
    probe = subprocess.run(["modprobe", "netdevsim"], capture_output=True, text=True)
    if probe.returncode != 0:
        pytest.skip(f"offloading needs netdevsim: {probe.stderr.strip() or 'modprobe failed'}")
    dev_id = 4000 + os.getpid() % 1000
    (NETDEVSIM / "new_device").write_text(f"{dev_id} 1")
    try:
        nets = NETDEVSIM / "devices" / f"netdevsim{dev_id}" / "net"
        yield next(iter(sorted(p.name for p in nets.iterdir())))
    finally:
        (NETDEVSIM / "del_device").write_text(str(dev_id))
        if not had_module:
            subprocess.run(["modprobe", "-r", "netdevsim"], capture_output=True)


def test_an_ifindex_without_the_flag_offloads_to_the_device(
    objects: dict[str, Path], netdevsim: str
) -> None:
    with libbpf_py.ObjectFile(objects["knobs"]).open() as opened:
        for name, program in opened.programs.items():
            program.autoload = name == "xdp_bound"
        opened.programs["xdp_bound"].ifindex = netdevsim
        with opened.load() as loaded:
            assert loaded.programs["xdp_bound"].info().ifindex == socket.if_nametoindex(netdevsim)


# -- prepare() ------------------------------------------------------------------------


def test_prepare_creates_the_maps_before_any_program_loads(objects: dict[str, Path]) -> None:
    before = {entry.id for entry in kernel.maps("knob_seen")}
    programs_before = {entry.id for entry in kernel.programs("xdp_report")}
    with libbpf_py.ObjectFile(objects["knobs"]).open() as opened:
        assert not opened.prepared
        opened.maps["knob_seen"].max_entries = 8
        opened.prepare()
        assert opened.prepared and "prepared" in repr(opened)
        made = [entry for entry in kernel.maps("knob_seen") if entry.id not in before]
        assert [entry.info().max_entries for entry in made] == [8]
        assert {entry.id for entry in kernel.programs("xdp_report")} == programs_before
        # What prepare() has applied cannot change any more ...
        with pytest.raises(PhaseError, match="before prepare"):
            opened.maps["knob_seen"].max_entries = 16
        with pytest.raises(PhaseError, match="before prepare"):
            opened.programs["fentry_any"].autoload = True
        with pytest.raises(PhaseError, match="prepare"):
            opened.bss.kconfig_value = 1
        with pytest.raises(PhaseError, match="already"):
            opened.prepare()
        # ... what only the program load reads still can (load(log_level) sets it too).
        opened.programs["xdp_bound"].flags = ProgramFlag.XDP_HAS_FRAGS
        with opened.load(log_level=1) as loaded:
            assert loaded.maps["knob_seen"].info().id == made[0].id
            assert loaded.programs["xdp_report"].test_run(PACKET).retval == XDP_PASS
            assert loaded.programs["xdp_report"].verifier_log
        with pytest.raises(PhaseError):
            opened.prepare()


def test_globals_read_before_prepare_are_dropped_by_it(objects: dict[str, Path]) -> None:
    with libbpf_py.ObjectFile(objects["knobs"]).open() as opened:
        bss = opened.bss
        bss.kconfig_value = 5
        opened.prepare()
        with pytest.raises(PhaseError, match="prepare"):
            bss.kconfig_value = 6
        with opened.load() as loaded:
            # The value set before prepare() is what the kernel's map started with.
            assert loaded.bss.kconfig_value == 5


# -- open options: kconfig and btf_custom_path ----------------------------------------


def report(obj: LoadedObject) -> tuple[int, int]:
    """Run xdp_report; return the kconfig extern and the CO-RE size of task_struct it saw."""
    assert obj.programs["xdp_report"].test_run(PACKET).retval == XDP_PASS
    return obj.bss.kconfig_value, obj.bss.task_struct_size


def test_kconfig_option_sets_a_kconfig_extern(objects: dict[str, Path]) -> None:
    opened = libbpf_py.ObjectFile(objects["knobs"]).open(kconfig="CONFIG_LPY_KNOB=42")
    with opened, opened.load() as loaded:
        assert report(loaded)[0] == 42
        assert loaded.maps["knob_seen"][0] == 42
    # Without the option the weak extern, in no kernel's config, is 0.
    with libbpf_py.ObjectFile(objects["knobs"]).open() as opened, opened.load() as loaded:
        assert report(loaded)[0] == 0


def test_kconfig_option_that_libbpf_cannot_parse_is_a_library_error(
    objects: dict[str, Path],
) -> None:
    opened = libbpf_py.ObjectFile(objects["knobs"]).open(kconfig="CONFIG_LPY_KNOB=")
    with opened, pytest.raises(BpfError):
        opened.load()


def test_a_failed_prepare_leaves_the_object_spent(objects: dict[str, Path]) -> None:
    before = {entry.id for entry in kernel.maps("knob_seen")}
    # libbpf parses the kconfig text when it resolves the externs, in prepare().
    opened = libbpf_py.ObjectFile(objects["knobs"]).open(kconfig="CONFIG_LPY_KNOB=")
    with opened:
        with pytest.raises(BpfError):
            opened.prepare()
        assert "spent" in repr(opened)
        with pytest.raises(PhaseError, match="failed prepare"):
            opened.load()
    assert {entry.id for entry in kernel.maps("knob_seen")} <= before


def task_struct_size(btf_path: str | os.PathLike[str]) -> int:
    size: int = read_btf(Path(btf_path).read_bytes()).find("task_struct", BtfKind.STRUCT).size
    return size


def test_btf_custom_path_is_what_core_relocates_against(objects: dict[str, Path]) -> None:
    pinned = os.environ["LIBBPF_PY_BTF"]
    opened = libbpf_py.ObjectFile(objects["knobs"]).open(btf_custom_path=pinned)
    with opened, opened.load() as loaded:
        assert report(loaded)[1] == task_struct_size(pinned)
    # Without it, libbpf relocates against the running kernel (the two differ unless
    # this kernel is the pinned one).
    with libbpf_py.ObjectFile(objects["knobs"]).open() as opened, opened.load() as loaded:
        assert report(loaded)[1] == task_struct_size("/sys/kernel/btf/vmlinux")


def test_btf_custom_path_that_is_missing_is_a_library_error(
    objects: dict[str, Path], tmp_path: Path
) -> None:
    opened = libbpf_py.ObjectFile(objects["knobs"]).open(btf_custom_path=tmp_path / "no.btf")
    with opened, pytest.raises(BpfError):
        opened.load()
