"""Run a command inside another kernel: a Debian kernel package, virtme-ng and qemu.

:func:`run_in_kernel` boots a :class:`~libbpf_py.kernels.KernelPackage` (from
:func:`~libbpf_py.kernels.fetch_kernel`) with virtme-ng. The guest sees this machine's
root file system read-only, with throwaway overlays over ``/etc``, ``/usr``, ``/var`` and
``/tmp`` (writes there do not come back), and the folders given as ``rw_dirs`` (by default
the working directory) read-write: results come back through those. Modules come from
the package's own tree, never from ``/lib/modules``; bpffs, tracefs, debugfs and cgroup2
are mounted before the command runs, as root.

KVM is tried once per host kernel and qemu version, bounded in time, and the outcome is
kept in the cache; TCG (software emulation, several times slower) is the fallback, with the
reason printed. The host needs qemu (``apt-get install qemu-system-x86``), virtme-ng
(``pip install 'libbpf_py[vm]'``) and what virtme-ng runs (``busybox-static``, ``kmod``,
``udev``).
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import os
import selectors
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from libbpf_py.errors import BpfError, NotSupported
from libbpf_py.explain import narrate
from libbpf_py.kernels import KernelPackage
from libbpf_py.vmlinux import cache_dir

__all__ = [
    "GUEST_ENV",
    "GUEST_FAILED",
    "GuestRun",
    "GuestTimeout",
    "accelerator",
    "guest_release",
    "require_vm_tools",
    "run_in_kernel",
    "sweep_runs",
]

#: Set inside every guest to the release it runs (``uname -r``); unset on the host.
GUEST_ENV = "LIBBPF_PY_GUEST"

#: :attr:`GuestRun.returncode` when the command never ran: qemu or the guest kernel failed.
GUEST_FAILED = 255

#: How long one KVM boot may take before KVM counts as unusable here.
KVM_PROBE_SECONDS = 60.0

# Modules that udev's coldplug loads for qemu's q35 board and the emulated CPU, none of
# which a BPF test needs. Under TCG loading them took 20 of a 6.1 guest's 45 s of boot; as
# modprobe.blacklist they are only kept from loading by alias, an explicit modprobe works.
_IDLE_HARDWARE_MODULES = (
    "kvm",
    "kvm_amd",
    "kvm_intel",
    "ccp",
    "irqbypass",
    "crct10dif_pclmul",
    "crc32_pclmul",
    "crc32c_intel",
    "ghash_clmulni_intel",
    "sha512_ssse3",
    "sha256_ssse3",
    "sha1_ssse3",
    "aesni_intel",
    "sr_mod",
    "sg",
    "iTCO_wdt",
    "intel_pmc_bxt",
    "ahci",
    "psmouse",
    "i2c_i801",
    "pcspkr",
    "serio_raw",
    "lpc_ich",
    "i6300esb",
    "evdev",
    "powernow_k8",
    "acpi_cpufreq",
    "qemu_fw_cfg",
    "button",
    "polyval_clmulni",
    "polyval_generic",
    "intel_rapl_msr",
    "intel_rapl_common",
    "joydev",
    "floppy",
    "ata_piix",
)

# Host variables worth having in the guest beside the caller's env.
_PASSED_PREFIXES = ("LIBBPF_PY_", "PYTEST_", "PYTHON", "HYPOTHESIS_")
_PASSED_NAMES = (
    "PATH",
    "VIRTUAL_ENV",
    "LANG",
    "LC_ALL",
    "TERM",
    "NO_COLOR",
    "FORCE_COLOR",
    "COLUMNS",
)


class GuestTimeout(BpfError, TimeoutError):
    """The guest did not finish in time; it was stopped and nothing of it is left."""


@dataclass
class GuestRun:
    """What a command run in a guest kernel did (like :class:`subprocess.CompletedProcess`).

    ``returncode`` is the command's exit status, or :data:`GUEST_FAILED` when the command
    never finished (qemu failed, the guest kernel did not boot or crashed); ``stdout``
    and ``stderr`` what it printed; ``accelerator`` ``"kvm"`` or ``"tcg"``; ``seconds``
    the wall time from starting qemu to its end.
    """

    args: list[str]
    kernel: KernelPackage
    returncode: int
    stdout: str
    stderr: str
    accelerator: str
    seconds: float
    vng: list[str] = field(default_factory=list)

    def check_returncode(self) -> None:
        """Raise :class:`subprocess.CalledProcessError` if the command failed."""
        if self.returncode:
            raise subprocess.CalledProcessError(
                self.returncode, self.args, self.stdout, self.stderr
            )


def guest_release() -> str | None:
    """The kernel release when running inside a guest of :func:`run_in_kernel`, else None."""
    return os.environ.get(GUEST_ENV) or None


def require_vm_tools() -> None:
    """Check the host has what booting a guest needs; raise one line naming the fix.

    Raises :class:`~libbpf_py.errors.NotSupported`.
    """
    if guest_release() is not None:
        raise NotSupported(
            f"already inside a guest kernel ({guest_release()}): nested "
            "guests would run under software emulation, too slowly"
        )
    if importlib.util.find_spec("virtme_ng") is None:
        raise NotSupported(
            "running tests in other kernels needs virtme-ng: pip install 'libbpf_py[vm]'"
        )
    path = _tool_path()
    missing = [
        pkg
        for tool, pkg in (
            ("qemu-system-x86_64", "qemu-system-x86"),
            ("busybox", "busybox-static"),
            ("depmod", "kmod"),
            ("udevadm", "udev"),
        )
        if shutil.which(tool, path=path) is None
    ]
    if missing:
        raise NotSupported(
            "running tests in other kernels needs qemu and the tools "
            f"virtme-ng uses: apt-get install {' '.join(missing)}"
        )
    if os.geteuid() != 0:
        raise NotSupported(
            "running tests in other kernels boots them as root with the "
            "root file system shared: run as root"
        )


def _tool_path() -> str:
    # virtme-ng runs virtme-run by name, and modprobe/depmod live in /usr/sbin.
    bindir = str(Path(sys.executable).parent)
    parts = [bindir, *os.environ.get("PATH", "").split(os.pathsep), "/usr/sbin", "/sbin"]
    return os.pathsep.join(dict.fromkeys(p for p in parts if p))


def _qemu_version() -> str:
    try:
        out = subprocess.run(
            ["qemu-system-x86_64", "--version"],
            capture_output=True,
            text=True,
            env={**os.environ, "PATH": _tool_path()},
        ).stdout
    except OSError:
        return "unknown"
    return out.splitlines()[0].strip() if out else "unknown"


def _vm_cache() -> Path:
    return cache_dir() / "vm"


def accelerator(kernel: KernelPackage, *, refresh: bool = False) -> tuple[str, str]:
    """``("kvm", why)`` if KVM boots guests here, else ``("tcg", why)``.

    Tried once (one boot, at most :data:`KVM_PROBE_SECONDS`) per host kernel release and
    qemu version; the answer is kept in the cache folder. ``refresh`` tries again.
    """
    if not os.access("/dev/kvm", os.R_OK | os.W_OK):
        return "tcg", "/dev/kvm is missing or not accessible"
    key = f"{os.uname().release} {_qemu_version()}"
    store = _vm_cache() / "kvm.json"
    try:
        known = json.loads(store.read_text())
    except (OSError, ValueError):
        known = {}
    if not refresh and isinstance(known.get(key), dict):
        entry = known[key]
        return str(entry["accelerator"]), str(entry["reason"])
    started = time.monotonic()
    try:
        probe = _boot(
            kernel,
            ["true"],
            cwd=Path("/"),
            env={},
            timeout=KVM_PROBE_SECONDS,
            kvm=True,
            stream=False,
            rw_dirs=(),
            cpus=1,
            memory="1G",
        )
    except GuestTimeout:
        accel, reason = "tcg", (f"a KVM guest did not finish booting in {KVM_PROBE_SECONDS:.0f} s")
    else:
        if probe.returncode == 0:
            accel, reason = "kvm", f"a KVM guest booted in {probe.seconds:.1f} s"
        else:
            lines = [ln.strip() for ln in probe.stderr.splitlines() if "qemu" in ln]
            accel, reason = (
                "tcg",
                ("KVM boot failed: " + (lines[0] if lines else f"exit {probe.returncode}")),
            )
    known[key] = {
        "accelerator": accel,
        "reason": reason,
        "probed_with": kernel.release,
        "seconds": round(time.monotonic() - started, 1),
    }
    store.parent.mkdir(parents=True, exist_ok=True)
    tmp = store.with_suffix(".tmp")
    tmp.write_text(json.dumps(known, indent=1) + "\n")
    os.replace(tmp, store)
    return accel, reason


def _guest_env(env: Mapping[str, str], release: str) -> dict[str, str]:
    out = {
        k: v for k, v in os.environ.items() if k in _PASSED_NAMES or k.startswith(_PASSED_PREFIXES)
    }
    out["PATH"] = _tool_path()
    out.setdefault("HOME", "/root")
    out.update(env)
    out[GUEST_ENV] = release
    return out


def _script(
    argv: Sequence[str],
    cwd: Path,
    env: Mapping[str, str],
    status: Path,
    config: Path | None = None,
    release: str = "",
) -> str:
    mounts = [
        ("bpf", "/sys/fs/bpf"),
        ("tracefs", "/sys/kernel/tracing"),
        ("debugfs", "/sys/kernel/debug"),
        ("cgroup2", "/sys/fs/cgroup"),
    ]
    lines = ["#!/bin/sh", "# written by libbpf_py.vm; runs as the guest's command"]
    lines += [f"mountpoint -q {p} || mount -t {t} {t} {p} 2>/dev/null" for t, p in mounts]
    if config is not None and release:
        # The guest kernel's config at /boot/config-<release>, where libbpf (.kconfig
        # externs) and the kconfig probes look: the host's /boot has only the host's, and
        # newer Debian packages keep it as /usr/lib/modules/<release>/config instead. A
        # tmpfs of the guest's own, so nothing is written on the host.
        target = shlex.quote(f"/boot/config-{release}")
        lines.append(
            f"mount -t tmpfs lpy-boot /boot 2>/dev/null && "
            f"cp {shlex.quote(str(config))} {target} 2>/dev/null"
        )
    lines.append("ip link set lo up 2>/dev/null")
    lines += [f"export {k}={shlex.quote(v)}" for k, v in sorted(env.items())]
    lines.append(f"cd {shlex.quote(str(cwd))} || exit 125")
    # The status file proves the command ran: vng exits 0 even when qemu aborts.
    lines += [shlex.join(argv), "rc=$?", f"echo $rc > {shlex.quote(str(status))}", "exit $rc"]
    return "\n".join(lines) + "\n"


def _dedupe(dirs: Sequence[Path]) -> list[Path]:
    out: list[Path] = []
    for d in sorted({p.resolve() for p in dirs}, key=lambda p: len(p.parts)):
        if d != Path("/") and not any(d.is_relative_to(o) for o in out):
            out.append(d)
    return out


def _group_members(pgid: int) -> list[int]:
    """Live (not zombie) processes of process group ``pgid``."""
    members = []
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if fields[0] != "Z" and int(fields[2]) == pgid:
            members.append(int(entry.name))
    return members


def _end_group(pgid: int) -> None:
    """SIGTERM the group, wait up to 10 s for it to go, then SIGKILL what is left."""
    for sig, grace in ((signal.SIGTERM, 10.0), (signal.SIGKILL, 5.0)):
        if not _group_members(pgid):
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pgid, sig)
        deadline = time.monotonic() + grace
        while time.monotonic() < deadline and _group_members(pgid):
            time.sleep(0.1)


# The head of the guest's process group: it runs vng, and when the process that started it
# dies, even by SIGKILL (the kernel sends it PR_SET_PDEATHSIG's signal), it ends the whole
# group, so no qemu outlives its caller. It also ends the group on SIGTERM, which is how
# _end_group stops a guest.
_WATCHDOG = """
import ctypes, os, signal, subprocess, sys
def end(*_):
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    os.killpg(0, signal.SIGKILL)
signal.signal(signal.SIGTERM, end)
ctypes.CDLL(None).prctl(1, signal.SIGTERM)  # 1: PR_SET_PDEATHSIG
if os.getppid() != int(sys.argv[1]):
    end()  # the caller died before prctl took effect
