"""Debian's kernel packages as data: fetch one, with its modules, and read its BTF.

:func:`fetch_kernel` downloads a ``linux-image-<release>`` package (and, for the split
packages of newer Debian kernels, the ``linux-binary-``, ``linux-modules-`` and
``linux-base-`` packages of the same release) through apt's ordinary client, from the
Debian archive this machine's apt is configured with, and extracts it into a cache
folder. The tree is what :mod:`libbpf_py.vm` boots, and :meth:`KernelPackage.btf` is the
kernel's BTF, for compiling CO-RE programs against a kernel that is not the running one.

Fetching needs root and apt (it runs ``apt-get update`` on a private sources list, then
``apt-get download``). A release already in the cache is used without the network.
"""

from __future__ import annotations

import contextlib
import fcntl
import io
import json
import lzma
import os
import re
import shutil
import struct
import subprocess
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from libbpf_py.errors import NotFound, NotSupported, ObjectFormatError, PermissionDenied
from libbpf_py.explain import narrate
from libbpf_py.vmlinux import KERNEL_BTF, cache_dir

__all__ = [
    "SUITES",
    "DebianVersion",
    "KernelPackage",
    "cached_kernels",
    "fetch_kernel",
    "fetch_kernel_btf",
    "kernel_cache",
]

#: The Debian suites searched, oldest first: Debian 12, 13, testing and unstable.
SUITES = ("bookworm", "trixie", "forky", "sid")

# linux-image-6.1.0-50-amd64, linux-image-6.12.117+deb13-amd64: the generic amd64 flavour
# (not -cloud-amd64, -rt-amd64, -unsigned or -dbg).
_RELEASE = r"\d+\.\d+(?:\.\d+)*(?:-\d+)?(?:\+deb\d+)?-amd64"
_RELEASE_RE = re.compile(rf"^{_RELEASE}$")
_IMAGE_RE = re.compile(rf"^linux-image-({_RELEASE})$")
_STAMP = ".complete"
_BTF_FILE = "vmlinux.btf"


def kernel_cache() -> Path:
    """The folder fetched kernels are kept in: ``cache_dir() / "kernels"``.

    ``LIBBPF_PY_CACHE`` moves the whole cache (see :func:`libbpf_py.vmlinux.cache_dir`).
    """
    return cache_dir() / "kernels"


@dataclass(frozen=True)
class KernelPackage:
    """One Debian kernel release, extracted: the image, its modules and its config.

    ``release`` is what ``uname -r`` says inside it (``"6.12.117+deb13-amd64"``);
    ``version`` the Debian package version (``"6.12.117-1"``); ``root`` the extracted
    tree, in which ``vmlinuz``, ``modules`` (the ``lib/modules/<release>`` folder) and
    ``config`` (``None`` where the package has none) lie.
    """

    release: str
    version: str
    root: Path
    vmlinuz: Path
    modules: Path
    config: Path | None

    def btf(self) -> Path:
        """The kernel's raw BTF (what ``/sys/kernel/btf/vmlinux`` holds inside it).

        Extracted once from ``vmlinuz`` into ``vmlinux.btf`` beside the tree, then reused.
        Raises :class:`~libbpf_py.errors.ObjectFormatError` if the image has no BTF.
        """
        out = self.root / _BTF_FILE
        if out.exists():
            return out
        data = btf_from_vmlinuz(self.vmlinuz)
        fd, tmp = tempfile.mkstemp(dir=self.root, suffix=".btf.tmp")
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(data)
            os.chmod(tmp, 0o644)
            os.replace(tmp, out)
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)
        narrate(
            f"read .BTF of {self.vmlinuz.name} ({self.release})",
            f"{len(data)} bytes -> {out}",
            phase="kernel",
        )
        return out


# -- Debian versions ----------------------------------------------------------------------


def _order(c: str) -> int:
    if c == "~":
        return -1
    return ord(c) if c.isalpha() else ord(c) + 256


def _compare_part(a: str, b: str) -> int:
    """dpkg's comparison of two upstream versions or two revisions: <0, 0 or >0."""
    i = j = 0
    while i < len(a) or j < len(b):
        while (i < len(a) and not a[i].isdigit()) or (j < len(b) and not b[j].isdigit()):
            ca = _order(a[i]) if i < len(a) and not a[i].isdigit() else 0
            cb = _order(b[j]) if j < len(b) and not b[j].isdigit() else 0
            if ca != cb:
                return ca - cb
            i += ca != 0
            j += cb != 0
        da = re.match(r"\d*", a[i:])
        db = re.match(r"\d*", b[j:])
        na, nb = (da.group() if da else ""), (db.group() if db else "")
        if int(na or 0) != int(nb or 0):
            return int(na or 0) - int(nb or 0)
        i, j = i + len(na), j + len(nb)
    return 0


