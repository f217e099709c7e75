"""setuptools needs setup.py for the ``cffi_modules`` keyword; everything else is in pyproject."""

from setuptools import setup

setup(cffi_modules=["build_ffi.py:ffibuilder"])
