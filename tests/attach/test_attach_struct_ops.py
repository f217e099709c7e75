"""struct_ops: registering an ops map makes the kernel use its programs; detaching
unregisters it."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

import libbpf_py
from libbpf_py.enums import LinkType
from libbpf_py.struct_ops import attach_struct_ops
from tests.attach.helpers import need
from tests.conftest import requires_root

pytestmark = [requires_root, pytest.mark.usefixtures("no_fd_leak")]


def set_congestion(sock: socket.socket, name: bytes) -> None:
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_CONGESTION, name)


def test_tcp_congestion_ops_register_run_and_unregister(attach_objects: dict[str, Path]) -> None:
    need("attach:struct_ops")
    with (
        libbpf_py.ObjectFile(attach_objects["struct_ops"]).open() as opened,
        opened.load() as obj,
        socket.create_server(("127.0.0.1", 0)) as server,
        socket.create_connection(server.getsockname()) as client,
    ):
        peer, _ = server.accept()
        with peer:
            ops = obj.maps["lpy_cc"]
            link = attach_struct_ops(ops)
            try:
                info = link.info()
                assert info.type is LinkType.STRUCT_OPS and info.map_id == ops.id
                before = obj.maps["hits"][0]
                set_congestion(client, b"lpy_cc")  # the kernel calls our init()
                assert (
                    client.getsockopt(socket.IPPROTO_TCP, socket.TCP_CONGESTION, 16).rstrip(b"\0")
                    == b"lpy_cc"
                )
                assert obj.maps["hits"][0] == before + 1
                set_congestion(client, b"reno")
            finally:
                link.detach()
            with pytest.raises(FileNotFoundError):  # unregistered: the name is gone
                set_congestion(client, b"lpy_cc")


def test_only_struct_ops_maps_register(attach_objects: dict[str, Path]) -> None:
    need("attach:struct_ops")  # the object's ops map is a link one (Linux 6.4+)
    with (
        libbpf_py.ObjectFile(attach_objects["struct_ops"]).open() as opened,
        opened.load() as obj,
        pytest.raises(ValueError, match="not a struct_ops map"),
    ):
        attach_struct_ops(obj.maps["hits"])
