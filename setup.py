"""What pyproject.toml cannot declare: libbpf and the CFFI module, built by ``build_ext``.

Reading the metadata (``egg_info``, ``pip install``'s first step) compiles nothing and needs
no libbpf tarball. ``sdist`` needs the fetched tarball, which it carries, so building from
the sdist needs no fetch. ``build_ext`` builds the vendored libbpf (``vendor/build.sh``),
writes the module's C source with CFFI and compiles it for Python's stable ABI (abi3,
3.11 and newer), so one wheel serves every Python from 3.11 on.
"""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path
from types import ModuleType

from setuptools import Extension, setup
from setuptools.command.build import build
from setuptools.command.build_ext import build_ext
from setuptools.command.sdist import sdist

ROOT = Path(__file__).resolve().parent
MODULE = "libbpf_py._libbpf"


def _build_ffi() -> ModuleType:
    # Loaded by path at build time only: importing it pulls in cffi, and the metadata step
    # must not need anything but setuptools.
    spec = importlib.util.spec_from_file_location("build_ffi", ROOT / "build_ffi.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class Build(build):
    """``build`` with the extension first: building it makes package data (libbpf's headers)."""

    sub_commands = sorted(build.sub_commands, key=lambda command: command[0] != "build_ext")


class BuildExt(build_ext):
    """Build libbpf, write the CFFI module's C source, then compile it like any extension."""

    def run(self) -> None:
        ffi = _build_ffi().make_ffi()
        generated = ffi.distutils_extension(tmpdir=str(Path(self.build_temp) / "cffi"))
        for ext in self.extensions:
            if ext.name == MODULE:
                for attr in (
                    "sources",
                    "include_dirs",
                    "define_macros",
                    "library_dirs",
                    "libraries",
                    "extra_objects",
                    "extra_compile_args",
                    "extra_link_args",
                ):
                    setattr(ext, attr, list(getattr(generated, attr, None) or []))
        super().run()


class Sdist(sdist):
    """``sdist``, refusing to make one without the pinned libbpf tarball it must carry."""

    def run(self) -> None:
        pin = (ROOT / "vendor" / "libbpf.pin").read_text()
        version = re.search(r"^VERSION=(\S+)$", pin, re.M)
        assert version is not None, "vendor/libbpf.pin has no VERSION= line"
        tarball = ROOT / "vendor" / "download" / f"libbpf_{version.group(1)}.orig.tar.gz"
        if not tarball.exists():
            raise SystemExit(
                f"sdist: the pinned libbpf tarball {tarball.relative_to(ROOT)} is missing; "
                "fetch it with vendor/fetch.sh (or LIBBPF_PY_TARBALL=/path vendor/fetch.sh)"
            )
        super().run()


setup(
    ext_modules=[Extension(MODULE, sources=[], py_limited_api=True)],
    cmdclass={"build": Build, "build_ext": BuildExt, "sdist": Sdist},
    options={"bdist_wheel": {"py_limited_api": "cp311"}},
)
