"""The child of tests/test_token.py: BPF in a user namespace, through a BPF token.

Run as ``python token_child.py SOCKET_FD OBJECT MOUNT_DIR PLAIN_DIR``. It enters a new
user namespace, asks its parent (privileged, in the initial namespace) over the socket
to write its uid map, makes its own mount and network namespaces, opens a bpffs context
and hands it to the parent, which sets the ``delegate_*`` options and mounts it. The
child then places that mount at MOUNT_DIR and a bpffs without delegation at PLAIN_DIR
(inside its own mount namespace, so they go away with the child), tries every step
without a token and with one, and prints what happened as one JSON object on stdout.

The syscall helpers here are used by the parent too.
"""

from __future__ import annotations

import ctypes
import json
import os
import socket
import subprocess
import sys
import traceback
from collections.abc import Callable
from typing import Any

# x86-64 numbers of the new mount API's calls (no libc wrapper in Python's os).
_SYS_MOVE_MOUNT = 429
_SYS_FSOPEN = 430
_SYS_FSCONFIG = 431
_SYS_FSMOUNT = 432
FSCONFIG_SET_STRING = 1
FSCONFIG_CMD_CREATE = 6
_MOVE_MOUNT_F_EMPTY_PATH = 0x4
_AT_FDCWD = -100
CLONE_NEWNS = 0x00020000
CLONE_NEWUSER = 0x10000000
CLONE_NEWNET = 0x40000000
_MS_REC = 0x4000
_MS_PRIVATE = 1 << 18
DELEGATIONS = ("delegate_cmds", "delegate_maps", "delegate_progs", "delegate_attachs")

_libc = ctypes.CDLL(None, use_errno=True)
_libc.syscall.restype = ctypes.c_long


def _checked(ret: int, what: str) -> int:
    if ret < 0:
        err = ctypes.get_errno()
        raise OSError(err, f"{what}: {os.strerror(err)}")
    return ret


def unshare(flags: int) -> None:
    """unshare(2)."""
    _checked(_libc.unshare(flags), "unshare")


def fsopen(fstype: str) -> int:
    """fsopen(2): a file system context of ``fstype``."""
    return _checked(_libc.syscall(_SYS_FSOPEN, fstype.encode(), 0), f"fsopen({fstype})")


def fsconfig(fs_fd: int, cmd: int, key: str | None = None, value: str | None = None) -> None:
    """fsconfig(2) with a string value (or none)."""
    ret = _libc.syscall(
        _SYS_FSCONFIG,
        fs_fd,
        cmd,
        key.encode() if key else None,
        value.encode() if value else None,
        0,
    )
    _checked(ret, f"fsconfig({key})")


def fsmount(fs_fd: int) -> int:
    """fsmount(2): the file system as a detached mount, an O_PATH fd."""
    return _checked(_libc.syscall(_SYS_FSMOUNT, fs_fd, 0, 0), "fsmount")


def move_mount(mnt_fd: int, where: str) -> None:
    """move_mount(2) of a detached mount onto the directory ``where``."""
    ret = _libc.syscall(
        _SYS_MOVE_MOUNT, mnt_fd, b"", _AT_FDCWD, where.encode(), _MOVE_MOUNT_F_EMPTY_PATH
    )
    _checked(ret, f"move_mount to {where}")


def delegate(fs_fd: int, *, delegations: bool = True) -> int:
    """Delegate everything on a bpffs context (or nothing), create it and mount it;
    the mount fd.

    Only a process privileged in the initial namespace may set these options.
    """
    for key in DELEGATIONS if delegations else ():
        fsconfig(fs_fd, FSCONFIG_SET_STRING, key, "any")
    fsconfig(fs_fd, FSCONFIG_CMD_CREATE)
    return fsmount(fs_fd)


def _outcome(call: Callable[[], Any]) -> str:
    """``"ok"`` or the name of the exception ``call`` raised, with its message."""
    try:
        call()
    except Exception as exc:  # the parent asserts on the name
        return f"{type(exc).__name__}: {exc}"
    return "ok"


def _udp_over_lo(count: int) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        for _ in range(count):
            s.sendto(b"token", ("127.0.0.1", 9))


