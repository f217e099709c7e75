"""Test networks: network namespaces joined by veth (or netkit) pairs.

The demo, the tests and the pytest plugin send real packets through these pairs. Every
name starts with ``lpy`` and carries the creating process id, so a later run can sweep
what a killed run left behind (:func:`sweep_stale`). Addresses come from 198.18.0.0/15,
the range set aside for network benchmarks, and traffic never leaves the pair.
"""

from __future__ import annotations

import contextlib
import errno
import itertools
import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterator

from libbpf_py._lowlevel import ffi, lib
from libbpf_py._lowlevel.owner import Closing
from libbpf_py.errors import BpfError, PermissionDenied

__all__ = [
    "Capture",
    "NetnsEnd",
    "NetnsPair",
    "VethPair",
    "capability_problem",
    "entered",
    "sweep_stale",
]

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
        raise BpfError("the 'ip' command (iproute2) is missing: apt-get install iproute2") from None
    if check and proc.returncode != 0:
        text = proc.stderr.strip()
        if "Operation not permitted" in text:
            raise PermissionDenied(
                f"ip {' '.join(args)}: {text}; creating namespaces and veth "
                "pairs needs CAP_NET_ADMIN and CAP_SYS_ADMIN: run as root"
            )
        raise BpfError(f"ip {' '.join(args)} failed: {text}")
    return proc


_CAP_SYS_ADMIN, _CAP_NET_ADMIN, _CAP_BPF = 21, 12, 39


def capability_problem() -> str | None:
    """None if this process may load BPF programs and make namespaces, else what it lacks.

    Read from ``CapEff`` in ``/proc/self/status``, so a root shell without capabilities
    (``setpriv --bounding-set=-all``) is told apart from a real root.
    """
    try:
        with open("/proc/self/status") as f:
            caps = next(int(line.split()[1], 16) for line in f if line.startswith("CapEff:"))
    except (OSError, StopIteration, ValueError):
        return None if os.geteuid() == 0 else "this process is not root"
    missing = [
        name
        for name, bit in (
            ("CAP_BPF", _CAP_BPF),
            ("CAP_NET_ADMIN", _CAP_NET_ADMIN),
            ("CAP_SYS_ADMIN", _CAP_SYS_ADMIN),
        )
        if not caps >> bit & 1
    ]
    if not missing:
        return None
    return (
        f"needs root: this process (uid {os.geteuid()}, CapEff {caps:#x}) lacks "
        f"{', '.join(missing)}"
    )


def _bring_up(netns: str, dev: str, addr: str) -> None:
    """Give ``dev`` in ``netns`` its /30 address and bring it and the loopback up."""
    _ip("-n", netns, "addr", "add", f"{addr}/30", "dev", dev)
    _ip("-n", netns, "link", "set", dev, "up")
    _ip("-n", netns, "link", "set", "lo", "up")


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


class VethPair(Closing):
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
            _ip(
                "link",
                "add",
                self.host,
                "type",
                "veth",
                "peer",
                "name",
                self.peer,
                "netns",
                self.netns,
            )
            _ip("addr", "add", f"{self.host_addr}/30", "dev", self.host)
            _ip("link", "set", self.host, "up")
            _bring_up(self.netns, self.peer, self.peer_addr)
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
        return subprocess.run(
            ["ip", "netns", "exec", self.netns, *argv],
            capture_output=True,
            text=True,
            timeout=timeout,
        )

    def send_udp(
        self,
        count: int,
        *,
        port: int = 9,
        payload: bytes = b"libbpf_py",
        receive_timeout: float = 1.0,
    ) -> int:
        """Send ``count`` UDP datagrams from the namespace to the host end.

        Returns how many arrived at a socket bound to the host address.
        """
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as rx:
            rx.bind((self.host_addr, port))
            proc = self.run_in_netns(
                sys.executable,
                "-c",
                _SENDER,
                self.peer_addr,
                self.host_addr,
                str(port),
                str(count),
                payload.decode("ascii", "replace"),
            )
            if proc.returncode != 0:
                raise BpfError(f"sending from {self.netns} failed: {proc.stderr.strip()}")
            return _drain(rx, count, receive_timeout)

    def close(self) -> None:
        """Remove both interfaces and the namespace. Idempotent."""
        if not self._created:
            return
        self._created = False
        _ip("link", "del", self.host, check=False)
        _ip("netns", "del", self.netns, check=False)

    def __del__(self) -> None:
        self.close()


def _setns(fd: int, what: str) -> None:
    if lib.setns(fd, lib.CLONE_NEWNET) != 0:
        err = ffi.errno
        if err == errno.EPERM:
            raise PermissionDenied(
                f"entering network namespace {what} needs CAP_SYS_ADMIN: run as root", errno=err
            )
        raise BpfError(f"entering network namespace {what}: {os.strerror(err)}", errno=err)


