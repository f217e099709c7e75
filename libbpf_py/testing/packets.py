"""Small packet builders for ``Program.test_run``: Ethernet, IPv4, IPv6, UDP, TCP, ICMP.

They build real wire-format frames with correct lengths and checksums, so the kernel and
a BPF program parse them as they would parse traffic.
"""

from __future__ import annotations

import ipaddress
import socket
import struct

__all__ = [
    "ETH_P_ARP",
    "ETH_P_IP",
    "ETH_P_IPV6",
    "VERDICTS",
    "as_bytes",
    "build",
    "checksum",
    "describe",
    "ethernet",
    "icmp4",
    "icmp6",
    "icmp_packet",
    "ipv4",
    "ipv6",
    "tcp",
    "tcp_packet",
    "udp",
    "udp_packet",
    "verdict_name",
    "verdict_value",
]

ETH_P_IP = 0x0800
ETH_P_ARP = 0x0806
ETH_P_IPV6 = 0x86DD
_HOST_MAC = bytes.fromhex("020000000001")
_PEER_MAC = bytes.fromhex("020000000002")


def checksum(data: bytes) -> int:
    """The Internet checksum (RFC 1071) of ``data``."""
    if len(data) % 2:
        data += b"\0"
    total = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return int(~total & 0xFFFF)


def ethernet(
    payload: bytes, *, proto: int = ETH_P_IP, src: bytes = _PEER_MAC, dst: bytes = _HOST_MAC
) -> bytes:
    """An Ethernet II frame carrying ``payload`` with EtherType ``proto``."""
    return dst + src + struct.pack("!H", proto) + payload


def ipv4(
    payload: bytes, *, src: str, dst: str, proto: int = socket.IPPROTO_UDP, ttl: int = 64
) -> bytes:
    """An IPv4 packet (no options) with a correct header checksum."""
    header = struct.pack(
        "!BBHHHBBH4s4s",
        0x45,
        0,
        20 + len(payload),
        0,
        0x4000,
        ttl,
        proto,
        0,
        socket.inet_aton(src),
        socket.inet_aton(dst),
    )
    csum = checksum(header)
    return header[:10] + struct.pack("!H", csum) + header[12:] + payload


def ipv6(
    payload: bytes,
    *,
    src: str,
    dst: str,
    next_header: int = socket.IPPROTO_UDP,
    hop_limit: int = 64,
) -> bytes:
    """An IPv6 packet (no extension headers)."""
    return (
        struct.pack("!IHBB", 6 << 28, len(payload), next_header, hop_limit)
        + ipaddress.IPv6Address(src).packed
        + ipaddress.IPv6Address(dst).packed
        + payload
    )


def _pseudo_header(src: str, dst: str, proto: int, length: int) -> bytes:
    a, b = ipaddress.ip_address(src), ipaddress.ip_address(dst)
    if a.version == 4:
        return a.packed + b.packed + struct.pack("!BBH", 0, proto, length)
    return a.packed + b.packed + struct.pack("!IxxxB", length, proto)


def udp(
    payload: bytes = b"",
    *,
    sport: int = 4242,
    dport: int = 9,
    src: str | None = None,
    dst: str | None = None,
) -> bytes:
    """A UDP datagram; with ``src``/``dst`` addresses its checksum is filled in."""
    header = struct.pack("!HHHH", sport, dport, 8 + len(payload), 0)
    if src and dst:
        csum = (
            checksum(
                _pseudo_header(src, dst, socket.IPPROTO_UDP, 8 + len(payload)) + header + payload
            )
            or 0xFFFF
        )
        header = header[:6] + struct.pack("!H", csum)
    return header + payload


def tcp(
    payload: bytes = b"",
    *,
    sport: int = 4242,
    dport: int = 80,
    flags: int = 0x02,
    seq: int = 1,
    src: str | None = None,
    dst: str | None = None,
) -> bytes:
    """A TCP segment (SYN by default); with addresses its checksum is filled in."""
    header = struct.pack("!HHIIBBHHH", sport, dport, seq, 0, 5 << 4, flags, 65535, 0, 0)
    if src and dst:
        csum = checksum(
            _pseudo_header(src, dst, socket.IPPROTO_TCP, len(header) + len(payload))
            + header
            + payload
        )
        header = header[:16] + struct.pack("!H", csum) + header[18:]
    return header + payload


def icmp4(
    payload: bytes = b"", *, type_: int = 8, code: int = 0, ident: int = 1, seq: int = 1
) -> bytes:
    """An ICMPv4 message (echo request by default) with its checksum."""
    header = struct.pack("!BBHHH", type_, code, 0, ident, seq)
    csum = checksum(header + payload)
    return header[:2] + struct.pack("!H", csum) + header[4:] + payload


