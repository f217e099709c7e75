"""Network namespaces for tests (old path of :mod:`libbpf_py.testing.netns`)."""

from __future__ import annotations

from libbpf_py.testing.netns import *  # noqa: F403
from libbpf_py.testing.netns import __all__ as __all__