@contextlib.contextmanager
def entered(netns: str) -> Iterator[None]:
    """Run the block with this thread inside network namespace ``netns`` (by its name).

    Sockets created in the block stay in that namespace after it; interface names and
    indexes (for ``attach_xdp``, ``attach_tcx``, ...) are the namespace's own. Only the
    calling thread moves, and it always moves back, also when the block raises.
    """
    home = os.open("/proc/thread-self/ns/net", os.O_RDONLY | os.O_CLOEXEC)
    try:
        try:
            target = os.open(f"/run/netns/{netns}", os.O_RDONLY | os.O_CLOEXEC)
        except FileNotFoundError:
            raise BpfError(f"there is no network namespace named {netns!r}") from None
        try:
            _setns(target, netns)
        finally:
            os.close(target)
        try:
            yield
        finally:
            _setns(home, "of this process")
    finally:
        os.close(home)


class NetnsEnd:
    """One end of a :class:`NetnsPair`: a namespace, its veth device and its address."""

    def __init__(self, netns: str, dev: str, addr: str) -> None:
        self.netns = netns
        self.dev = dev
        self.addr = addr

    def __repr__(self) -> str:
        return f"<NetnsEnd {self.netns}/{self.dev} {self.addr}>"

    def inside(self) -> contextlib.AbstractContextManager[None]:
        """Enter this end's namespace for a block (see :func:`entered`)."""
        return entered(self.netns)

    @property
    def ifindex(self) -> int:
        """The device's interface index inside its namespace."""
        with self.inside():
            return socket.if_nametoindex(self.dev)

    def socket(
        self, family: int = socket.AF_INET, kind: int = socket.SOCK_DGRAM, proto: int = 0
    ) -> socket.socket:
        """A socket that lives in this end's namespace."""
        with self.inside():
            return socket.socket(family, kind, proto)

    def capture(self) -> Capture:
        """Start capturing the frames that arrive at this end's device (after XDP)."""
        return Capture(self)

    def run(self, *argv: str, timeout: float = 30) -> subprocess.CompletedProcess[str]:
        """Run a command inside this end's namespace (``ip netns exec``)."""
        return subprocess.run(
            ["ip", "netns", "exec", self.netns, *argv],
            capture_output=True,
            text=True,
            timeout=timeout,
        )


class Capture(Closing):
    """Frames that arrived at a device, read from a packet socket in its namespace.

    A packet socket sees a frame after XDP has let it pass, so frames a program dropped
    are not here. Use it as a context manager; :attr:`frames` holds what arrived.
    """

    def __init__(self, end: NetnsEnd) -> None:
        self.end = end
        self.frames: list[bytes] = []
        self._sock: socket.socket | None = end.socket(
            socket.AF_PACKET, socket.SOCK_RAW, socket.htons(lib.ETH_P_ALL)
        )
        try:
            self._sock.bind((end.dev, 0))
            self._sock.setblocking(False)
        except BaseException:
            self.close()
            raise

    def read(self) -> list[bytes]:
        """Collect the frames that arrived since the last read; returns all so far."""
        if self._sock is not None:
            while True:
                try:
                    data, addr = self._sock.recvfrom(65535)
                except BlockingIOError:
                    break
                if addr[2] != socket.PACKET_OUTGOING:
                    self.frames.append(data)
        return self.frames

    def close(self) -> None:
        """Read what is left and close the socket. Idempotent."""
        if self._sock is not None:
            self.read()
            self._sock.close()
            self._sock = None