class DebianVersion:
    """A Debian version string that orders as dpkg does: ``1.0~rc1 < 1.0 < 1.0-1 < 1:0.1``."""

    def __init__(self, version: str) -> None:
        epoch, _, rest = version.rpartition(":") if ":" in version else ("0", "", version)
        upstream, _, revision = rest.rpartition("-") if "-" in rest else (rest, "", "0")
        self.parts = (int(epoch or 0), upstream, revision)

    def _cmp(self, other: DebianVersion) -> int:
        if self.parts[0] != other.parts[0]:
            return -1 if self.parts[0] < other.parts[0] else 1
        return _compare_part(self.parts[1], other.parts[1]) or _compare_part(
            self.parts[2], other.parts[2]
        )

    def __lt__(self, other: DebianVersion) -> bool:
        return self._cmp(other) < 0

    def __eq__(self, other: object) -> bool:
        return isinstance(other, DebianVersion) and self._cmp(other) == 0

    def __hash__(self) -> int:
        return hash(self.parts[0])


# -- the image: vmlinuz -> vmlinux ELF -> .BTF ----------------------------------------------


def _decompress(payload: bytes, where: Path) -> bytes:
    if payload.startswith(b"\xfd7zXZ\x00"):
        return lzma.decompress(payload)
    if payload.startswith(b"\x28\xb5\x2f\xfd"):
        # The kernel's build appends the decompressed size (le32) after the frame.
        if len(payload) > 4 and struct.unpack_from("<I", payload, len(payload) - 4)[0] > len(
            payload
        ):
            payload = payload[:-4]
        try:
            import zstandard  # type: ignore[import-not-found, unused-ignore]
        except ImportError:
            zstd = shutil.which("zstd")
            if zstd is None:
                raise NotSupported(
                    f"{where} is zstd-compressed: install the zstd command "
                    "(apt-get install zstd) or pip install zstandard"
                ) from None
            return subprocess.run(
                [zstd, "-q", "-d", "-c"], input=payload, check=True, capture_output=True
            ).stdout
        out: bytes = zstandard.ZstdDecompressor().stream_reader(io.BytesIO(payload)).read()
        return out
    if payload.startswith(b"\x1f\x8b"):
        import gzip

        return gzip.decompress(payload)
    raise NotSupported(
        f"{where}: the kernel payload's compression is not one of xz, zstd "
        f"or gzip (starts {payload[:4].hex()})"
    )


def btf_from_vmlinuz(path: Path) -> bytes:
    """The raw ``.BTF`` section of the kernel inside the x86 bzImage at ``path``."""
    image = path.read_bytes()
    if len(image) < 0x250 or image[0x202:0x206] != b"HdrS":
        raise ObjectFormatError(f"{path} is not an x86 bzImage (no 'HdrS' setup header)")
    setup_sects = image[0x1F1] or 4
    payload_offset, payload_length = struct.unpack_from("<II", image, 0x248)
    start = (setup_sects + 1) * 512 + payload_offset
    elf = _decompress(image[start : start + payload_length], path)
    from elftools.elf.elffile import ELFFile

    section = ELFFile(io.BytesIO(elf)).get_section_by_name(".BTF")
    if section is None:
        raise ObjectFormatError(
            f"{path}: the kernel has no .BTF section (built without CONFIG_DEBUG_INFO_BTF)"
        )
    data: bytes = section.data()
    return data


# -- the cache --------------------------------------------------------------------------------


def _load(folder: Path) -> KernelPackage | None:
    """The package extracted in ``folder``, if it is complete."""
    try:
        stamp = json.loads((folder / _STAMP).read_text())
        release, version = str(stamp["release"]), str(stamp["version"])
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return _package(folder, release, version)


def _package(root: Path, release: str, version: str) -> KernelPackage | None:
    modules = next(
        (
            m
            for m in (root / "lib/modules" / release, root / "usr/lib/modules" / release)
            if m.is_dir()
        ),
        None,
    )
    vmlinuz = next(
        (
            v
            for v in (
                root / "boot" / f"vmlinuz-{release}",
                *((modules / "vmlinuz",) if modules else ()),
            )
            if v.is_file()
        ),
        None,
    )
    if modules is None or vmlinuz is None:
        return None
    config = next(
        (c for c in (root / "boot" / f"config-{release}", modules / "config") if c.is_file()), None
    )
    return KernelPackage(
        release=release, version=version, root=root, vmlinuz=vmlinuz, modules=modules, config=config
    )


