"""``demo``, ``tutorial`` and ``trace``: the guide's lifecycle, straight or explained."""

from __future__ import annotations

import argparse
import os
import select
import sys
import time
from typing import Any

from libbpf_py.cli._common import ExitCode, emit_json, wants_json
from libbpf_py.errors import BpfError

__all__ = ["add_demo", "add_trace", "add_tutorial"]


class TutorialStopped(BpfError):
    """The learner quit the tutorial between two steps."""

    exit_code = ExitCode.FAILED


def _demo(args: argparse.Namespace) -> int:
    from libbpf_py.demo.walkthrough import run_walkthrough

    if args.kernel:
        return _demo_in_kernels(args)
    return ExitCode.OK if run_walkthrough().ok else ExitCode.FAILED


def _demo_in_kernels(args: argparse.Namespace) -> int:
    """Rerun this demo inside each Debian kernel of ``--kernel`` (libbpf_py.vm)."""
    from pathlib import Path

    from libbpf_py.guests import GuestJob, default_jobs, run_guests
    from libbpf_py.kernels import fetch_kernel
    from libbpf_py.vm import GuestRun

    flags = [f"--{f}" for f in ("explain", "debug") if getattr(args, f, False)]
    kernels = [fetch_kernel(v.strip()) for arg in args.kernel for v in arg.split(",") if v]
    argv = [sys.executable, "-m", "libbpf_py", "demo", *flags]
    jobs = [GuestJob(k, argv, f"demo in guest kernel {k.release}") for k in kernels]
    cwd = Path.cwd()
    results = run_guests(
        jobs, parallel=args.jobs or default_jobs(len(jobs)), cwd=cwd, rw_dirs=[cwd], timeout=3600
    )
    for job, r in zip(jobs, results, strict=True):
        if isinstance(r, GuestRun):
            verdict = "passed" if r.returncode == 0 else f"FAILED (exit {r.returncode})"
            print(f"demo in {r.kernel.release} ({r.accelerator}): {verdict} in {r.seconds:.0f} s")
        else:
            print(f"demo in {job.kernel.release}: FAILED ({type(r).__name__}: {r})")
    ok = all(isinstance(r, GuestRun) and r.returncode == 0 for r in results)
    return ExitCode.OK if ok else ExitCode.FAILED


def _ask(next_title: str) -> None:
    print(f"\n-- next: {next_title}. Press Enter to go on, q to stop --", flush=True)
    line = sys.stdin.readline()  # end of input (no terminal) means go on
    if line.strip().lower() in ("q", "quit"):
        raise TutorialStopped("tutorial stopped by request; everything it made was removed")


def _tutorial(args: argparse.Namespace) -> int:
    from libbpf_py.demo.walkthrough import run_walkthrough

    print(
        "The lifecycle of an eBPF program, step by step: source, compiled object, open, "
        "load, attach, execute, tear down.\nEach step says what it will do, which libbpf "
        "calls it makes, and what the kernel answers (lines marked '>')."
    )
    if not args.yes:
        print("Between steps the tutorial waits for Enter (run with --yes to go straight through).")
    result = run_walkthrough(pause=None if args.yes else _ask, teach=True)
    return ExitCode.OK if result.ok else ExitCode.FAILED


def add_demo(sub: Any, common: argparse.ArgumentParser) -> None:
    """Register ``demo``."""
    p = sub.add_parser(
        "demo",
        parents=[common],
        help="the XDP packet filter end to end",
        description="Compile, inspect, load, attach, send real packets, "
        "block, count, detach and unload, in a throwaway network namespace.",
    )
    p.add_argument(
        "--kernel",
        action="append",
        default=[],
        metavar="VERSION",
        help="run it inside this Debian kernel instead (6.1, 6.12, 7.2, a release; "
        "repeat or comma-separate), with virtme-ng + qemu",
    )
    p.add_argument(
        "--jobs",
        type=int,
        default=0,
        metavar="N",
        help="with --kernel: run up to N guests at once (default: one per core, as "
        "memory allows; 1: one after another, output streamed)",
    )
    p.set_defaults(func=_demo, explain_by_default=True)


def add_tutorial(sub: Any, common: argparse.ArgumentParser) -> None:
    """Register ``tutorial``."""
    p = sub.add_parser(
        "tutorial",
        parents=[common],
        help="the demo, pausing to explain each phase",
        description="The same walkthrough as 'demo', explained: "
        "it pauses before each phase and says what libbpf and the kernel do.",
    )
    p.add_argument("-y", "--yes", action="store_true", help="do not pause between steps")
    p.set_defaults(func=_tutorial, explain_by_default=True)


def _trace(args: argparse.Namespace) -> int:
    from libbpf_py.mounts import ensure_tracefs

    root = ensure_tracefs()
    pipe = os.path.join(str(root), "trace_pipe")
    if not os.path.exists(pipe):
        from libbpf_py.errors import NotFound

        raise NotFound(f"no trace_pipe at {pipe}: is tracefs mounted?")
    fd = os.open(pipe, os.O_RDONLY | os.O_NONBLOCK)
    deadline = time.monotonic() + args.duration if args.duration else None
    seen, buffer = 0, b""
    try:
        while args.lines is None or seen < args.lines:
            left = None if deadline is None else deadline - time.monotonic()
            if left is not None and left <= 0:
                break
            ready, _, _ = select.select([fd], [], [], min(left, 0.5) if left else 0.5)
            if not ready:
                continue
            try:
                chunk = os.read(fd, 65536)
            except BlockingIOError:
                continue
            buffer += chunk
            *lines, buffer = buffer.split(b"\n")
            for raw in lines:
                line = raw.decode(errors="replace")
                if args.grep and args.grep not in line:
                    continue
                seen += 1
                _print_trace(args, line)
                if args.lines is not None and seen >= args.lines:
                    break
    finally:
        os.close(fd)
    return ExitCode.OK


def _print_trace(args: argparse.Namespace, line: str) -> None:
    # "  task-123  [001] d.s21  45.6: bpf_trace_printk: message"
    head, _, message = line.partition(": bpf_trace_printk: ")
    if not message:
        head, message = line, ""
    fields = head.split()
    task = fields[0] if fields else ""
    if wants_json(args):
        emit_json({"task": task, "message": message or line.strip(), "line": line})
    else:
        print(f"{task:24} {message or line.strip()}", flush=True)


def add_trace(sub: Any, common: argparse.ArgumentParser) -> None:
    """Register ``trace``."""
    p = sub.add_parser(
        "trace",
        parents=[common],
        help="print what programs write with bpf_printk",
        description="Reads the kernel's trace_pipe (tracefs). "
        "Reading consumes the lines, as 'bpftool prog tracelog' does.",
    )
    p.add_argument("--lines", type=int, metavar="N", help="stop after N lines")
    p.add_argument("--duration", type=float, metavar="SECONDS", help="stop after this long")
    p.add_argument("--grep", metavar="TEXT", help="only lines containing TEXT")
    p.add_argument("--json", action="store_true", help="one JSON object per line")
    p.set_defaults(func=_trace)