def _work(obj_path: str, mount_dir: str, plain_dir: str, out: dict[str, Any]) -> None:
    import libbpf_py
    from libbpf_py import features
    from libbpf_py.token import Token, use_token

    with open("/proc/self/uid_map") as f:
        out["uid_map"] = f.read().split()
    packet = b"\xff" * 12 + b"\x08\x00" + b"\0" * 50

    # Without a token, every step is refused.
    out["probe_without"] = features.check("prog_type:xdp")
    out["load_without"] = _outcome(lambda: libbpf_py.ObjectFile(obj_path).open().load().close())
    out["load_without_empty_path"] = _outcome(
        lambda: libbpf_py.ObjectFile(obj_path).open(token_path="").load().close()
    )
    out["map_without"] = _outcome(lambda: libbpf_py.Map.create("hash", 4, 8, 4).close())

    # A bpffs of this namespace that delegates nothing gives no token.
    out["plain_bpffs"] = _outcome(lambda: Token.create(plain_dir).close())

    with Token.create(mount_dir) as token:
        out["token"] = repr(token)
        with use_token(token):
            out["probes_with"] = {
                name: features.check(name)
                for name in (
                    "prog_type:xdp",
                    "prog_type:sched_cls",
                    "map_type:hash",
                    "map_type:ringbuf",
                    "helper:xdp:bpf_map_lookup_elem",
                    "attach:tcx",
                    "attach:socket_filter",
                )
            }
            # A helper the program type may not call is told apart from one it may.
            out["helper_refused"] = features.check("helper:socket_filter:bpf_redirect")
        # The cache keeps the answers apart: without the token the probe still fails.
        out["probe_after"] = features.check("prog_type:xdp")

        with libbpf_py.Map.create(
            "hash", 4, 8, 4, token=token, key_type="u32", value_type="u64"
        ) as m:
            m[7] = 42
            out["map_with"] = m[7]

        with libbpf_py.ObjectFile(obj_path).open(token_path=mount_dir).load() as obj:
            xdp = obj.programs["count_xdp"]
            tc = obj.programs["count_tc"]
            out["test_run"] = xdp.test_run(packet).retval
            out["tcx_without_token"] = _outcome(lambda: tc.attach_tcx("lo").detach())
            subprocess.run(["ip", "link", "set", "lo", "up"], check=True)
            with use_token(token), xdp.attach_xdp("lo", mode="skb"), tc.attach_tcx("lo"):
                _udp_over_lo(3)
            hits = obj.maps["hits"]
            out["hits"] = {"xdp": int(hits[0]), "tc": int(hits[1])}
    out["closed_token"] = _outcome(lambda: use_token(token).__enter__())
    # disown() hands the fd over: the handle is closed, the fd is the caller's.
    second = Token.create(mount_dir)
    number = second.disown()
    out["disowned"] = {
        "closed": second.closed,
        "fd_is_token": os.path.exists(f"/proc/self/fd/{number}"),
    }
    os.close(number)


def main() -> None:
    """Enter the namespaces with the parent's help, then run :func:`_work`."""
    sock_fd, obj_path, mount_dir, plain_dir = sys.argv[1:5]
    sock = socket.socket(fileno=int(sock_fd))
    out: dict[str, Any] = {}
    try:
        unshare(CLONE_NEWUSER)
    except OSError as exc:
        # User namespaces are off here (a sysctl, a container): the parent skips.
        print(json.dumps({"no_userns": f"cannot make a user namespace: {exc}"}))
        return
    try:
        sock.sendall(b"U")  # the parent writes the uid and gid maps now
        if sock.recv(1) != b"M":
            raise RuntimeError("the parent did not map the user namespace")
        unshare(CLONE_NEWNS | CLONE_NEWNET)
        # Mounts made here must not propagate to the parent's namespace.
        _checked(_libc.mount(None, b"/", None, _MS_REC | _MS_PRIVATE, None), "mount")
        # Two bpffs contexts of this namespace: the parent delegates everything on the
        # first and nothing on the second.
        fs_fds = [fsopen("bpf"), fsopen("bpf")]
        try:
            out["delegate_in_userns"] = _outcome(
                lambda: fsconfig(fs_fds[0], FSCONFIG_SET_STRING, "delegate_cmds", "any")
            )
            socket.send_fds(sock, [b"F"], fs_fds)
        finally:
            for fd in fs_fds:
                os.close(fd)
        _, fds, _, _ = socket.recv_fds(sock, 1, 2)
        if len(fds) != 2:
            raise RuntimeError("the parent sent no mounts")
        try:
            move_mount(fds[0], mount_dir)
            move_mount(fds[1], plain_dir)
        finally:
            for fd in fds:
                os.close(fd)
        _work(obj_path, mount_dir, plain_dir, out)
    except Exception:
        out["error"] = traceback.format_exc()
    print(json.dumps(out))


if __name__ == "__main__":
    main()
