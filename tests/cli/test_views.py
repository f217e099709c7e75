"""prog, map and link: tables, JSON, typed keys and values, and errors on bad input."""

from __future__ import annotations

import json

import pytest

pytestmark = pytest.mark.requires_root


def test_prog_list_and_show(pinned, cli) -> None:
    prog_id = pinned.rows["lpy_cli_xdp"]["id"]
    listed = cli("prog", "list", "--json").json()
    assert any(p["id"] == prog_id and p["name"] == "lpy_cli_xdp" for p in listed)
    table = cli("prog", "list").out.splitlines()
    assert table[0].split() == ["id", "type", "name", "tag", "maps", "runs"]
    assert any(line.split()[:3] == [str(prog_id), "xdp", "lpy_cli_xdp"] for line in table)
    for ref in (pinned.pin("lpy_cli_xdp"), pinned.id("lpy_cli_xdp"), str(prog_id), "lpy_cli_xdp"):
        shown = cli("prog", "show", ref)
        assert shown.code == 0, shown.err
        assert f"id:               {prog_id}" in shown.out and "verified_insns" in shown.out


def test_prog_errors(pinned, cli) -> None:
    assert cli("prog", "show", "id:999999999").code == 66
    ran = cli("prog", "show", "lpy_no_such_prog")
    assert ran.code == 66 and "no loaded program is named 'lpy_no_such_prog'" in ran.err
    ran = cli("prog", "show", "id:abc")
    assert ran.code == 65 and "not an id" in ran.err
    ran = cli("prog", "show", pinned.pin("lpy_cli_points"))
    assert ran.code == 65 and "pins a map, not a program" in ran.err
    ran = cli("prog", "show", "/sys/fs/bpf/lpy-no-such-pin")
    assert ran.code == 66 and "no pin at" in ran.err
    assert cli("prog").code == 2


def test_map_list(pinned, cli) -> None:
    map_id = pinned.rows["lpy_cli_points"]["id"]
    listed = cli("map", "list", "--json").json()
    mine = [m for m in listed if m["id"] == map_id]
    assert (
        mine
        == [
            {
                "id": map_id,
                "name": "lpy_cli_points",
                "type": "hash",
                "key_size": 4,
                "value_size": 12,
                "max_entries": 8,
                "flags": 0,
                "btf_id": mine[0]["btf_id"],
            }
        ]
        or mine[0]["type"] == "hash"
    )
    assert "lpy_cli_points" in cli("map", "list").out


def test_map_update_lookup_dump_delete_typed(pinned, cli) -> None:
    points = pinned.pin("lpy_cli_points")
    ran = cli("map", "update", points, "7", '{"x": 3, "y": -2, "tag": "ab"}')
    assert ran.code == 0, ran.err
    assert '{"x": 3, "y": -2, "tag": "ab"}' in ran.out
    cli("map", "update", pinned.id("lpy_cli_points"), "0x10", '{"x": 1}')
    dumped = cli("map", "dump", points, "--json").json()
    assert sorted(dumped, key=lambda e: e["key"]) == [
        {"key": 7, "value": {"x": 3, "y": -2, "tag": "ab"}},
        {"key": 16, "value": {"x": 1, "y": 0, "tag": ""}},
    ]
    table = cli("map", "dump", "lpy_cli_points").out
    assert table.splitlines()[0].split() == ["key", "value"] and "16" in table
    looked = cli("map", "lookup", points, "7", "--json").json()
    assert looked == [{"key": 7, "value": {"x": 3, "y": -2, "tag": "ab"}}]
    assert cli("map", "delete", points, "7").code == 0
    ran = cli("map", "lookup", points, "7")
    assert ran.code == 66 and "has no entry for key 7" in ran.err
    ran = cli("map", "delete", points, "7")
    assert ran.code == 66


def test_map_per_cpu_enum_and_globals(pinned, cli) -> None:
    from libbpf_py.maps import possible_cpus

    ran = cli("map", "update", pinned.pin("lpy_cli_hits"), "1", "5", "--json")
    assert ran.json() == [{"key": 1, "value": [5] * possible_cpus()}]
    cli("map", "update", pinned.pin("lpy_cli_colour"), "1", "GREEN")
    colours = cli("map", "dump", pinned.pin("lpy_cli_colour"), "--json").json()
    assert {"key": 1, "value": "GREEN"} in colours
    cli("run", pinned.pin("lpy_cli_xdp"), "--packet", "udp_packet()")
    bss = cli("map", "dump", pinned.pin("lpy_cli.bss"), "--json").json()
    assert bss == [{"key": 0, "value": {"runs": 1}}]
    rodata = cli("map", "dump", pinned.pin("lpy_cli.rodata"), "--json").json()
    assert rodata[0]["value"]["token"] == 4242


def test_map_bad_text(pinned, cli) -> None:
    points = pinned.pin("lpy_cli_points")
    ran = cli("map", "lookup", points, "seven")
    assert ran.code == 65
    # The messages after "bad ... text" are the engine's, as a Map's (issue 13).
    assert ran.err.strip() == (
        "libbpf-py map lookup: bad key text 'seven': the key is an integer: "
        "give an int (or 4 raw bytes), not str; key is __u32 (4 bytes)"
    )
    ran = cli("map", "update", points, "1", '{"z": 1}')
    assert (
        ran.code == 65
        and "(struct point) has no field 'z'; its fields: x, y, tag; "
        "value is struct point (12 bytes)"
        in ran.err
    )
    ran = cli("map", "update", points, "1", '{"tag": "toolong"}')
    assert ran.code == 65 and "field 'tag': the value is char[4]: 7 bytes do not fit" in ran.err
    ran = cli("map", "update", points, "99999999999", '{"x": 1}')
    assert ran.code == 65 and "bad key text" in ran.err
    ran = cli("map", "update", points, "hex:0102", '{"x": 1}')
    assert ran.code == 65 and "is 2 bytes, not 4" in ran.err
    ran = cli("map", "update", pinned.pin("lpy_cli_colour"), "1", "BLUE")
    assert ran.code == 65 and "enum colour has no member 'BLUE'" in ran.err
    ran = cli("map", "delete", pinned.pin("lpy_cli_colour"), "1")
    assert ran.code == 70 and "array maps cannot be deleted" in ran.err
    ran = cli("map", "dump", "lpy_no_such_map")
    assert ran.code == 66 and "no loaded map is named 'lpy_no_such_map'" in ran.err
    assert cli("map", "dump", "id:999999999").code == 66


def test_map_addresses_as_keys(cli, bpf_object, no_fd_leak) -> None:
    from libbpf_py.demo import filter_source

    obj = bpf_object(filter_source())
    ref = f"id:{obj.maps['blocklist'].id}"
    assert cli("map", "update", ref, "198.18.0.2", "1").code == 0
    assert obj.maps["blocklist"][bytes([198, 18, 0, 2])] == 1
    dumped = cli("map", "dump", ref, "--json").json()
    assert dumped == [{"key": int.from_bytes(bytes([198, 18, 0, 2]), "little"), "value": 1}]


def test_link_errors(cli) -> None:
    assert cli("link", "detach", "id:999999999").code == 66
    ran = cli("link", "detach", "some_name")
    assert ran.code == 65 and "links have no names" in ran.err
    listed = cli("link", "list", "--json")
    assert listed.code == 0 and isinstance(json.loads(listed.out), list)
