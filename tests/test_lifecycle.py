"""Phases 3-7 on the real kernel: open, load, attach, execute, tear down."""

from __future__ import annotations

import errno
import os
import warnings
from pathlib import Path

import pytest

import libbpf_py
from libbpf_py import (
    AttachType,
    Link,
    LoadedObject,
    MapType,
    OpenObject,
    PhaseError,
    ProgType,
)
from libbpf_py._lowlevel import lib
from tests.conftest import requires_root

pytestmark = [requires_root, pytest.mark.usefixtures("no_fd_leak")]


def kernel_has_prog(prog_id: int) -> bool:
    fd = lib.bpf_prog_get_fd_by_id(prog_id)
    if fd >= 0:
        os.close(fd)
        return True
    assert -fd == errno.ENOENT
    return False


def kernel_has_link(link_id: int) -> bool:
    fd = lib.bpf_link_get_fd_by_id(link_id)
    if fd >= 0:
        os.close(fd)
        return True
    return False


def test_open_shows_programs_and_maps(bpf_objects: dict[str, Path]) -> None:
    with libbpf_py.ObjectFile(bpf_objects["lifecycle"]).open() as obj:
        assert isinstance(obj, OpenObject)
        assert set(obj.programs) == {"count_getpid", "pass_all", "drop_all"}
        tp = obj.programs["count_getpid"]
        assert tp.type is ProgType.TRACEPOINT
        assert tp.section == "tracepoint/syscalls/sys_enter_getpid"
        assert tp.autoload
        assert not obj.programs["drop_all"].autoload
        assert obj.programs["pass_all"].type is ProgType.XDP
        hits = obj.maps["hits"]
        assert (hits.type, hits.key_size, hits.value_size, hits.max_entries) == (
            MapType.ARRAY,
            4,
            8,
            4,
        )
        assert any(name.endswith(".bss") for name in obj.maps)


def test_open_settings_take_effect(bpf_objects: dict[str, Path]) -> None:
    with libbpf_py.ObjectFile(bpf_objects["lifecycle"]).open() as obj:
        obj.maps["small"].max_entries = 32
        obj.programs["drop_all"].autoload = True
        obj.programs["count_getpid"].autoload = False
        with obj.load() as loaded:
            assert loaded.maps["small"].max_entries == 32
            assert loaded.maps["small"].info().max_entries == 32
            assert loaded.programs["drop_all"].loaded
            assert not loaded.programs["count_getpid"].loaded
            with pytest.raises(PhaseError, match="not loaded"):
                _ = loaded.programs["count_getpid"].fd
            pkt = b"\0" * 64
            assert loaded.programs["drop_all"].test_run(pkt).retval == 1  # XDP_DROP


def test_load_hands_over_and_close_unloads(bpf_objects: dict[str, Path]) -> None:
    opened = libbpf_py.ObjectFile(bpf_objects["lifecycle"]).open()
    loaded = opened.load()
    assert isinstance(loaded, LoadedObject)
    assert opened.closed
    prog = loaded.programs["pass_all"]
    info = prog.info()
    assert info.type is ProgType.XDP and len(info.tag) == 16
    assert kernel_has_prog(info.id)
    opened.close()  # spent: a no-op
    assert kernel_has_prog(info.id)
    loaded.close()
    loaded.close()  # idempotent
    assert not kernel_has_prog(info.id)


def test_auto_attach_runs_the_tracepoint(bpf_objects: dict[str, Path]) -> None:
    with libbpf_py.ObjectFile(bpf_objects["lifecycle"]).open() as obj:
        bss = next(m for name, m in obj.maps.items() if name.endswith(".bss"))
        bss.initial_value = os.getpid().to_bytes(4, "little")
        loaded = obj.load()
    with loaded:
        links = loaded.attach()
        assert [link.program.name for link in links if link.program] == ["count_getpid"]
        assert loaded.links == tuple(links)
        hits = loaded.maps["hits"]
        before = hits[0]
        for _ in range(5):
            os.getpid()
        assert hits[0] - before >= 5
        link_id = links[0].info().id
        assert kernel_has_link(link_id)
    assert not kernel_has_link(link_id)
    assert all(link.closed for link in links)


