"""BPF tokens (Linux 6.9+): delegated BPF in a user namespace, end to end.

The end-to-end test runs tests/token_child.py in a user namespace of its own: this
process (root in the initial namespace) sets the bpffs delegation the child cannot set
itself, and the child opens, loads, attaches, runs and reads maps through a token, and
shows the same calls refused without it.
"""

from __future__ import annotations

import importlib.util
import json
import os
import platform
import socket
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import libbpf_py
from libbpf_py import features
from libbpf_py.errors import NotFound, NotOnBpffs, NotSupported
from tests.conftest import requires_root

HERE = Path(__file__).resolve().parent
CHILD = HERE / "token_child.py"

SOURCE = r"""
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __uint(max_entries, 2);
    __type(key, __u32);
    __type(value, __u64);
} hits SEC(".maps");

static void count(__u32 key)
{
    __u64 *value = bpf_map_lookup_elem(&hits, &key);

    if (value)
        __sync_fetch_and_add(value, 1);
}

SEC("xdp")
int count_xdp(struct xdp_md *ctx)
{
    count(0);
    return XDP_PASS;
}

SEC("tc")
int count_tc(struct __sk_buff *skb)
{
    count(1);
    return 0; /* TCX_NEXT */
}

char LICENSE[] SEC("license") = "GPL";
"""


def _child_helpers() -> Any:
    spec = importlib.util.spec_from_file_location("token_child", CHILD)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _skip_without_tokens() -> None:
    reason = features.check("command:token_create")
    if reason:
        pytest.skip(reason)


def _own_mounts() -> list[str]:
    with open("/proc/self/mountinfo") as f:
        return sorted(f.readlines())


def _run_child(obj: Path, tmp_path: Path) -> dict[str, Any]:
    helpers = _child_helpers()
    mount_dir, plain_dir = tmp_path / "delegated", tmp_path / "plain"
    mount_dir.mkdir()
    plain_dir.mkdir()
    ours, theirs = socket.socketpair()
    child = subprocess.Popen(
        [
            sys.executable,
            str(CHILD),
            str(theirs.fileno()),
            str(obj),
            str(mount_dir),
            str(plain_dir),
        ],
        pass_fds=[theirs.fileno()],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    theirs.close()
    try:
        with ours:
            ours.settimeout(60)  # a hang guard, not a timed assertion
            if ours.recv(1) == b"U":
                # The child's uid and gid 0 are root's: it is root in its namespace, and
                # holds no capability of the initial one.
                Path(f"/proc/{child.pid}/setgroups").write_text("deny")
                Path(f"/proc/{child.pid}/uid_map").write_text("0 0 1")
                Path(f"/proc/{child.pid}/gid_map").write_text("0 0 1")
                ours.sendall(b"M")
                _, fds, _, _ = socket.recv_fds(ours, 1, 2)
                mnt_fds = []
                try:
                    mnt_fds.append(helpers.delegate(fds[0]))
                    mnt_fds.append(helpers.delegate(fds[1], delegations=False))
                    socket.send_fds(ours, [b"T"], mnt_fds)
                finally:
                    for fd in fds + mnt_fds:
                        os.close(fd)
        stdout, stderr = child.communicate(timeout=120)
    finally:
        if child.poll() is None:
            child.kill()
            child.communicate()
    assert child.returncode == 0, stderr
    result: dict[str, Any] = json.loads(stdout)
    if "no_userns" in result:
        pytest.skip(result["no_userns"])
    assert "error" not in result, result["error"] + stderr
    return result


@requires_root
def test_token_end_to_end(
    bpf_compile: Callable[..., Path], tmp_path: Path, no_fd_leak: None
) -> None:
    """Inside a user namespace: refused without a token, everything works with one."""
    _skip_without_tokens()
    if platform.machine() != "x86_64":
        pytest.skip("tests/token_child.py calls the mount API by its x86-64 syscall numbers")
    obj = bpf_compile(SOURCE)
    mounts = _own_mounts()
    pins = sorted(os.listdir("/sys/fs/bpf"))
    result = _run_child(obj, tmp_path)

    # The child is root of its own namespace, not of the initial one, and may not set
    # the delegation itself.
    assert result["uid_map"] == ["0", "0", "1"]
    assert result["delegate_in_userns"].startswith("PermissionError")

    # Without a token: refused with the library's PermissionDenied, pointing at tokens.
    assert "user namespace" in result["probe_without"]
    for step in ("load_without", "load_without_empty_path", "map_without"):
        assert result[step].startswith("PermissionDenied"), (step, result[step])
        assert "BPF token" in result[step]
    assert result["plain_bpffs"].startswith("PermissionDenied")
    assert "delegates nothing" in result["plain_bpffs"]

    # With it: the probes, the map, the load, the run, the attach and the map reads.
    assert result["probes_with"] == dict.fromkeys(result["probes_with"])
    assert "does not allow helper bpf_redirect" in result["helper_refused"]
    assert "user namespace" in result["probe_after"]
    assert result["map_with"] == 42
    assert result["test_run"] == 2  # XDP_PASS
    assert result["tcx_without_token"].startswith("PermissionDenied")
    assert result["hits"]["xdp"] >= 4  # the test run and the three datagrams
    assert result["hits"]["tc"] >= 3
    assert result["closed_token"].startswith("PhaseError")
    assert result["disowned"] == {"closed": True, "fd_is_token": True}

    # Nothing left behind here: the mounts lived in the child's namespaces.
    assert _own_mounts() == mounts
    assert sorted(os.listdir("/sys/fs/bpf")) == pins


def test_token_create_bad_path(tmp_path: Path) -> None:
    """A missing path, a file and a directory that is no bpffs give library errors."""
    from libbpf_py.token import Token

    with pytest.raises(NotFound, match="no such directory"):
        Token.create(tmp_path / "missing")
    (tmp_path / "file").write_text("")
    with pytest.raises(NotOnBpffs, match="not a directory"):
        Token.create(tmp_path / "file")
    _skip_without_tokens()
    with pytest.raises(NotOnBpffs, match="not the root of a bpffs"):
        Token.create(tmp_path)


@requires_root
def test_token_in_initial_namespace() -> None:
    """The initial user namespace makes no tokens: its capabilities are enough."""
    _skip_without_tokens()
    from libbpf_py.mounts import ensure_bpffs
    from libbpf_py.token import Token

    with pytest.raises(NotSupported, match="initial user namespace"):
        Token.create(ensure_bpffs())


def test_use_token_none() -> None:
    """use_token(None) probes without a token, and the previous setting comes back."""
    from libbpf_py.token import active_token, use_token

    with use_token(None) as none:
        assert none is None and active_token() is None
    assert active_token() is None


@requires_root
def test_token_fields_stay_zero_without_token(bpf_compile: Callable[..., Path]) -> None:
    """Without a token nothing token-related reaches the kernel (kernels before 6.9
    refuse BPF_F_TOKEN_FD): maps and objects work as before, on every kernel."""
    with libbpf_py.Map.create("array", 4, 4, 1, key_type="u32", value_type="u32") as m:
        m[0] = 5
        assert m[0] == 5
        assert m.info().flags == 0
    with libbpf_py.ObjectFile(bpf_compile(SOURCE)).open().load() as obj:
        assert obj.programs["count_xdp"].test_run(b"\0" * 64).retval == 2
