"""Phase 6, execute: maps as Python containers of typed keys and values.

This package owns :class:`Map`, one class body for every job of a map (single entries,
queues and bloom filters, the whole map at once, standalone maps, pins, struct_ops
registration) with its fast-path subclasses, the :class:`Arena` view of an arena map's
pages (``_arena``), the map-kind tables of ``_kinds`` and the codecs whose meaning a map
type fixes (LPM keys, fd, devmap and cpumap values) in ``_codecs``.
Maps sit above links (a struct_ops map returns one) and below the programs, event
channels and objects that hold them; their object is named by a Protocol
(``ParentObject``), never imported.
"""

from __future__ import annotations

from libbpf_py.maps._arena import Arena
from libbpf_py.maps._map import BATCH_CHUNK as _BATCH_CHUNK  # noqa: F401 (bench/maps/run.py)
from libbpf_py.maps._map import Map, MapInfo, PerCpu, TypeRef, UpdateFlag, map_info
from libbpf_py.maps._map import check_pin_mode as check_pin_mode
from libbpf_py.maps._map import declared_types as declared_types
from libbpf_py.maps._map import libbpf_btf as libbpf_btf
from libbpf_py.maps._map import set_pin_mode as set_pin_mode
from libbpf_py.query import possible_cpus as possible_cpus

__all__ = ["Arena", "Map", "MapInfo", "PerCpu", "TypeRef", "UpdateFlag", "map_info"]
