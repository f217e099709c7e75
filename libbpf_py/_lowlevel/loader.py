"""Import the compiled module and check that it belongs to this package version."""

from __future__ import annotations

import sys
from typing import Any

try:
    from libbpf_py._libbpf import ffi as _ffi
    from libbpf_py._libbpf import lib as _lib
except ImportError as exc:  # pragma: no cover - depends on the installation
    raise ImportError(
        "libbpf_py's compiled module is missing: build it with './dev build' in a checkout "
        "(or 'vendor/fetch.sh && pip install .') — the pure-Python parts "
        "(libbpf_py.inspect) work without it"
    ) from exc

ffi: Any = _ffi
lib: Any = _lib


def _package_version() -> str:
    """The version of the Python files beside this compiled module.

    It is the package's own ``__version__`` line, not importlib.metadata: importing that
    module took about 20 ms, more than half of what ``import libbpf_py`` costs now, and
    a wheel's metadata is read from the same line when it is built. Python imports a
    package before any of its submodules, and ``libbpf_py/__init__.py`` sets
    ``__version__`` before it imports anything, so the package module is there to ask
    (from ``sys.modules`` rather than an import statement, which would make this bottom
    layer import the top of the package in import-linter's graph).
    """
    return str(sys.modules["libbpf_py"].__version__)


def _check_versions() -> None:
    built_for = _ffi.string(_lib.lpy_package_version()).decode()
    package_version = _package_version()
    if built_for != package_version:
        raise ImportError(
            f"libbpf_py's compiled module was built for version {built_for}, but the "
            f"package beside it is {package_version}: rebuild it ('./dev build' in a "
            "checkout, or reinstall)"
        )
    pinned = _ffi.string(_lib.lpy_pinned_libbpf()).decode()
    linked = f"{_lib.libbpf_major_version()}.{_lib.libbpf_minor_version()}"
    if not pinned.startswith(linked + ".") and pinned != linked:
        raise ImportError(f"libbpf_py was built for libbpf {pinned} but links {linked}")


_check_versions()