sys.exit(subprocess.call(sys.argv[2:]))
"""


@contextlib.contextmanager
def _process_group(
    cmd: list[str], env: dict[str, str], cwd: Path
) -> Iterator[subprocess.Popen[bytes]]:
    cmd = [sys.executable, "-c", _WATCHDOG, str(os.getpid()), *cmd]
    proc = subprocess.Popen(
        cmd,
        env=env,
        cwd=cwd,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    try:
        yield proc
    finally:
        # qemu and virtme-run run in the watchdog's process group: end all of it, whatever
        # happened.
        try:
            _end_group(proc.pid)
        finally:
            proc.wait()
            for pipe in (proc.stdout, proc.stderr):
                if pipe is not None:
                    pipe.close()


def _pump(
    proc: subprocess.Popen[bytes],
    deadline: float,
    stream: bool,
    console: IO[str] | None,
    output: IO[str] | None,
) -> tuple[str, str]:
    chunks: dict[int, list[bytes]] = {1: [], 2: []}
    sinks: dict[int, IO[str]] = {1: output or sys.stdout, 2: console or sys.stderr}
    logged = {1: output is not None, 2: console is not None}
    sel = selectors.DefaultSelector()
    assert proc.stdout is not None and proc.stderr is not None
    sel.register(proc.stdout, selectors.EVENT_READ, 1)
    sel.register(proc.stderr, selectors.EVENT_READ, 2)
    open_streams = 2
    while open_streams:
        left = deadline - time.monotonic()
        if left <= 0:
            raise GuestTimeout("timed out")
        for key, _ in sel.select(timeout=min(left, 1.0)):
            data = os.read(key.fd, 65536)
            if not data:
                sel.unregister(key.fileobj)
                open_streams -= 1
                continue
            chunks[key.data].append(data)
            if stream or logged[key.data]:
                sink = sinks[key.data]
                sink.write(data.decode(errors="replace"))
                sink.flush()
    sel.close()
    return (
        b"".join(chunks[1]).decode(errors="replace"),
        b"".join(chunks[2]).decode(errors="replace"),
    )


# The run folder's owner: "pid start-time", so a folder left by a killed caller (its
# cleanup never ran) is told from one a live caller, even a recycled pid, still uses.
_OWNER = "owner"


def _process_identity(pid: int) -> str | None:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # Field 22, start time; counted after the command name, which may hold spaces.
    return f"{pid} {stat.rpartition(')')[2].split()[19]}"


def sweep_runs(runs: Path) -> list[Path]:
    """Remove the run folders under ``runs`` whose caller is gone; return what was removed.

    A caller killed while its guest ran (SIGKILL, or SIGTERM with no handler) never gets
    to remove its folder; the watchdog stops qemu, and the next boot sweeps the folder.
    """
    removed = []
    for work in runs.glob("run-*"):
        try:
            owner = (work / _OWNER).read_text().strip()
        except OSError:
            continue  # not written yet, or not ours to judge
        pid = owner.split()[0] if owner else ""
        if not pid.isdigit() or _process_identity(int(pid)) != owner:
            shutil.rmtree(work, ignore_errors=True)
            removed.append(work)
    return removed


def _boot(
    kernel: KernelPackage,
    argv: Sequence[str],
    *,
    cwd: Path,
    env: Mapping[str, str],
    timeout: float,
    kvm: bool,
    stream: bool,
    rw_dirs: Sequence[Path],
    cpus: int,
    memory: str,
    console_log: Path | None = None,
    stdout_log: Path | None = None,
) -> GuestRun:
    # Not under /var/tmp or /run: the guest mounts its own there and would not see it.
    runs = _vm_cache() / "runs"
    runs.mkdir(parents=True, exist_ok=True)
    sweep_runs(runs)
    work = Path(tempfile.mkdtemp(dir=runs, prefix="run-"))
    (work / _OWNER).write_text(_process_identity(os.getpid()) or "")
    try:
        script = work / "guest.sh"
        status = work / "status"
        script.write_text(
            _script(
                argv, cwd, _guest_env(env, kernel.release), status, kernel.config, kernel.release
            )
        )
        script.chmod(0o755)
        cmd = [
            sys.executable,
            "-m",
            "virtme_ng.run",
            "--run",
            str(kernel.vmlinuz),
            "--cpus",
            str(cpus),
            "--memory",
            memory,
            "--name",
            "libbpf-py-guest",
            "--append",
            "modprobe.blacklist=" + ",".join(_IDLE_HARDWARE_MODULES),
        ]
        if not kvm:
            # One host thread for all vCPUs: with multi-threaded TCG a vCPU can run code
            # another vCPU has just patched (the kernel rewrites its XDP dispatcher with
            # int3 while test_run runs XDP programs on two CPUs) and 6.12 oopses "int3 in
            # bpf_dispatcher_xdp_func". The guest still has `cpus` CPUs.
            cmd += ["--disable-kvm", "--qemu-opts=-accel tcg,thread=single"]
        if console_log is not None:
            cmd.append("--verbose")  # the kernel's console joins stderr
        shared = _dedupe([*rw_dirs, work])
        for d in shared:
            cmd += ["--rwdir", str(d)]
        boot = kernel.config.parent if kernel.config is not None else None
        if boot is not None and not any(boot.is_relative_to(d) for d in shared):
            cmd += ["--rodir", str(boot)]  # a cache under /tmp is not the guest's /tmp
        cmd += ["--exec", str(script)]
        # vng and qemu keep their temporary files under TMPDIR: a folder removed after.
        host_env = {**os.environ, "PATH": _tool_path(), "TMPDIR": str(work)}
        started = time.monotonic()
        with contextlib.ExitStack() as stack:
            console = (
                stack.enter_context(open(console_log, "w")) if console_log is not None else None
            )
            output = stack.enter_context(open(stdout_log, "w")) if stdout_log is not None else None
            proc = stack.enter_context(_process_group(cmd, host_env, work))
            try:
                out, err = _pump(proc, started + timeout, stream, console, output)
            except GuestTimeout:
                raise GuestTimeout(
                    f"{kernel.release}: {shlex.join(argv)} did not finish in "
                    f"{timeout:.0f} s; the guest was stopped"
                ) from None
            proc.wait()
        try:
            returncode = int(status.read_text())
        except (OSError, ValueError):
            returncode = GUEST_FAILED
        return GuestRun(
            args=list(argv),
            kernel=kernel,
            returncode=returncode,
            stdout=out,
            stderr=err,
            accelerator="kvm" if kvm else "tcg",
            seconds=time.monotonic() - started,
            vng=cmd,
        )
    finally:
        shutil.rmtree(work, ignore_errors=True)


def run_in_kernel(
    kernel: KernelPackage,
    argv: Sequence[str],
    *,
    cwd: str | os.PathLike[str] | None = None,
    env: Mapping[str, str] | None = None,
    timeout: float = 3600.0,
    cpus: int = 2,
    memory: str = "4G",
    rw_dirs: Sequence[str | os.PathLike[str]] | None = None,
    stream: bool = True,
    kvm: bool | None = None,
    console_log: str | os.PathLike[str] | None = None,
    stdout_log: str | os.PathLike[str] | None = None,
) -> GuestRun:
    """Boot ``kernel`` in qemu, run ``argv`` in it as root, and return what it did.

    ``cwd`` (default: the current directory) is where the command starts; it and every
    folder in ``rw_dirs`` (default: ``[cwd]``) are shared read-write, so files written
    there come back. The rest of the root file system is read-only with throwaway
    overlays. The guest's environment is ``PATH`` and the host's ``LIBBPF_PY_*``,
    ``PYTHON*``, ``PYTEST_*`` and locale variables, updated with ``env``, plus
    :data:`GUEST_ENV` set to the release. ``stream`` copies the guest's output to this
    process's stdout/stderr as it comes. ``kvm`` forces the accelerator; by default
    :func:`accelerator` decides. ``console_log`` writes the guest kernel's console (boot
    messages, oopses, panics) and the command's stderr to that file instead of stderr;
    ``stdout_log`` writes the command's stdout to that file as it comes, instead of stdout.

    Raises :class:`~libbpf_py.errors.NotSupported` when the host lacks a tool (naming the
    package to install) and :class:`GuestTimeout` after ``timeout`` seconds, having
    stopped qemu. On KeyboardInterrupt qemu is stopped too.
    """
    require_vm_tools()
    where = Path(cwd if cwd is not None else os.getcwd()).resolve()
    shared = [Path(d) for d in rw_dirs] if rw_dirs is not None else [where]
    if kvm is None:
        accel, reason = accelerator(kernel)
        use_kvm = accel == "kvm"
        if not use_kvm:
            print(
                f"libbpf_py.vm: {kernel.release} under TCG (software emulation): {reason}",
                file=sys.stderr,
                flush=True,
            )
    else:
        use_kvm = kvm
    run = _boot(
        kernel,
        argv,
        cwd=where,
        env=env or {},
        timeout=timeout,
        kvm=use_kvm,
        stream=stream,
        rw_dirs=shared,
        cpus=cpus,
        memory=memory,
        console_log=Path(console_log) if console_log is not None else None,
        stdout_log=Path(stdout_log) if stdout_log is not None else None,
    )
    narrate(
        f"vng --run {kernel.vmlinuz.name} --exec {shlex.join(argv)}",
        f"exit {run.returncode} in {run.seconds:.1f} s ({run.accelerator})",
        phase="kernel",
    )
    return run