def test_xdp_attach_and_detach(bpf_objects: dict[str, Path], veth: object) -> None:
    from libbpf_py.netns import VethPair

    assert isinstance(veth, VethPair)
    with libbpf_py.ObjectFile(bpf_objects["lifecycle"]).open() as obj, obj.load() as loaded:
        prog = loaded.programs["pass_all"]
        link = prog.attach_xdp(veth.host)
        info = link.info()
        assert info.ifindex == veth.ifindex and info.interface == veth.host
        assert info.program_id == prog.info().id
        assert info.attach_type is AttachType.XDP
        assert veth.send_udp(5) == 5
        assert loaded.maps["hits"][1] >= 5
        link.detach()
        assert link.closed
        assert not kernel_has_link(info.id)
        seen = loaded.maps["hits"][1]
        assert veth.send_udp(3) == 3
        assert loaded.maps["hits"][1] == seen  # detached: no longer runs


@pytest.mark.parametrize("mode", ["skb", "native"])
def test_xdp_modes(bpf_objects: dict[str, Path], veth: object, mode: str) -> None:
    from libbpf_py.attach import xdp_holder
    from libbpf_py.netns import VethPair

    assert isinstance(veth, VethPair)
    with libbpf_py.ObjectFile(bpf_objects["lifecycle"]).open() as obj, obj.load() as loaded:
        prog = loaded.programs["pass_all"]
        with prog.attach_xdp(veth.ifindex, mode=mode) as link:
            prog_id, link_id, held_mode = xdp_holder(veth.ifindex)
            assert prog_id == prog.info().id
            assert link_id == link.info().id
            assert held_mode == mode
            assert veth.send_udp(3) == 3
        assert xdp_holder(veth.ifindex)[0] == 0


def test_xdp_busy_names_the_holder(bpf_objects: dict[str, Path], veth: object) -> None:
    from libbpf_py.netns import VethPair

    assert isinstance(veth, VethPair)
    with libbpf_py.ObjectFile(bpf_objects["lifecycle"]).open() as obj, obj.load() as loaded:
        prog = loaded.programs["pass_all"]
        with prog.attach_xdp(veth.host) as link:
            with pytest.raises(libbpf_py.ResourceBusy) as info:
                prog.attach_xdp(veth.host)
            assert f"program id {prog.info().id}" in str(info.value)
            assert f"link id {link.info().id}" in str(info.value)


def test_closing_the_object_detaches_caller_links(
    bpf_objects: dict[str, Path], veth: object
) -> None:
    from libbpf_py.attach import xdp_holder
    from libbpf_py.netns import VethPair

    assert isinstance(veth, VethPair)
    loaded = libbpf_py.ObjectFile(bpf_objects["lifecycle"]).open().load()
    link = loaded.programs["pass_all"].attach_xdp(veth.host)
    link_id = link.info().id
    loaded.close()
    assert link.closed
    assert not kernel_has_link(link_id)
    assert xdp_holder(veth.ifindex)[0] == 0


def test_exception_in_nested_with_blocks_tears_down(
    bpf_objects: dict[str, Path], veth: object
) -> None:
    from libbpf_py.netns import VethPair

    assert isinstance(veth, VethPair)
    ids: dict[str, int] = {}
    with (
        pytest.raises(RuntimeError, match="boom"),
        libbpf_py.ObjectFile(bpf_objects["lifecycle"]).open() as obj,
        obj.load() as loaded,
        loaded.programs["pass_all"].attach_xdp(veth.host) as link,
    ):
        ids["prog"] = loaded.programs["pass_all"].info().id
        ids["link"] = link.info().id
        raise RuntimeError("boom")
    assert not kernel_has_link(ids["link"])
    assert not kernel_has_prog(ids["prog"])


def test_dropped_link_detaches_with_resource_warning(
    bpf_objects: dict[str, Path], veth: object
) -> None:
    import gc

    from libbpf_py.netns import VethPair

    assert isinstance(veth, VethPair)
    with libbpf_py.ObjectFile(bpf_objects["lifecycle"]).open() as obj, obj.load() as loaded:
        link = loaded.programs["pass_all"].attach_xdp(veth.host)
        link_id = link.info().id
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            del link
            gc.collect()
        assert any(issubclass(w.category, ResourceWarning) for w in caught)
        assert not kernel_has_link(link_id)