def icmp6(
    payload: bytes = b"",
    *,
    src: str,
    dst: str,
    type_: int = 128,
    code: int = 0,
    ident: int = 1,
    seq: int = 1,
) -> bytes:
    """An ICMPv6 message (echo request by default) with its checksum over the pseudo-header."""
    header = struct.pack("!BBHHH", type_, code, 0, ident, seq)
    body = header + payload
    csum = checksum(_pseudo_header(src, dst, socket.IPPROTO_ICMPV6, len(body)) + body)
    return header[:2] + struct.pack("!H", csum) + header[4:] + payload


def _ip_frame(l4: bytes, src: str, dst: str, proto: int) -> bytes:
    if ipaddress.ip_address(src).version == 6:
        return ethernet(ipv6(l4, src=src, dst=dst, next_header=proto), proto=ETH_P_IPV6)
    return ethernet(ipv4(l4, src=src, dst=dst, proto=proto))


def udp_packet(
    payload: bytes = b"",
    *,
    src: str = "198.18.0.2",
    dst: str = "198.18.0.1",
    sport: int = 4242,
    dport: int = 9,
) -> bytes:
    """A whole Ethernet frame carrying a UDP datagram over IPv4 or IPv6 (by ``src``)."""
    return _ip_frame(
        udp(payload, sport=sport, dport=dport, src=src, dst=dst), src, dst, socket.IPPROTO_UDP
    )


def tcp_packet(
    payload: bytes = b"",
    *,
    src: str = "198.18.0.2",
    dst: str = "198.18.0.1",
    sport: int = 4242,
    dport: int = 80,
    flags: int = 0x02,
) -> bytes:
    """A whole Ethernet frame carrying a TCP segment (SYN by default) over IPv4 or IPv6."""
    return _ip_frame(
        tcp(payload, sport=sport, dport=dport, flags=flags, src=src, dst=dst),
        src,
        dst,
        socket.IPPROTO_TCP,
    )


def icmp_packet(payload: bytes = b"", *, src: str = "198.18.0.2", dst: str = "198.18.0.1") -> bytes:
    """A whole Ethernet frame carrying an ICMP (or ICMPv6) echo request."""
    if ipaddress.ip_address(src).version == 6:
        return _ip_frame(icmp6(payload, src=src, dst=dst), src, dst, socket.IPPROTO_ICMPV6)
    return _ip_frame(icmp4(payload), src, dst, socket.IPPROTO_ICMP)


def as_bytes(packet: object) -> bytes:
    """The wire bytes of ``packet``: bytes-like objects, or anything with ``__bytes__``.

    scapy packets have ``__bytes__``, so ``Ether()/IP()/UDP()`` is accepted wherever
    these builders' frames are.
    """
    if isinstance(packet, bytes | bytearray | memoryview):
        return bytes(packet)
    to_bytes = getattr(type(packet), "__bytes__", None)
    if to_bytes is None or isinstance(packet, str | int):
        raise TypeError(f"a packet is bytes (or a scapy packet), not {type(packet).__name__}")
    return bytes(to_bytes(packet))


_PROTO_NAMES = {
    socket.IPPROTO_UDP: "UDP",
    socket.IPPROTO_TCP: "TCP",
    socket.IPPROTO_ICMP: "ICMP",
    socket.IPPROTO_ICMPV6: "ICMPv6",
}
_TCP_FLAGS = "FSRPAUEC"


def _describe_l4(proto: int, data: bytes) -> str:
    name = _PROTO_NAMES.get(proto, f"proto {proto}")
    if proto in (socket.IPPROTO_UDP, socket.IPPROTO_TCP) and len(data) >= 4:
        sport, dport = struct.unpack_from("!HH", data)
        text = f"{name} {sport} > {dport}"
        if proto == socket.IPPROTO_TCP and len(data) >= 14:
            flags = data[13]
            text += " [" + "".join(c for i, c in enumerate(_TCP_FLAGS) if flags >> i & 1) + "]"
        payload = data[8:] if proto == socket.IPPROTO_UDP else data[(data[12] >> 4) * 4 :]
        return text + f", {len(payload)} bytes payload"
    if proto in (socket.IPPROTO_ICMP, socket.IPPROTO_ICMPV6) and len(data) >= 2:
        return f"{name} type {data[0]} code {data[1]}"
    return f"{name}, {len(data)} bytes"


