"""Packets for tests (old path of :mod:`libbpf_py.testing.packets`, kept for users' imports)."""

from __future__ import annotations

from libbpf_py.testing.packets import *  # noqa: F403
from libbpf_py.testing.packets import __all__ as __all__
