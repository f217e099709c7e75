"""User ring buffers (old path of :mod:`libbpf_py.events.user_ringbuf`, kept for users' imports)."""

from __future__ import annotations

from libbpf_py.events.user_ringbuf import *  # noqa: F403
from libbpf_py.events.user_ringbuf import __all__ as __all__
