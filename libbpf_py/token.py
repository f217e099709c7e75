"""BPF tokens (Linux 6.9+): BPF in a user namespace, through what a bpffs delegates.

A process in a user namespace holds no capability of the initial namespace, so the
kernel refuses its ``bpf()`` calls. A privileged parent can mount a bpffs for it with
``delegate_cmds``, ``delegate_maps``, ``delegate_progs`` and ``delegate_attachs``
options; the namespaced process then derives a :class:`Token` from that bpffs and passes
it with each call it wants to make. The token allows what the mount delegates, and only
to a process that holds ``CAP_BPF`` (and the other capabilities the call needs) in the
user namespace that owns the bpffs.

Three places take a token:

- ``ObjectFile(path).open(token_path=...)``: libbpf makes its own token from that bpffs
  and uses it for every map, BTF and program the object creates (and for its own
  probes of kernel features);
- ``Map.create(..., token=...)``;
- :func:`use_token`: the library's feature probes (``features.check``), which every
  ``attach_*`` method asks first, run through the token while it is in use.

See ``docs/howto/tokens.md``.
"""

from __future__ import annotations

import contextlib
import errno
import os
import threading
from collections.abc import Iterator

from libbpf_py._lowlevel import ffi, lib
from libbpf_py._lowlevel.owner import OwnedFd, Owner
from libbpf_py.errors import NotFound, NotOnBpffs, NotSupported, PermissionDenied, error_from_errno
from libbpf_py.explain import narrate

__all__ = ["Token", "active_token", "kernel_lacks_tokens", "use_token"]


class Token(Owner):
    """A BPF token: the right to make the ``bpf()`` calls a delegating bpffs allows.

    Make one with :meth:`create`; close it or use ``with``. Handles made through the
    token (maps, programs, links) do not need it afterwards: closing the token does not
    close them.
    """

    _phase_name = "open"
    _type_name = "Token"

    def __init__(self, fd: OwnedFd, path: str) -> None:
        self._fd = fd
        #: The bpffs the token came from.
        self.path = path
        self._closed = False

    @classmethod
    def create(cls, bpffs_path: str | os.PathLike[str]) -> Token:
        """Derive a token from the bpffs mounted at ``bpffs_path`` (``bpf_token_create``).

        The bpffs must be mounted with ``delegate_*`` options by a process privileged in
        the initial namespace, and be owned by this process's user namespace.

        Raises :class:`~libbpf_py.errors.NotFound` for a missing path,
        :class:`~libbpf_py.errors.NotOnBpffs` for a path that is not a bpffs mount,
        :class:`~libbpf_py.errors.PermissionDenied` for a bpffs that delegates nothing
        or belongs to another user namespace, and
        :class:`~libbpf_py.errors.NotSupported` in the initial user namespace (a token
        is never needed there) or on a kernel without tokens.
        """
        path = os.fspath(bpffs_path)
        what = f"creating a BPF token from {path}"
        try:
            dir_fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        except FileNotFoundError:
            raise NotFound(
                f"{what}: no such directory; give the path where the delegating bpffs is mounted",
                errno=errno.ENOENT,
            ) from None
        except NotADirectoryError:
            raise NotOnBpffs(
                f"{what}: not a directory, so not a bpffs mount point", errno=errno.ENOTDIR
            ) from None
        except OSError as exc:
            raise error_from_errno(exc.errno or errno.EIO, what) from None
        try:
            opts = ffi.new("struct bpf_token_create_opts *")
            opts.sz = ffi.sizeof("struct bpf_token_create_opts")
            fd = int(lib.bpf_token_create(dir_fd, opts))  # the fd, or -errno
        finally:
            os.close(dir_fd)
        if fd < 0:
            narrate(f"bpf_token_create({path!r})", f"error {-fd}")
            raise _create_error(-fd, what, path)
        narrate(f"bpf_token_create({path!r})", f"token fd {fd}")
        return cls(OwnedFd(fd), path)

    @property
    def fd(self) -> int:
        """The token's file descriptor (to pass as ``token_fd`` to raw calls)."""
        self._require_open("using a token")
        return self._fd.number

    def disown(self) -> int:
        """Hand the token's fd to the caller, who closes it; this handle is then closed."""
        self._require_open("disown()")
        number = self._fd.disown("Token")
        self.close()
        return number

    def _release(self) -> None:
        global _active
        with _lock:
            if _active is self:
                _active = None
        self._fd.close()

    def __repr__(self) -> str:
        state = "closed" if self._closed else f"fd {self._fd.number}"
        return f"<Token from {self.path!r} ({state})>"


def _create_error(err: int, what: str, path: str) -> Exception:
    if err == errno.ENOENT:
        return PermissionDenied(
            f"{what}: this bpffs delegates nothing; it must be mounted (by a process "
            "privileged in the initial namespace) with delegate_cmds, delegate_maps, "
            "delegate_progs and delegate_attachs options",
            errno=err,
        )
    if err == errno.EOPNOTSUPP:
        return NotSupported(
            f"{what}: this process is in the initial user namespace, where the kernel "
            "makes no tokens (its capabilities are enough there)",
            errno=err,
        )
    if err == errno.EPERM:
        return PermissionDenied(
            f"{what}: the kernel refused it (EPERM): the bpffs must belong to this "
            "process's user namespace (created with fsopen() inside it) and the process "
            "must hold CAP_BPF there",
            errno=err,
        )
    if err == errno.EINVAL:
        reason = kernel_lacks_tokens()
        if reason:
            return NotSupported(f"{what}: {reason}", errno=err)
        return NotOnBpffs(
            f"{what}: {path} is not the root of a bpffs mount; tokens come from a bpffs "
            "mounted with delegate_cmds/delegate_maps/delegate_progs/delegate_attachs",
            errno=err,
        )
    return error_from_errno(err, what)


def kernel_lacks_tokens() -> str | None:
    """Why this kernel makes no BPF tokens (Linux 6.9+), or ``None`` when it does.

    Asked with a bad fd: a kernel that knows BPF_TOKEN_CREATE answers EBADF, an older
    one EINVAL for the unknown command. ``features.check("command:token_create")``
    caches this answer.
    """
    ret = int(lib.bpf_token_create(-1, ffi.NULL))
    if ret >= 0:  # pragma: no cover - no kernel makes a token from fd -1
        os.close(ret)
        return None
    if ret == -errno.EBADF:
        return None
    return (
        "BPF tokens: the kernel does not know BPF_TOKEN_CREATE (Linux 6.9+): it answered "
        f"{errno.errorcode.get(-ret, -ret)} ({os.strerror(-ret)})"
    )


# The token the feature probes use: process-wide, since the probes' cache is, and a
# container process typically works through one token.
_lock = threading.Lock()
_active: Token | None = None


def active_token() -> Token | None:
    """The token :func:`use_token` made current, or ``None`` (probes without a token)."""
    return _active


@contextlib.contextmanager
def use_token(token: Token | None) -> Iterator[Token | None]:
    """Run the library's feature probes through ``token`` inside the ``with`` block.

    ``features.check`` and the probe each ``attach_*`` method runs first then load
    their programs and make their maps through the token, and their results are cached
    per token. The setting is process-wide; the previous one comes back when the block
    ends. ``use_token(None)`` probes without a token.
    """
    global _active
    if token is not None:
        token._require_open("use_token()")
    with _lock:
        previous, _active = _active, token
    try:
        yield token
    finally:
        with _lock:
            _active = previous
