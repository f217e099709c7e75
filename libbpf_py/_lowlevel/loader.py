"""Import the compiled module and check that it belongs to this package version."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version
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


def _check_versions() -> None:
    built_for = _ffi.string(_lib.lpy_package_version()).decode()
    try:
        installed = version("libbpf_py")
    except PackageNotFoundError:  # pragma: no cover - running from a bare source tree
        return
    if built_for != installed:
        raise ImportError(
            f"libbpf_py's compiled module was built for version {built_for}, but the "
            f"installed package is {installed}: rebuild it ('./dev build' in a checkout, "
            "or reinstall)"
        )
    pinned = _ffi.string(_lib.lpy_pinned_libbpf()).decode()
    linked = f"{_lib.libbpf_major_version()}.{_lib.libbpf_minor_version()}"
    if not pinned.startswith(linked + ".") and pinned != linked:
        raise ImportError(f"libbpf_py was built for libbpf {pinned} but links {linked}")


_check_versions()