def cached_kernels(cache: Path | None = None) -> list[KernelPackage]:
    """Every complete kernel in the cache, oldest Debian version first."""
    folder = cache if cache is not None else kernel_cache()
    found = [
        k
        for d in (sorted(folder.iterdir()) if folder.is_dir() else [])
        if not d.name.startswith(".") and (k := _load(d)) is not None
    ]
    return sorted(found, key=lambda k: DebianVersion(k.version))


def _matches(release: str, prefix: str) -> bool:
    return release == prefix or (release.startswith(prefix) and release[len(prefix)] in ".-+")


@contextlib.contextmanager
def _locked(folder: Path) -> Iterator[None]:
    with open(folder / ".lock", "a") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


# -- apt ----------------------------------------------------------------------------------


def _archive_uri() -> str:
    for f in sorted(Path("/etc/apt/sources.list.d").glob("*.sources")):
        for line in f.read_text(errors="replace").splitlines():
            if line.startswith("URIs:"):
                for uri in line.split()[1:]:
                    if "security" not in uri:
                        return uri
    lists = Path("/etc/apt/sources.list")
    if lists.exists():
        for line in lists.read_text(errors="replace").splitlines():
            words = line.split()
            if words and words[0] == "deb" and "security" not in line:
                for w in words[1:]:
                    if re.match(r"^[a-z]+://", w):
                        return w
    raise NotFound(
        "no Debian archive URI in this machine's apt configuration "
        "(/etc/apt/sources.list.d/*.sources or /etc/apt/sources.list): "
        "kernels are fetched from the archive apt already uses"
    )


class _Apt:
    """apt's ordinary client, pointed at a private sources list and lists folder."""

    def __init__(self, work: Path) -> None:
        if shutil.which("apt-get") is None or shutil.which("dpkg-deb") is None:
            raise NotSupported(
                "fetching a Debian kernel needs apt-get and dpkg-deb (a Debian "
                "or Ubuntu host); or put an extracted kernel in the cache"
            )
        if os.geteuid() != 0:
            raise PermissionDenied(
                "fetching a Debian kernel runs apt-get update on a private "
                "sources list, which needs root: run as root"
            )
        self.work = work
        (work / "lists" / "partial").mkdir(parents=True)
        (work / "kernels.sources").write_text(
            f"Types: deb\nURIs: {_archive_uri()}\nSuites: {' '.join(SUITES)}\n"
            "Components: main\nArchitectures: amd64\n"
            "Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg\n"
        )
        self.opts = [
            "-o",
            f"Dir::Etc::SourceList={work / 'kernels.sources'}",
            "-o",
            "Dir::Etc::SourceParts=/dev/null",
            "-o",
            f"Dir::State::Lists={work / 'lists'}",
            "-o",
            f"Dir::Cache={work / 'cache'}",
            "-o",
            "APT::Sandbox::User=root",
        ]

    def run(self, *args: str, cwd: Path | None = None) -> str:
        tool = "apt-cache" if args[0] in ("pkgnames", "show") else "apt-get"
        proc = subprocess.run([tool, *self.opts, *args], cwd=cwd, capture_output=True, text=True)
        if proc.returncode != 0:
            tail = (proc.stderr or proc.stdout).strip().splitlines()[-3:]
            raise NotFound(f"{tool} {args[0]} failed (exit {proc.returncode}): " + " | ".join(tail))
        return proc.stdout

    def update(self) -> None:
        (self.work / "cache").mkdir(exist_ok=True)
        self.run("update", "-qq")

    def show(self, names: Sequence[str]) -> dict[str, dict[str, str]]:
        """The candidate stanza of each name, as {name: {field: value}}."""
        out: dict[str, dict[str, str]] = {}
        text = self.run("show", "--no-all-versions", *names) if names else ""
        for block in text.split("\n\n"):
            fields: dict[str, str] = {}
            for line in block.splitlines():
                if line and not line[0].isspace() and ":" in line:
                    key, _, value = line.partition(":")
                    fields[key] = value.strip()
            if "Package" in fields:
                out[fields["Package"]] = fields
        return out


