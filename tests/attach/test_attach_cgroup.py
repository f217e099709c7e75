"""cgroup attach kinds: a child process in a fresh cgroup triggers each; then it stops."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

import libbpf_py
from libbpf_py.enums import AttachType, LinkType
from libbpf_py.loaded import LoadedObject
from tests.attach.helpers import in_cgroup, need
from tests.conftest import requires_root

pytestmark = [requires_root, pytest.mark.usefixtures("no_fd_leak")]

_UDP = "import socket\ns = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\n"

# program -> (slot, attach type, what the child does in the cgroup)
CASES = {
    "cg_egress": (
        0,
        AttachType.CGROUP_INET_EGRESS,
        _UDP + "for _ in range(3): s.sendto(b'x', ('127.0.0.1', 9))",
    ),
    "cg_ingress": (
        1,
        AttachType.CGROUP_INET_INGRESS,
        _UDP + "s.bind(('127.0.0.1', 0))\nfor _ in range(3): "
        "s.sendto(b'x', s.getsockname()); s.recv(8)",
    ),
    "cg_sock_create": (
        2,
        AttachType.CGROUP_INET_SOCK_CREATE,
        "import socket\n[socket.socket() for _ in range(3)]",
    ),
    "cg_connect4": (
        3,
        AttachType.CGROUP_INET4_CONNECT,
        _UDP + "for _ in range(3): s.connect(('127.0.0.1', 9))",
    ),
    "cg_sendmsg4": (
        4,
        AttachType.CGROUP_UDP4_SENDMSG,
        _UDP + "for _ in range(3): s.sendto(b'x', ('127.0.0.1', 9))",
    ),
    "cg_sockops": (
        5,
        AttachType.CGROUP_SOCK_OPS,
        "import socket\n"
        "srv = socket.create_server(('127.0.0.1', 0))\n"
        "c = socket.create_connection(srv.getsockname())\nsrv.accept()",
    ),
    "cg_getsockopt": (
        6,
        AttachType.CGROUP_GETSOCKOPT,
        _UDP + "for _ in range(3): s.getsockopt(socket.SOL_SOCKET, socket.SO_TYPE)",
    ),
    "cg_setsockopt": (
        7,
        AttachType.CGROUP_SETSOCKOPT,
        _UDP + "for _ in range(3): s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)",
    ),
    "cg_dev": (8, AttachType.CGROUP_DEVICE, "for _ in range(3): open('/dev/null').close()"),
    "cg_sysctl": (
        9,
        AttachType.CGROUP_SYSCTL,
        "for _ in range(3): open('/proc/sys/kernel/ostype').read()",
    ),
}


@pytest.fixture
def obj(attach_objects: dict[str, Path]) -> Iterator[LoadedObject]:
    with libbpf_py.ObjectFile(attach_objects["cgroup"]).open() as opened, opened.load() as loaded:
        yield loaded


@pytest.mark.parametrize("program", sorted(CASES))
def test_cgroup_program_runs_then_stops(obj: LoadedObject, cgroup: Path, program: str) -> None:
    need("attach:cgroup")
    slot, attach_type, action = CASES[program]
    hits = obj.maps["hits"]
    link = obj.programs[program].attach_cgroup(cgroup)
    try:
        info = link.info()
        assert info.type is LinkType.CGROUP and info.attach_type is attach_type
        assert info.cgroup_id == cgroup.stat().st_ino
        before = hits[slot]
        in_cgroup(cgroup, action)
        assert hits[slot] - before >= 1
    finally:
        link.detach()
    before = hits[slot]
    in_cgroup(cgroup, action)
    assert hits[slot] == before


def test_cgroup_program_sees_only_its_cgroup(obj: LoadedObject, cgroup: Path) -> None:
    hits = obj.maps["hits"]
    with obj.programs["cg_sock_create"].attach_cgroup(cgroup) as link:
        before = hits[2]
        with socket.socket():  # this process is not in the cgroup
            pass
        assert hits[2] == before
        link.detach()
