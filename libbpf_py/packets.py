"""Small packet builders for ``Program.test_run``: Ethernet, IPv4, IPv6, UDP, TCP, ICMP.

They build real wire-format frames with correct lengths and checksums, so the kernel and
a BPF program parse them as they would parse traffic.
"""

from __future__ import annotations

import ipaddress
import socket
import struct

__all__ = ["ETH_P_ARP", "ETH_P_IP", "ETH_P_IPV6", "ethernet", "icmp4", "ipv4", "ipv6",
           "tcp", "udp"]

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


def ethernet(payload: bytes, *, proto: int = ETH_P_IP, src: bytes = _PEER_MAC,
             dst: bytes = _HOST_MAC) -> bytes:
    """An Ethernet II frame carrying ``payload`` with EtherType ``proto``."""
    return dst + src + struct.pack("!H", proto) + payload


def ipv4(payload: bytes, *, src: str, dst: str, proto: int = socket.IPPROTO_UDP,
         ttl: int = 64) -> bytes:
    """An IPv4 packet (no options) with a correct header checksum."""
    header = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(payload), 0, 0x4000, ttl, proto, 0,
                         socket.inet_aton(src), socket.inet_aton(dst))
    csum = checksum(header)
    return header[:10] + struct.pack("!H", csum) + header[12:] + payload


def ipv6(payload: bytes, *, src: str, dst: str, next_header: int = socket.IPPROTO_UDP,
         hop_limit: int = 64) -> bytes:
    """An IPv6 packet (no extension headers)."""
    return (struct.pack("!IHBB", 6 << 28, len(payload), next_header, hop_limit)
            + ipaddress.IPv6Address(src).packed + ipaddress.IPv6Address(dst).packed + payload)


def _pseudo_header(src: str, dst: str, proto: int, length: int) -> bytes:
    a, b = ipaddress.ip_address(src), ipaddress.ip_address(dst)
    if a.version == 4:
        return a.packed + b.packed + struct.pack("!BBH", 0, proto, length)
    return a.packed + b.packed + struct.pack("!IxxxB", length, proto)


def udp(payload: bytes = b"", *, sport: int = 4242, dport: int = 9, src: str | None = None,
        dst: str | None = None) -> bytes:
    """A UDP datagram; with ``src``/``dst`` addresses its checksum is filled in."""
    header = struct.pack("!HHHH", sport, dport, 8 + len(payload), 0)
    if src and dst:
        csum = checksum(_pseudo_header(src, dst, socket.IPPROTO_UDP, 8 + len(payload))
                        + header + payload) or 0xFFFF
        header = header[:6] + struct.pack("!H", csum)
    return header + payload


def tcp(payload: bytes = b"", *, sport: int = 4242, dport: int = 80, flags: int = 0x02,
        seq: int = 1, src: str | None = None, dst: str | None = None) -> bytes:
    """A TCP segment (SYN by default); with addresses its checksum is filled in."""
    header = struct.pack("!HHIIBBHHH", sport, dport, seq, 0, 5 << 4, flags, 65535, 0, 0)
    if src and dst:
        csum = checksum(_pseudo_header(src, dst, socket.IPPROTO_TCP, len(header) + len(payload))
                        + header + payload)
        header = header[:16] + struct.pack("!H", csum) + header[18:]
    return header + payload


def icmp4(payload: bytes = b"", *, type_: int = 8, code: int = 0, ident: int = 1,
          seq: int = 1) -> bytes:
    """An ICMPv4 message (echo request by default) with its checksum."""
    header = struct.pack("!BBHHH", type_, code, 0, ident, seq)
    csum = checksum(header + payload)
    return header[:2] + struct.pack("!H", csum) + header[4:] + payload