def test_disconnected_link_is_released_not_detached_while_pinned(
    bpf_objects: dict[str, Path], veth: object, tmp_path: Path
) -> None:
    from libbpf_py.mounts import ensure_bpffs
    from libbpf_py.netns import VethPair

    assert isinstance(veth, VethPair)
    pin = Path(ensure_bpffs()) / f"lpy-test-{os.getpid()}-link"
    with libbpf_py.ObjectFile(bpf_objects["lifecycle"]).open() as obj, obj.load() as loaded:
        link = loaded.programs["pass_all"].attach_xdp(veth.host)
        link_id = link.info().id
        link.pin(pin)
        link.disconnect()
        link.close()
        assert kernel_has_link(link_id)  # the pin holds it
    try:
        assert kernel_has_link(link_id)
    finally:
        pin.unlink()
    for _ in range(100):
        if not kernel_has_link(link_id):
            break
        import time

        time.sleep(0.01)
    assert not kernel_has_link(link_id)


def test_phase_errors(bpf_objects: dict[str, Path], veth: object) -> None:
    from libbpf_py.netns import VethPair

    assert isinstance(veth, VethPair)
    opened = libbpf_py.ObjectFile(bpf_objects["lifecycle"]).open()
    open_prog = opened.programs["pass_all"]
    open_map = opened.maps["small"]
    loaded = opened.load()
    spent_calls = [
        lambda: opened.programs,
        lambda: opened.maps,
        lambda: opened.load(),
        lambda: open_prog.type,
        lambda: setattr(open_prog, "autoload", False),
        lambda: open_prog.section,
        lambda: setattr(open_prog, "type", "xdp"),
        lambda: open_prog.log_level,
        lambda: open_prog.insn_count,
        lambda: open_map.max_entries,
        lambda: setattr(open_map, "max_entries", 4),
        lambda: setattr(open_map, "value_size", 8),
        lambda: open_map.pin_path,
        lambda: open_map.initial_value,
        lambda: setattr(open_map, "key_size", 4),
    ]
    for call in spent_calls:
        with pytest.raises(PhaseError) as info:
            call()
        assert info.value.phase == "spent" and info.value.needed == "open"
        assert "LoadedObject" in str(info.value)
    prog = loaded.programs["pass_all"]
    small = loaded.maps["small"]
    small[1] = -5
    link = prog.attach_xdp(veth.host)
    loaded.close()
    closed_calls = [
        lambda: loaded.programs,
        lambda: loaded.maps,
        lambda: loaded.attach(),
        lambda: prog.fd,
        lambda: prog.info(),
        lambda: prog.attach_xdp(veth.host),
        lambda: prog.test_run(b"\0" * 64),
        lambda: small[1],
        lambda: small.update(1, 2),
        lambda: small.__setitem__(1, 2),
        lambda: small.__delitem__(1),
        lambda: 1 in small,
        lambda: list(small.items()),
        lambda: small.fd,
        lambda: link.fd,
        lambda: link.pin("/sys/fs/bpf/x"),
        lambda: link.disconnect(),
    ]
    for call in closed_calls:
        with pytest.raises(PhaseError) as info:
            call()
        assert info.value.phase == "closed"
    link.detach()  # already gone with the object: a no-op


def test_load_failure_spends_the_open_object(bpf_objects: dict[str, Path]) -> None:
    opened = libbpf_py.ObjectFile(bpf_objects["bad_access"]).open()
    with pytest.raises(libbpf_py.VerifierError):
        opened.load()
    with pytest.raises(PhaseError, match="failed load"):
        opened.load()
    opened.close()


def test_a_link_keeps_its_object_alive(bpf_objects: dict[str, Path], veth: object) -> None:
    import gc

    from libbpf_py.netns import VethPair

    assert isinstance(veth, VethPair)
    loaded = libbpf_py.ObjectFile(bpf_objects["lifecycle"]).open().load()
    link = loaded.programs["pass_all"].attach_xdp(veth.host)
    prog_id = loaded.programs["pass_all"].info().id
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ResourceWarning)
        del loaded
        gc.collect()
        assert kernel_has_prog(prog_id)  # the link's program holds the object
        assert isinstance(link, Link) and not link.closed
        assert veth.send_udp(2) == 2
        link.detach()
        program = link.program
        assert program is not None
        program._fd.parent.close()
        del program, link
        gc.collect()
    assert not kernel_has_prog(prog_id)
