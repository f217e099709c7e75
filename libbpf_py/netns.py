"""Test networks: a network namespace joined to this one by a veth pair.

The demo, the tests and the pytest plugin send real packets through these pairs. Every
name starts with ``lpy`` and carries the creating process id, so a later run can sweep
what a killed run left behind (:func:`sweep_stale`). Addresses come from 198.18.0.0/15,
the range set aside for network benchmarks, and traffic never leaves the pair.
"""

from __future__ import annotations

import itertools
import os
import re
import socket
import subprocess
import sys
import time
from types import TracebackType
from typing import Self

from libbpf_py.errors import BpfError, PermissionDenied

__all__ = ["VethPair", "sweep_stale"]

PREFIX = "lpy"
_counter = itertools.count()
_NS_NAME = re.compile(rf"^{PREFIX}-(\d+)-\d+$")
_DEV_NAME = re.compile(rf"^{PREFIX}h(\d+)x\d+$")

_SENDER = """
import socket, sys, time
src, dst, port, count = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
payload = sys.argv[5].encode()
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind((src, 0))
for i in range(count):
    s.sendto(payload + b" %d" % i, (dst, port))
    time.sleep(0.002)
"""


def _ip(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    try:
        proc = subprocess.run(["ip", *args], capture_output=True, text=True)
    except FileNotFoundError:
        raise BpfError("the 'ip' command (iproute2) is missing: apt-get install iproute2") \
            from None
    if check and proc.returncode != 0:
        text = proc.stderr.strip()
        if "Operation not permitted" in text:
            raise PermissionDenied(f"ip {' '.join(args)}: {text}; creating namespaces and veth "
                                   "pairs needs CAP_NET_ADMIN and CAP_SYS_ADMIN: run as root")
        raise BpfError(f"ip {' '.join(args)} failed: {text}")
    return proc


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def sweep_stale() -> list[str]:
    """Remove namespaces and veths named by libbpf_py for processes that no longer exist."""
    removed: list[str] = []
    for line in _ip("-o", "link", "show", check=False).stdout.splitlines():
        parts = line.split(": ")
        if len(parts) < 2:
            continue
        name = parts[1].split("@")[0]
        match = _DEV_NAME.match(name)
        if match and not _pid_alive(int(match.group(1))):
            _ip("link", "del", name, check=False)
            removed.append(name)
    for line in _ip("netns", "list", check=False).stdout.splitlines():
        name = line.split()[0] if line.split() else ""
        match = _NS_NAME.match(name)
        if match and not _pid_alive(int(match.group(1))):
            _ip("netns", "del", name, check=False)
            removed.append(name)
    return removed


class VethPair:
    """A veth pair: ``host`` in this namespace, ``peer`` in a new namespace ``netns``.

    ``host_addr`` and ``peer_addr`` are the two ends' IPv4 addresses. Use it as a context
    manager (or call :meth:`close`): the namespace and both interfaces are removed, also
    when the block raises.
    """

    def __init__(self) -> None:
        pid = os.getpid()
        n = next(_counter)
        self.netns = f"{PREFIX}-{pid}-{n}"
        self.host = f"{PREFIX}h{pid}x{n}"[:15]
        self.peer = f"{PREFIX}p{pid}x{n}"[:15]
        subnet = (pid * 7 + n) % 256
        self.host_addr = f"198.18.{subnet}.1"
        self.peer_addr = f"198.18.{subnet}.2"
        self._created = False
        try:
            _ip("netns", "add", self.netns)
            self._created = True
            _ip("link", "add", self.host, "type", "veth", "peer", "name", self.peer,
                "netns", self.netns)
            _ip("addr", "add", f"{self.host_addr}/30", "dev", self.host)
            _ip("link", "set", self.host, "up")
            _ip("-n", self.netns, "addr", "add", f"{self.peer_addr}/30", "dev", self.peer)
            _ip("-n", self.netns, "link", "set", self.peer, "up")
            _ip("-n", self.netns, "link", "set", "lo", "up")
        except BaseException:
            self.close()
            raise

    def __repr__(self) -> str:
        return f"<VethPair {self.host} <-> {self.netns}/{self.peer}>"

    @property
    def ifindex(self) -> int:
        """The host end's interface index."""
        return socket.if_nametoindex(self.host)

    def run_in_netns(self, *argv: str, timeout: float = 30) -> subprocess.CompletedProcess[str]:
        """Run a command inside the namespace (``ip netns exec``)."""
        return subprocess.run(["ip", "netns", "exec", self.netns, *argv], capture_output=True,
                              text=True, timeout=timeout)

    def send_udp(self, count: int, *, port: int = 9, payload: bytes = b"libbpf_py",
                 receive_timeout: float = 1.0) -> int:
        """Send ``count`` UDP datagrams from the namespace to the host end.

        Returns how many arrived at a socket bound to the host address.
        """
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as rx:
            rx.bind((self.host_addr, port))
            proc = self.run_in_netns(sys.executable, "-c", _SENDER, self.peer_addr,
                                     self.host_addr, str(port), str(count),
                                     payload.decode("ascii", "replace"))
            if proc.returncode != 0:
                raise BpfError(f"sending from {self.netns} failed: {proc.stderr.strip()}")
            received = 0
            deadline = time.monotonic() + receive_timeout
            rx.settimeout(0.05)
            while received < count and time.monotonic() < deadline:
                try:
                    rx.recv(2048)
                    received += 1
                except TimeoutError:
                    continue
            return received

    def close(self) -> None:
        """Remove both interfaces and the namespace. Idempotent."""
        if not self._created:
            return
        self._created = False
        _ip("link", "del", self.host, check=False)
        _ip("netns", "del", self.netns, check=False)

    def __enter__(self) -> Self:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    def __del__(self) -> None:
        self.close()
