"""struct_ops: registering an ops map makes the kernel use its programs; detaching
unregisters it; a registration can swap its map; LoadedObject.attach() registers the
maps whose autoattach is on; Python sets the ops struct's data members before load."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

import libbpf_py
from libbpf_py import features
from libbpf_py.enums import LinkType
from libbpf_py.errors import BpfError, LayoutError, NameNotFound, NotSupported, PhaseError
from libbpf_py.struct_ops import attach_struct_ops
from tests.attach.helpers import need
from tests.conftest import requires_root

pytestmark = [requires_root, pytest.mark.usefixtures("no_fd_leak")]

# tcp_congestion_ops flag: any user may pick the control, so the kernel lists it in
# net.ipv4.tcp_allowed_congestion_control (include/net/tcp.h).
TCP_CONG_NON_RESTRICTED = 0x1
ALLOWED = Path("/proc/sys/net/ipv4/tcp_allowed_congestion_control")


# The ops maps of struct_ops and struct_ops_swap are link maps (SEC(".struct_ops.link")),
# Linux 6.4+; struct_ops_legacy's registers on every kernel with struct_ops.
LINKS = "attach:struct_ops_link"


def set_congestion(sock: socket.socket, name: bytes) -> None:
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_CONGESTION, name)


def congestion(sock: socket.socket) -> bytes:
    return sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_CONGESTION, 16).rstrip(b"\0")


@contextmanager
def connection() -> Iterator[socket.socket]:
    """A connected TCP socket on loopback (a congestion control's init() runs when a
    connected socket picks it)."""
    with (
        socket.create_server(("127.0.0.1", 0)) as server,
        socket.create_connection(server.getsockname()) as client,
    ):
        peer, _ = server.accept()
        with peer:
            try:
                yield client
            finally:
                set_congestion(client, b"reno")  # let go of ours before it goes away


def picks(name: bytes) -> None:
    """Make one connected socket pick congestion control ``name``."""
    with connection() as client:
        set_congestion(client, name)
        assert congestion(client) == name


def test_tcp_congestion_ops_register_run_and_unregister(attach_objects: dict[str, Path]) -> None:
    need(LINKS)
    with (
        libbpf_py.ObjectFile(attach_objects["struct_ops"]).open() as opened,
        opened.load() as obj,
        connection() as client,
    ):
        ops = obj.maps["lpy_cc"]
        link = attach_struct_ops(ops)
        try:
            info = link.info()
            assert info.type is LinkType.STRUCT_OPS and info.map_id == ops.id
            before = obj.maps["hits"][0]
            set_congestion(client, b"lpy_cc")  # the kernel calls our init()
            assert congestion(client) == b"lpy_cc"
            assert obj.maps["hits"][0] == before + 1
            set_congestion(client, b"reno")
        finally:
            link.detach()
        with pytest.raises(FileNotFoundError):  # unregistered: the name is gone
            set_congestion(client, b"lpy_cc")


def test_update_map_swaps_the_implementation(attach_objects: dict[str, Path]) -> None:
    need(LINKS)
    with (
        libbpf_py.ObjectFile(attach_objects["struct_ops_swap"]).open() as opened,
        opened.load() as obj,
    ):
        a, b, hits = obj.maps["lpy_swap_a"], obj.maps["lpy_swap_b"], obj.maps["hits"]
        link = a.attach_struct_ops()
        try:
            assert link.info().map_id == a.id
            picks(b"lpy_swap")
            assert (hits[0], hits[1]) == (1, 0)  # a's init() ran
            link.update_map(b)
            assert link.info().map_id == b.id
            picks(b"lpy_swap")
            assert (hits[0], hits[1]) == (1, 1)  # now b's
            # Another type, or an ops map the subsystem refuses (TCP wants the same name).
            with pytest.raises(NotSupported, match="not a struct_ops map"):
                link.update_map(hits)
            with pytest.raises(BpfError, match="keep its name"):
                link.update_map(obj.maps["lpy_shadow"])
            assert link.info().map_id == b.id
            # A handle opened by id holds no libbpf registration to swap.
            with libbpf_py.Link.from_id(link.id) as other:
                with pytest.raises(NotSupported, match="registers no struct_ops map"):
                    other.update_map(a)
                other.disconnect()
        finally:
            link.detach()
        with connection() as client, pytest.raises(FileNotFoundError):
            set_congestion(client, b"lpy_swap")
        with pytest.raises(PhaseError):
            link.update_map(a)


def test_attach_registers_the_autoattach_struct_ops_maps(
    attach_objects: dict[str, Path],
) -> None:
    need(LINKS)
    with libbpf_py.ObjectFile(attach_objects["struct_ops_swap"]).open() as opened:
        assert opened.maps["lpy_swap_a"].autoattach and opened.maps["lpy_swap_b"].autoattach
        opened.maps["lpy_swap_b"].autoattach = False  # same name as a: one of them only
        opened.maps["lpy_shadow"].autoattach = False
        assert not opened.maps["lpy_swap_b"].autoattach
        assert not opened.maps["hits"].autoattach  # only struct_ops maps auto-attach
        with pytest.raises(NotSupported, match="only struct_ops maps"):
            opened.maps["hits"].autoattach = True
        with opened.load() as obj:
            links = obj.attach()
            ops = [link.info() for link in links if link.info().type is LinkType.STRUCT_OPS]
            assert [i.map_id for i in ops] == [obj.maps["lpy_swap_a"].id]
            assert obj.links == tuple(links)
            picks(b"lpy_swap")
            assert (obj.maps["hits"][0], obj.maps["hits"][1]) == (1, 0)
            with connection() as client, pytest.raises(FileNotFoundError):
                set_congestion(client, b"lpy_shadow")  # opted out: not registered
        # Closing the object unregisters what attach() registered.
        with connection() as client, pytest.raises(FileNotFoundError):
            set_congestion(client, b"lpy_swap")


def test_attach_skips_struct_ops_maps_without_autoattach(
    attach_objects: dict[str, Path],
) -> None:
    need(LINKS)
    with libbpf_py.ObjectFile(attach_objects["struct_ops_swap"]).open() as opened:
        for name in ("lpy_swap_a", "lpy_swap_b", "lpy_shadow"):
            opened.maps[name].autoattach = False
        with opened.load() as obj:
            links = obj.attach()
            assert all(link.info().type is not LinkType.STRUCT_OPS for link in links)
            with connection() as client, pytest.raises(FileNotFoundError):
                set_congestion(client, b"lpy_swap")


def test_shadow_sets_data_members_before_load(attach_objects: dict[str, Path]) -> None:
    need(LINKS)
    with libbpf_py.ObjectFile(attach_objects["struct_ops_swap"]).open() as opened:
        shadow = opened.maps["lpy_shadow"].struct_ops
        assert shadow.type_name == "struct tcp_congestion_ops"
        assert shadow.name == b"lpy_shadow" and shadow.flags == 0
        assert shadow.init is opened.programs["shadow_init"]
        assert shadow.release is None  # an empty slot
        shadow.name = b"lpy_renamed"
        shadow.flags = TCP_CONG_NON_RESTRICTED
        assert shadow.as_dict()["name"] == b"lpy_renamed" and shadow["flags"] == 1
        with pytest.raises(LayoutError):
            shadow.name = b"x" * 17  # char name[16]
        with pytest.raises(AttributeError, match="no member 'nme'"):
            shadow.nme = b"x"
        with opened.load() as obj:
            ops = obj.maps["lpy_shadow"]
            with ops.attach_struct_ops() as link:
                assert link.info().map_id == ops.id
                # libbpf gave the kernel its value at registration, from the shadow: the
                # kernel's copy (struct bpf_struct_ops_tcp_congestion_ops) has our name.
                assert b"lpy_renamed\0" in ops[0]
                # flags reached the kernel: a non-restricted control is allowed to all.
                assert "lpy_renamed" in ALLOWED.read_text().split()
                picks(b"lpy_renamed")
                assert obj.maps["hits"][2] == 1
                with connection() as client, pytest.raises(FileNotFoundError):
                    set_congestion(client, b"lpy_shadow")
            assert "lpy_renamed" not in ALLOWED.read_text().split()
        with pytest.raises(PhaseError, match="needs the open phase"):
            shadow.name = b"late"
        with pytest.raises(PhaseError):
            _ = shadow.flags


def test_shadow_swaps_a_program_slot(attach_objects: dict[str, Path]) -> None:
    need(LINKS)
    with libbpf_py.ObjectFile(attach_objects["struct_ops_swap"]).open() as opened:
        shadow = opened.maps["lpy_swap_b"].struct_ops
        shadow.init = opened.programs["swap_a_init"]  # b now runs a's init()
        assert shadow.init is opened.programs["swap_a_init"]
        with pytest.raises(TypeError, match="function slot"):
            shadow.init = 1
        with opened.load() as obj:
            # libbpf loads no program that no slot uses any more.
            assert not obj.programs["swap_b_init"].loaded
            with obj.maps["lpy_swap_b"].attach_struct_ops():
                picks(b"lpy_swap")
            assert (obj.maps["hits"][0], obj.maps["hits"][1]) == (1, 0)


def test_only_struct_ops_maps_register(attach_objects: dict[str, Path]) -> None:
    need(LINKS)
    with libbpf_py.ObjectFile(attach_objects["struct_ops"]).open() as opened:
        with pytest.raises(NotSupported, match="only struct_ops maps"):
            _ = opened.maps["hits"].struct_ops
        with opened.load() as obj:
            with pytest.raises(NotSupported, match="not a struct_ops map"):
                attach_struct_ops(obj.maps["hits"])
            ops = obj.maps["lpy_cc"]
    with pytest.raises(PhaseError):  # the object is closed
        ops.attach_struct_ops()
    with pytest.raises(PhaseError):  # the open map is spent by load()
        _ = opened.maps["lpy_cc"].struct_ops


def test_legacy_struct_ops_register_without_a_link(attach_objects: dict[str, Path]) -> None:
    need("attach:struct_ops")
    with (
        libbpf_py.ObjectFile(attach_objects["struct_ops_legacy"]).open() as opened,
        opened.load() as obj,
    ):
        ops = obj.maps["lpy_legacy"]
        registration = ops.attach_struct_ops()
        try:
            assert not registration.is_bpf_link and registration.fd == -1
            picks(b"lpy_legacy")
            assert obj.maps["hits"][0] == 1
            with pytest.raises(NotSupported, match="without a BPF link"):
                registration.update_map(ops)
            with pytest.raises(NotSupported, match="not a BPF link"):
                registration.info()
        finally:
            registration.detach()
        with connection() as client, pytest.raises(FileNotFoundError):
            set_congestion(client, b"lpy_legacy")  # unregistered


def test_legacy_struct_ops_attach_and_close(attach_objects: dict[str, Path]) -> None:
    need("attach:struct_ops")
    with (
        libbpf_py.ObjectFile(attach_objects["struct_ops_legacy"]).open() as opened,
        opened.load() as obj,
    ):
        (registration,) = [link for link in obj.attach() if not link.is_bpf_link]
        assert obj.links == (registration,)
        picks(b"lpy_legacy")
        assert obj.maps["hits"][0] == 1
    # The kernel keeps a registration without a link after every fd closes: closing the
    # object unregistered it.
    assert registration.closed
    with connection() as client, pytest.raises(FileNotFoundError):
        set_congestion(client, b"lpy_legacy")


def test_the_link_probe_agrees_with_the_kernel(attach_objects: dict[str, Path]) -> None:
    need("attach:struct_ops")
    reason = features.check(LINKS)
    with libbpf_py.ObjectFile(attach_objects["struct_ops"]).open() as opened:
        if reason is None:
            opened.load().close()
        else:  # the kernel refuses to create a BPF_F_LINK struct_ops map
            with pytest.raises(BpfError):
                opened.load()


def test_an_unknown_shadow_member_names_the_members(attach_objects: dict[str, Path]) -> None:
    need(LINKS)
    with libbpf_py.ObjectFile(attach_objects["struct_ops_swap"]).open() as opened:
        shadow = opened.maps["lpy_shadow"].struct_ops
        members = list(shadow)
        assert "name" in members and "init" in members
        with pytest.raises(NameNotFound) as info:
            shadow["nme"]
        error = info.value
        assert isinstance(error, KeyError) and error.names == tuple(members)
        assert str(error) == (
            "no member 'nme' in struct_ops map 'lpy_shadow' (struct tcp_congestion_ops) "
            f"(did you mean 'name'?); it has: {', '.join(members)}"
        )
        with pytest.raises(NameNotFound, match="no member 'nme'"):
            shadow["nme"] = b"x"
        with pytest.raises(AttributeError) as attr:
            shadow.nme  # noqa: B018
        assert str(attr.value) == str(error)
        shadow["name"] = b"lpy_by_item"  # a known member by item still works
        assert shadow.name == b"lpy_by_item"