def describe(packet: object) -> str:
    """One line saying what a frame is, e.g. ``IPv4 198.18.0.2 > 198.18.0.1 UDP 4242 > 9``.

    Used in assertion messages, so it never raises on short or odd frames.
    """
    data = as_bytes(packet)
    if len(data) < 14:
        return f"{len(data)} bytes, too short for Ethernet ({data.hex()})"
    (proto,) = struct.unpack_from("!H", data, 12)
    body = data[14:]
    if proto == ETH_P_IP and len(body) >= 20:
        ihl = (body[0] & 0x0F) * 4
        src, dst = socket.inet_ntoa(body[12:16]), socket.inet_ntoa(body[16:20])
        return f"IPv4 {src} > {dst} {_describe_l4(body[9], body[ihl:])} ({len(data)} bytes)"
    if proto == ETH_P_IPV6 and len(body) >= 40:
        src6 = ipaddress.IPv6Address(body[8:24])
        dst6 = ipaddress.IPv6Address(body[24:40])
        return f"IPv6 {src6} > {dst6} {_describe_l4(body[6], body[40:])} ({len(data)} bytes)"
    if proto == ETH_P_ARP:
        return f"ARP ({len(data)} bytes)"
    return f"Ethernet type {proto:#06x}, {len(data)} bytes"


_BUILDERS = {
    "ethernet",
    "ipv4",
    "ipv6",
    "udp",
    "tcp",
    "icmp4",
    "icmp6",
    "udp_packet",
    "tcp_packet",
    "icmp_packet",
}


def build(expression: str) -> bytes:
    """Evaluate a builder expression such as ``udp_packet(b"hi", dport=53)`` safely.

    Only calls of this module's builders, literals and ``+`` between bytes are allowed,
    so the text a user types on a command line cannot run anything else.
    """
    import ast

    try:
        tree = ast.parse(expression.strip(), mode="eval")
    except SyntaxError as exc:
        raise ValueError(
            f"packet expression {expression!r} is not valid Python: {exc.msg}"
        ) from None

    def value(node: ast.expr) -> object:
        if isinstance(node, ast.Constant) and isinstance(node.value, bytes | str | int):
            return node.value
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
            left, right = value(node.left), value(node.right)
            if isinstance(left, bytes) and isinstance(right, bytes):
                return left + right
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
            inner = value(node.operand)
            if isinstance(inner, int):
                return -inner
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id in _BUILDERS
        ):
            func = globals()[node.func.id]
            args = [value(a) for a in node.args]
            kwargs = {k.arg: value(k.value) for k in node.keywords if k.arg is not None}
            try:
                return bytes(func(*args, **kwargs))
            except (TypeError, ValueError, OSError, struct.error) as exc:
                raise ValueError(f"{node.func.id}(...): {exc}") from None
        raise ValueError(
            f"packet expression {expression!r}: only calls of "
            f"{', '.join(sorted(_BUILDERS))}, literals and bytes + bytes are "
            f"allowed, not {ast.unparse(node)!r}"
        )

    result = value(tree.body)
    if not isinstance(result, bytes):
        raise ValueError(f"packet expression {expression!r} does not build bytes")
    return result


#: Return values by name for the program types whose return value is a packet's fate.
VERDICTS: dict[str, dict[str, int]] = {
    "xdp": {"XDP_ABORTED": 0, "XDP_DROP": 1, "XDP_PASS": 2, "XDP_TX": 3, "XDP_REDIRECT": 4},
    "tc": {
        "TC_ACT_UNSPEC": -1,
        "TC_ACT_OK": 0,
        "TC_ACT_RECLASSIFY": 1,
        "TC_ACT_SHOT": 2,
        "TC_ACT_PIPE": 3,
        "TC_ACT_STOLEN": 4,
        "TC_ACT_QUEUED": 5,
        "TC_ACT_REPEAT": 6,
        "TC_ACT_REDIRECT": 7,
    },
    "cgroup": {"DENY": 0, "ALLOW": 1},
}


def _verdicts(prog_type: str) -> dict[str, int]:
    label = prog_type.lower()
    if label in ("sched_cls", "sched_act", "tc"):
        return VERDICTS["tc"]
    if label.startswith("cgroup"):
        return VERDICTS["cgroup"]
    return VERDICTS.get(label, {})


def verdict_name(prog_type: str, retval: int) -> str:
    """The name of a return value for a program type (``"xdp"``, 1 → ``XDP_DROP``)."""
    for name, value in _verdicts(prog_type).items():
        if value == retval:
            return name
    return str(retval)


def verdict_value(prog_type: str, verdict: str | int) -> int:
    """The number of a verdict given by name (``XDP_DROP``, ``drop``) or number."""
    if isinstance(verdict, int):
        return verdict
    table = _verdicts(prog_type)
    wanted = verdict.strip().upper()
    for name, value in table.items():
        if wanted in (name, name.split("_")[-1], name.removeprefix("TC_ACT_")):
            return value
    try:
        return int(wanted, 0)
    except ValueError:
        pass
    known = ", ".join(table) or "none: give the number"
    raise ValueError(
        f"{verdict!r} is not a verdict of {prog_type.lower()} programs (known: {known})"
    )
