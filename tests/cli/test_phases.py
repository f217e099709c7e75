"""compile, inspect, load, attach and run: their output, and their errors on bad input."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from libbpf_py import packets
from tests.cli.conftest import HERE

pytestmark = pytest.mark.requires_root


def test_compile_writes_beside_the_source(cli, tmp_path: Path) -> None:
    src = tmp_path / "p.bpf.c"
    src.write_text((HERE / "bpf" / "lpy_cli.bpf.c").read_text())
    ran = cli("compile", src)
    assert ran.code == 0, ran.err
    assert ran.out.strip() == str(tmp_path / "p.bpf.o")
    assert (tmp_path / "p.bpf.o").read_bytes()[:4] == b"\x7fELF"
    ran = cli("compile", src, "-o", tmp_path / "q.o", "--json")
    assert json.loads(ran.out)["object"] == str(tmp_path / "q.o")


def test_compile_against_a_chosen_btf(cli, tmp_path: Path) -> None:
    src = tmp_path / "p.bpf.c"
    src.write_text((HERE / "bpf" / "lpy_cli.bpf.c").read_text())
    ran = cli("compile", src, "--btf", "running", "-o", tmp_path / "r.o")
    assert ran.code == 0, ran.err
    assert (tmp_path / "r.o").read_bytes()[:4] == b"\x7fELF"
    ran = cli("compile", src, "--btf", tmp_path / "no.btf")
    assert ran.code == 66 and "no BTF file" in ran.err


def test_link_objects_links_and_refuses_clashes(cli, tmp_path: Path) -> None:
    from libbpf_py import compile
    from libbpf_py.inspect import read_object

    sources = HERE.parent / "bpf" / "linker"
    objs = {
        name: compile(sources / f"{name}.bpf.c", tmp_path / f"{name}.bpf.o")
        for name in ("classify", "filter", "clash")
    }
    out = tmp_path / "linked.bpf.o"
    ran = cli("link-objects", objs["classify"], objs["filter"], "-o", out, "--json")
    assert ran.code == 0, ran.err
    assert ran.json() == {
        "object": str(out),
        "size": out.stat().st_size,
        "inputs": [str(objs["classify"]), str(objs["filter"])],
    }
    assert read_object(out.read_bytes()).programs.keys() == {"linked_filter"}
    ran = cli("link-objects", objs["classify"], objs["clash"], "-o", tmp_path / "no.o")
    assert ran.code == 65, ran.err  # a data error, as for a malformed object
    assert "classify" in ran.err and not (tmp_path / "no.o").exists()


def test_compile_errors(cli, tmp_path: Path) -> None:
    ran = cli("compile", tmp_path / "missing.bpf.c")
    assert ran.code == 66 and "no BPF source file" in ran.err
    bad = tmp_path / "bad.bpf.c"
    bad.write_text("int broken( {\n")
    ran = cli("compile", bad)
    assert ran.code == 65
    assert ran.err.startswith("libbpf-py compile: clang failed") and "error:" in ran.err


def test_inspect_output_and_errors(cli, cli_object: Path, tmp_path: Path) -> None:
    ran = cli("inspect", cli_object)
    assert ran.code == 0, ran.err
    assert "lpy_cli_xdp" in ran.out and "lpy_cli_points" in ran.out
    data = json.loads(cli("inspect", cli_object, "--json").out)
    assert "lpy_cli_points" in json.dumps(data)
    ran = cli("inspect", tmp_path / "missing.o")
    assert ran.code == 66 and ran.err.count("\n") == 1
    junk = tmp_path / "junk.o"
    junk.write_bytes(b"not an elf file at all" * 4)
    ran = cli("inspect", junk)
    assert ran.code == 65 and "not an ELF file" in ran.err


def test_load_pins_programs_and_maps(pinned, cli) -> None:
    pins = {name: row["pin"] for name, row in pinned.rows.items()}
    assert set(pins) >= {"lpy_cli_xdp", "lpy_cli_points", "lpy_cli_hits", "lpy_cli.bss"}
    for path in pins.values():
        assert os.path.exists(str(path))
    assert str(pins["lpy_cli.bss"]).endswith("/maps/lpy_cli_bss")  # bpffs: no dots
    shown = cli("prog", "show", pinned.pin("lpy_cli_xdp"), "--json").json()
    assert shown["id"] == pinned.rows["lpy_cli_xdp"]["id"] and shown["type"] == "xdp"


def test_load_table_and_errors(cli, cli_object: Path, tmp_path: Path) -> None:
    pin_dir = Path(f"/sys/fs/bpf/lpy-{os.getpid()}-cli-table")
    try:
        ran = cli("load", cli_object, "--pin-dir", pin_dir)
        assert ran.code == 0, ran.err
        assert "kind" in ran.out and "lpy_cli_xdp" in ran.out and f"rm -r {pin_dir}" in ran.out
        again = cli("load", cli_object, "--pin-dir", pin_dir)
        assert again.code == 69 and "already holds pins" in again.err
    finally:
        import shutil

        shutil.rmtree(pin_dir, ignore_errors=True)
    ran = cli("load", tmp_path / "none.o")
    assert ran.code == 66
    src = HERE / "bpf" / "lpy_cli.bpf.c"
    ran = cli("load", src)
    assert ran.code == 65 and "not an ELF file" in ran.err


def test_run_with_hex_file_and_builder(pinned, cli, tmp_path: Path) -> None:
    drop = packets.udp_packet(b"x", dport=7777)
    ran = cli("run", pinned.pin("lpy_cli_xdp"), "--hex", drop.hex())
    assert ran.code == 0, ran.err
    assert "verdict:  XDP_DROP (retval 1)" in ran.out
    assert "IPv4 198.18.0.2 > 198.18.0.1 UDP 4242 > 7777" in ran.out
    frame = tmp_path / "frame.bin"
    frame.write_bytes(packets.udp_packet(b"x", dport=53))
    ran = cli("run", pinned.id("lpy_cli_xdp"), "--file", frame, "--json")
    assert ran.json()["verdict"] == "XDP_PASS"
    ran = cli(
        "run",
        pinned.id("lpy_cli_xdp"),
        "--packet",
        "udp_packet(b'hi', dport=7777)",
        "--repeat",
        "5",
        "--expect",
        "drop",
    )
    assert ran.code == 0, ran.err
    ran = cli("run", pinned.id("lpy_cli_xdp"), "--packet", "tcp_packet()", "--expect", "drop")
    assert ran.code == 1 and "expected XDP_DROP, got XDP_PASS" in ran.err


def test_run_an_object_file(cli, cli_object: Path) -> None:
    ran = cli("run", cli_object, "--packet", "icmp_packet()", "--json")
    assert ran.code == 0, ran.err
    assert ran.json()["program"] == "lpy_cli_xdp"
    ran = cli("run", cli_object, "--program", "nope", "--packet", "icmp_packet()")
    assert ran.code == 66 and "has no program 'nope'" in ran.err


def test_run_errors(pinned, cli, tmp_path: Path) -> None:
    prog = pinned.id("lpy_cli_xdp")
    ran = cli("run", prog, "--hex", "zz")
    assert ran.code == 65 and "not hex bytes" in ran.err
    ran = cli("run", prog, "--hex", "00")
    assert ran.code == 65 and "at least an Ethernet header" in ran.err
    ran = cli("run", prog, "--packet", "__import__('os').system('true')")
    assert ran.code == 65 and "only calls of" in ran.err
    ran = cli("run", prog, "--file", tmp_path / "none.bin")
    assert ran.code == 66
    ran = cli("run", "id:999999999", "--hex", "00" * 20)
    assert ran.code == 66 and "no program with id 999999999" in ran.err
    ran = cli("run", prog, "--packet", "udp_packet()", "--expect", "TC_ACT_SHOT")
    assert ran.code == 65 and "not a verdict of xdp programs" in ran.err
    ran = cli("run", prog)
    assert ran.code == 2  # one of --hex/--file/--packet is required


def test_attach_in_a_namespace_then_detach(pinned, cli, netns_pair) -> None:
    link_pin = pinned.dir / "link"
    ran = cli(
        "attach",
        pinned.pin("lpy_cli_xdp"),
        "--xdp",
        netns_pair.b.dev,
        "--netns",
        netns_pair.b.netns,
        "--pin",
        link_pin,
        "--json",
    )
    assert ran.code == 0, ran.err
    link_id = ran.json()["link_id"]
    # The attached program really runs: UDP to 7777 is dropped, other traffic passes.
    assert netns_pair.send_udp(3, port=7777, timeout=0.3) == 0
    assert netns_pair.send_udp(3, port=9) == 3
    links = cli("link", "list", "--json").json()
    mine = [entry for entry in links if entry["id"] == link_id]
    assert mine and mine[0]["type"] == "xdp"
    assert str(link_id) in cli("link", "list").out
    ran = cli("link", "detach", link_pin)
    assert ran.code == 0 and f"link {link_id} detached" in ran.out
    assert not link_pin.exists()
    assert netns_pair.send_udp(3, port=7777) == 3


def test_attach_errors(pinned, cli, netns_pair) -> None:
    prog = pinned.pin("lpy_cli_xdp")
    ran = cli("attach", prog, "--xdp", "lpy-no-such-dev", "--pin", pinned.dir / "l1")
    assert ran.code == 66 and "no network interface 'lpy-no-such-dev'" in ran.err
    ran = cli("attach", prog, "--xdp", netns_pair.a.dev, "--netns", "lpy-no-such-netns")
    assert ran.code != 0 and "no network namespace named 'lpy-no-such-netns'" in ran.err
    ran = cli("attach", "id:999999999", "--xdp", "lo")
    assert ran.code == 66
    first = cli(
        "attach",
        prog,
        "--xdp",
        netns_pair.a.dev,
        "--netns",
        netns_pair.a.netns,
        "--pin",
        pinned.dir / "l2",
    )
    assert first.code == 0, first.err
    busy = cli(
        "attach",
        prog,
        "--xdp",
        netns_pair.a.dev,
        "--netns",
        netns_pair.a.netns,
        "--pin",
        pinned.dir / "l3",
    )
    assert busy.code == 69 and "has a program attached already" in busy.err
    assert cli("link", "detach", pinned.dir / "l2").code == 0
    ran = cli("attach", prog)
    assert ran.code == 2
