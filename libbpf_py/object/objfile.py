"""Phase 2, the compiled object: an ELF file's bytes, before libbpf or the kernel see it."""

from __future__ import annotations

import os
import struct
from typing import TYPE_CHECKING, Any

from libbpf_py.enums import EM_BPF
from libbpf_py.errors import NotFound, ObjectFormatError

if TYPE_CHECKING:
    from pathlib import Path

    from libbpf_py.inspect import ObjectSpec
    from libbpf_py.object.open_object import OpenObject

__all__ = ["ObjectFile"]


class ObjectFile:
    """A compiled BPF ELF object: the bytes of a file, or bytes given directly.

    Holding an ``ObjectFile`` needs no privileges and touches no kernel:
    :meth:`inspect` reads it in pure Python, :meth:`open` hands it to libbpf.
    """

    def __init__(
        self,
        source: str | os.PathLike[str] | bytes | bytearray | memoryview,
        *,
        name: str | None = None,
    ) -> None:
        if isinstance(source, bytes | bytearray | memoryview):
            self.path: Path | None = None
            self.data = bytes(source)
        elif isinstance(source, str | os.PathLike):
            # pathlib is imported here, for the first object read from a file, not by
            # ``import libbpf_py`` (it pulls in urllib and ipaddress; see
            # tests/test_import_time.py).
            from pathlib import Path

            self.path = Path(source)
            try:
                self.data = self.path.read_bytes()
            except FileNotFoundError:
                raise NotFound(f"no BPF object file at {self.path}") from None
            except IsADirectoryError:
                raise NotFound(f"{self.path} is a directory, not a BPF object file") from None
        else:
            raise TypeError(f"ObjectFile takes a path or bytes, not {type(source).__name__}")
        self.name = name or (self.path.name.split(".")[0] if self.path else "bpf_object")
        self._check_header()

    def _check_header(self) -> None:
        data = self.data
        if len(data) < 64 or data[:4] != b"\x7fELF":
            what = self.path or "the given bytes"
            raise ObjectFormatError(
                f"{what} is not an ELF file (a BPF object starts with "
                "\\x7fELF; compile the C source with libbpf_py.compile)",
                offset=0,
            )
        if data[4] != 2:
            raise ObjectFormatError("not a 64-bit ELF object; BPF objects are ELFCLASS64", offset=4)
        order = "<" if data[5] == 1 else ">"
        (machine,) = struct.unpack_from(order + "H", data, 18)
        if machine != EM_BPF:
            raise ObjectFormatError(
                f"ELF machine is {machine}, not BPF ({EM_BPF}): this "
                "object was compiled for another target (use -target bpf)",
                offset=18,
            )

    def __repr__(self) -> str:
        where = str(self.path) if self.path else f"{len(self.data)} bytes"
        return f"ObjectFile({where!r})"

    def inspect(self) -> ObjectSpec:
        """Describe everything in the object, in pure Python (no root, no kernel)."""
        from libbpf_py.inspect import read_object

        return read_object(self.data, self.name)

    def open(self, **options: Any) -> OpenObject:
        """Phase 3: have libbpf parse the object (``bpf_object__open_mem``).

        Options: ``name``, ``pin_root_path``, ``kconfig``, ``btf_custom_path``,
        ``relaxed_maps``, ``token_path`` (the bpffs libbpf derives a BPF token from, for
        a process in a user namespace; ``""`` makes no token, not even libbpf's implicit
        one from ``/sys/fs/bpf``; unset, libbpf reads ``LIBBPF_BPF_TOKEN_PATH``: see
        docs/howto/tokens.md). Returns an :class:`~libbpf_py.OpenObject` to adjust
        before loading.
        """
        from libbpf_py.object.open_object import open_object

        return open_object(self, **options)
