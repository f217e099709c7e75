"""Several guest kernels at once: :func:`run_guests` runs :func:`~libbpf_py.vm.run_in_kernel`
jobs side by side and shows each one's output whole, when it ends.

A guest under TCG keeps one host core busy for its whole life (its vCPUs share one host
thread), so a machine with N cores runs N guests in about the time of one.
:func:`default_jobs` says how many fit here. With one job at a time the guests run one
after another and their output streams as it comes, as :func:`~libbpf_py.vm.run_in_kernel`
alone does.
"""

from __future__ import annotations

import os
import sys
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from libbpf_py.kernels import KernelPackage
from libbpf_py.vm import GuestRun, accelerator, run_in_kernel

__all__ = ["GuestJob", "default_jobs", "run_guests"]

# What one guest may hold: run_in_kernel's default memory, plus qemu's own.
_GUEST_MEMORY_BYTES = (4 + 1) << 30


@dataclass(frozen=True)
class GuestJob:
    """One command for one guest kernel: what :func:`run_guests` runs.

    ``title`` heads the job's output; ``console_log`` takes the guest's console and
    stderr (see :func:`~libbpf_py.vm.run_in_kernel`); ``stdout_log``, when several jobs
    run at once, receives the job's output as it comes, so it can be followed with
    ``tail -f`` before the job ends.
    """

    kernel: KernelPackage
    argv: Sequence[str]
    title: str
    console_log: Path | None = None
    stdout_log: Path | None = None


def default_jobs(count: int) -> int:
    """How many of ``count`` guests to run at once here: one per core, as memory allows."""
    cores = len(os.sched_getaffinity(0))
    fits = cores
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    fits = int(line.split()[1]) * 1024 // _GUEST_MEMORY_BYTES
                    break
    except (OSError, ValueError, IndexError):
        pass
    return max(1, min(count, cores, fits))


def run_guests(
    jobs: Sequence[GuestJob],
    *,
    parallel: int,
    cwd: Path,
    rw_dirs: Sequence[Path],
    timeout: float,
) -> list[GuestRun | Exception]:
    """Run every job, ``parallel`` at a time, and return what each did, in job order.

    A job whose guest could not run (a timeout, a missing tool) gives its exception in
    place of a :class:`~libbpf_py.vm.GuestRun`; the other jobs go on. With ``parallel``
    1 the jobs run in order, each one's output streaming under its title. Otherwise each
    job prints one line when it starts, and its whole output under its title when it
    ends, so outputs never interleave.
    """
    results: list[GuestRun | Exception | None] = [None] * len(jobs)
    if parallel <= 1 or len(jobs) <= 1:
        for i, job in enumerate(jobs):
            _say(f"{'=' * 24} {job.title} {'=' * 24}")
            results[i] = _run_one(job, cwd, rw_dirs, timeout, stream=True)
        return _done(results)
    if jobs:
        # Once, before the threads: the first call may boot a KVM probe guest, and two
        # threads asking at once would each boot one.
        accelerator(jobs[0].kernel)
    lock = threading.Lock()
    slots = threading.BoundedSemaphore(parallel)

    def work(i: int, job: GuestJob) -> None:
        try:
            where = f"; its output goes to {job.stdout_log}" if job.stdout_log else ""
            with lock:
                _say(f"libbpf_py: {job.title}: started{where}")
            results[i] = _run_one(job, cwd, rw_dirs, timeout, stream=False)
            with lock:
                _show(job, results[i])
        finally:
            slots.release()

    # Daemon threads: on Ctrl-C the process exits without waiting for them, and each
    # guest's watchdog (PR_SET_PDEATHSIG) then stops its qemu.
    threads = []
    for i, job in enumerate(jobs):
        slots.acquire()
        t = threading.Thread(target=work, args=(i, job), name=job.title, daemon=True)
        t.start()
        threads.append(t)
    for t in threads:
        t.join()
    return _done(results)


def _done(results: list[GuestRun | Exception | None]) -> list[GuestRun | Exception]:
    return [r if r is not None else RuntimeError("the guest's job did not run") for r in results]


def _run_one(
    job: GuestJob, cwd: Path, rw_dirs: Sequence[Path], timeout: float, *, stream: bool
) -> GuestRun | Exception:
    try:
        return run_in_kernel(
            job.kernel,
            job.argv,
            cwd=cwd,
            rw_dirs=rw_dirs,
            timeout=timeout,
            stream=stream,
            console_log=job.console_log,
            stdout_log=None if stream else job.stdout_log,
        )
    except Exception as e:  # a guest that cannot run fails its own job only
        return e


def _show(job: GuestJob, result: GuestRun | Exception | None) -> None:
    _say(f"{'=' * 24} {job.title} {'=' * 24}")
    if isinstance(result, GuestRun):
        sys.stdout.write(result.stdout)
        if job.console_log is None:
            sys.stdout.write(result.stderr)
        _say(f"libbpf_py: {job.title}: exit {result.returncode} in {result.seconds:.0f} s")
    else:
        _say(f"libbpf_py: {job.title}: {type(result).__name__}: {result}")


def _say(line: str) -> None:
    print(line, flush=True)