def _resolve(apt: _Apt, wanted: str) -> tuple[str, str, list[str]]:
    """(release, Debian version, package names) of the newest release matching ``wanted``."""
    names = [n for n in apt.run("pkgnames", "linux-image-").split() if _IMAGE_RE.match(n)]
    stanzas = apt.show(names)
    releases = {
        m.group(1): s["Version"]
        for n, s in stanzas.items()
        if (m := _IMAGE_RE.match(n)) and "Version" in s
    }
    matching = sorted(
        (r for r in releases if _matches(r, wanted)), key=lambda r: DebianVersion(releases[r])
    )
    if not matching:
        listing = ", ".join(
            f"{r} ({releases[r]})"
            for r in sorted(releases, key=lambda r: DebianVersion(releases[r]))
        )
        raise NotFound(
            f"no Debian kernel matches {wanted!r} in suites {', '.join(SUITES)}; "
            f"the archive has: {listing or 'none'}"
        )
    release = matching[-1]
    # Newer kernels split the image: linux-image-R depends on linux-binary-R,
    # linux-modules-R and linux-base-R. Follow dependencies that carry the release.
    packages, todo = [], [f"linux-image-{release}"]
    while todo:
        name = todo.pop()
        if name in packages:
            continue
        packages.append(name)
        stanza = stanzas.get(name) or apt.show([name]).get(name, {})
        for alternative in re.split(r"[,|]", stanza.get("Depends", "")):
            dep = alternative.split("(")[0].strip()
            if dep.endswith(f"-{release}") and dep not in packages:
                todo.append(dep)
    return release, releases[release], packages


def _fetch(apt: _Apt, wanted: str, cache: Path) -> KernelPackage:
    started = time.monotonic()
    apt.update()
    release, version, packages = _resolve(apt, wanted)
    final = cache / release
    done = _load(final)
    if done is not None:
        return done
    debs = apt.work / "debs"
    debs.mkdir()
    apt.run("download", "-qq", *packages, cwd=debs)
    tree = apt.work / "tree"
    size = 0
    for deb in sorted(debs.glob("*.deb")):
        size += deb.stat().st_size
        subprocess.run(["dpkg-deb", "-x", str(deb), str(tree)], check=True)
        deb.unlink()
    package = _package(tree, release, version)
    if package is None:
        raise NotFound(
            f"the packages {', '.join(packages)} hold no vmlinuz and modules folder for {release}"
        )
    if next(package.modules.rglob("veth.ko*"), None) is None:
        raise NotFound(f"{package.modules} has no veth module: the extraction is incomplete")
    (tree / _STAMP).write_text(
        json.dumps({"release": release, "version": version, "packages": packages}) + "\n"
    )
    if final.exists():  # a tree without its stamp: a leftover of an older layout
        shutil.rmtree(final)
    os.rename(tree, final)
    narrate(
        f"apt-get download {' '.join(packages)} (version {version})",
        f"{size / 1e6:.0f} MB in {time.monotonic() - started:.1f} s, extracted to {final}",
        phase="kernel",
    )
    loaded = _load(final)
    assert loaded is not None
    return loaded


def fetch_kernel(
    version: str, *, cache: Path | None = None, refresh: bool = False
) -> KernelPackage:
    """Fetch a Debian kernel with its modules into the cache, or take it from there.

    ``version`` is an exact release (``"6.12.117+deb13-amd64"``) or a prefix (``"6.1"``,
    ``"6.12"``, ``"7.2"``): the newest generic amd64 release of that series in the
    suites :data:`SUITES`. A matching release already in the cache is used without the
    network, unless ``refresh`` asks the archive for a newer one. ``cache`` defaults to
    :func:`kernel_cache`.

    Raises :class:`~libbpf_py.errors.NotFound` when no release matches (the message lists
    what the archive has), :class:`~libbpf_py.errors.PermissionDenied` without root and
    :class:`~libbpf_py.errors.NotSupported` without apt.
    """
    folder = cache if cache is not None else kernel_cache()
    wanted = version.strip()
    if not wanted or "/" in wanted or not re.match(r"^\d+(\.\d+)*", wanted):
        raise NotFound(
            f"{version!r} is not a kernel version: give a release like "
            "'6.12.117+deb13-amd64' or a series like '6.1', '6.12', '7.2'"
        )
    exact = bool(_RELEASE_RE.match(wanted))

    def cached() -> KernelPackage | None:
        if exact:
            return _load(folder / wanted)
        matching = [k for k in cached_kernels(folder) if _matches(k.release, wanted)]
        return matching[-1] if matching and not refresh else None

    found = cached()
    if found is not None:
        return found
    folder.mkdir(parents=True, exist_ok=True)
    with _locked(folder):
        found = cached()  # another process may have fetched it while this one waited
        if found is not None:
            return found
        work = Path(tempfile.mkdtemp(dir=folder, prefix=".fetch-"))
        try:
            return _fetch(_Apt(work), wanted, folder)
        finally:
            shutil.rmtree(work, ignore_errors=True)


def fetch_kernel_btf(version: str) -> Path:
    """The BTF of a kernel: ``"running"`` is this machine's, else :func:`fetch_kernel`'s."""
    if version == "running":
        return KERNEL_BTF
    return fetch_kernel(version).btf()