class NetnsPair(Closing):
    """Two fresh network namespaces, ``a`` and ``b``, joined by a veth or netkit pair.

    ``a.addr`` is 198.19.0.1 and ``b.addr`` 198.19.0.2; nothing else is reachable, so
    traffic never leaves the pair. :meth:`send_udp`, :meth:`send_tcp` and
    :meth:`send_icmp` send from one end and count what the other end received. Attach a
    program to an end's device inside its namespace::

        with pair.b.inside():
            link = program.attach_xdp(pair.b.dev)

    ``kind="netkit"`` joins them by a netkit pair instead (Linux 6.7+): ``a.dev`` is the
    primary device, where :meth:`Program.attach_netkit` attaches, and ``b.dev`` its
    peer. It is an L3 pair (IP packets, no Ethernet header, no ARP) unless ``l2=True``.
    A kernel without netkit raises :class:`~libbpf_py.errors.NotSupported`.

    Use it as a context manager (or call :meth:`close`): both namespaces go away.
    """

    def __init__(self, kind: str = "veth", *, l2: bool = False) -> None:
        if kind not in ("veth", "netkit"):
            raise ValueError(f"kind is 'veth' or 'netkit', not {kind!r}")
        self.kind = kind
        pid = os.getpid()
        prefix = "veth" if kind == "veth" else "nk"
        self.a = NetnsEnd(f"{PREFIX}-{pid}-{next(_counter)}", f"{prefix}-a", "198.19.0.1")
        self.b = NetnsEnd(f"{PREFIX}-{pid}-{next(_counter)}", f"{prefix}-b", "198.19.0.2")
        self._made: list[str] = []
        try:
            for end in (self.a, self.b):
                _ip("netns", "add", end.netns)
                self._made.append(end.netns)
            if kind == "netkit":
                self._add_netkit(l2)
            else:
                _ip(
                    "link",
                    "add",
                    self.a.dev,
                    "netns",
                    self.a.netns,
                    "type",
                    "veth",
                    "peer",
                    "name",
                    self.b.dev,
                    "netns",
                    self.b.netns,
                )
            for end in (self.a, self.b):
                _bring_up(end.netns, end.dev, end.addr)
        except BaseException:
            self.close()
            raise

    def _add_netkit(self, l2: bool) -> None:
        """The netkit pair, made through rtnetlink: iproute2 before 6.7 knows no netkit."""
        from libbpf_py.testing._rtnetlink import add_netkit_pair

        peer_ns = os.open(f"/run/netns/{self.b.netns}", os.O_RDONLY | os.O_CLOEXEC)
        try:
            with self.a.inside():
                add_netkit_pair(self.a.dev, self.b.dev, peer_netns_fd=peer_ns, l2=l2)
        finally:
            os.close(peer_ns)

    def __repr__(self) -> str:
        return f"<NetnsPair {self.a.netns}/{self.a.dev} <-> {self.b.netns}/{self.b.dev}>"

    @property
    def namespaces(self) -> tuple[str, str]:
        """The two namespaces' names."""
        return self.a.netns, self.b.netns

    def _ends(self, src: str) -> tuple[NetnsEnd, NetnsEnd]:
        if src not in ("a", "b"):
            raise ValueError(f"src is 'a' or 'b', not {src!r}")
        return (self.a, self.b) if src == "a" else (self.b, self.a)

    def send_udp(
        self,
        count: int = 1,
        *,
        src: str = "a",
        port: int = 9,
        payload: bytes = b"libbpf_py",
        timeout: float = 1.0,
    ) -> int:
        """Send ``count`` UDP datagrams from ``src`` to the other end; return how many arrived."""
        sender, receiver = self._ends(src)
        with receiver.socket() as rx, sender.socket() as tx:
            rx.bind((receiver.addr, port))
            tx.bind((sender.addr, 0))
            for i in range(count):
                tx.sendto(payload + b" %d" % i, (receiver.addr, port))
                time.sleep(0.002)  # a burst would overflow the neighbour queue before ARP
            return _drain(rx, count, timeout)

    def send_tcp(
        self, count: int = 1, *, src: str = "a", port: int = 8080, timeout: float = 1.0
    ) -> int:
        """Open ``count`` TCP connections from ``src`` to the other end; return how many
        were accepted (each attempt waits at most ``timeout`` seconds)."""
        sender, receiver = self._ends(src)
        accepted = 0
        with receiver.socket(socket.AF_INET, socket.SOCK_STREAM) as listener:
            listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            listener.bind((receiver.addr, port))
            listener.listen(count)
            listener.settimeout(timeout)
            for _ in range(count):
                with sender.socket(socket.AF_INET, socket.SOCK_STREAM) as tx:
                    tx.settimeout(timeout)
                    try:
                        tx.connect((receiver.addr, port))
                        conn, _addr = listener.accept()
                        conn.close()
                        accepted += 1
                    except (TimeoutError, ConnectionError):
                        continue
        return accepted

    def send_icmp(self, count: int = 1, *, src: str = "a", timeout: float = 1.0) -> int:
        """Send ``count`` ICMP echo requests from ``src``; return how many replies came back."""
        from libbpf_py.testing.packets import icmp4

        sender, receiver = self._ends(src)
        ident = os.getpid() & 0xFFFF
        with sender.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP) as sock:
            for seq in range(count):
                sock.sendto(icmp4(b"libbpf_py", ident=ident, seq=seq), (receiver.addr, 0))
                time.sleep(0.002)
            replies: set[int] = set()
            deadline = time.monotonic() + timeout
            sock.settimeout(0.05)
            while len(replies) < count and time.monotonic() < deadline:
                try:
                    data = sock.recv(2048)
                except TimeoutError:
                    continue
                icmp = data[(data[0] & 0x0F) * 4 :]
                if len(icmp) >= 8 and icmp[0] == 0 and int.from_bytes(icmp[4:6]) == ident:
                    replies.add(int.from_bytes(icmp[6:8]))
            return len(replies)

    def close(self) -> None:
        """Remove both namespaces (the veth pair goes with them). Idempotent."""
        while self._made:
            _ip("netns", "del", self._made.pop(), check=False)

    def __del__(self) -> None:
        self.close()


def _drain(rx: socket.socket, count: int, timeout: float) -> int:
    received = 0
    deadline = time.monotonic() + timeout
    rx.settimeout(0.05)
    while received < count and time.monotonic() < deadline:
        try:
            rx.recv(65535)
            received += 1
        except TimeoutError:
            continue
    return received
