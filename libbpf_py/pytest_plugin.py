"""The pytest plugin of libbpf_py: kernel-program tests in a few lines, leaving nothing behind.

Installing libbpf_py activates it (entry point ``pytest11``). It offers:

Fixtures
    ``netns_pair``    two network namespaces joined by a veth pair (:class:`NetnsPair`)
    ``bpf_compile``   ``bpf_compile("prog.bpf.c")`` CO-RE compiles, cached per session
    ``bpf_object``    ``bpf_object("prog.bpf.c")`` compiles, opens and loads; closed after
    ``bpf_leak_check`` fails the test that leaves fds, pins or namespaces behind
    ``assert_verdict`` the :func:`assert_verdict` helper

Markers
    ``requires_root``                    skip, naming the missing capabilities
    ``requires_kernel_feature(*names)``  skip, naming the probed reason
    ``bpf_leak_check``                   run the leak check for this test

The ini option ``bpf_leak_check = true`` (or ``--bpf-leak-check``) checks every test.

Other kernels
    ``--bpf-kernel 6.1,6.12`` runs the same pytest invocation inside each Debian kernel
    (:mod:`libbpf_py.kernels`, :mod:`libbpf_py.vm`) instead of on this machine's kernel,
    and reports per kernel. ``--bpf-kernel-jobs N`` runs N guests at once (by default one
    per core, as memory allows), each with a share of the test files
    (``--bpf-shard I/N``), so the cores are kept busy to the end. The host session
    collects (so mistakes show at once) but runs nothing itself; inside a guest
    ``LIBBPF_PY_GUEST`` holds the release and ``--bpf-kernel`` is ignored.
"""

from __future__ import annotations

import contextlib
import gc
import hashlib
import os
import shutil
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from libbpf_py.object.loaded import LoadedObject
    from libbpf_py.program._program import Program, TestRunResult
    from libbpf_py.testing.netns import NetnsPair

__all__ = [
    "LeakSnapshot",
    "assert_verdict",
    "capability_problem",
    "find_leaks",
    "take_snapshot",
    "verdict_name",
]

from libbpf_py.testing.netns import capability_problem

# -- root and kernel features ---------------------------------------------------------------


def _feature_problem(feature: str) -> str | None:
    from libbpf_py import features  # written alongside; imported only when a test asks

    return features.check(feature)


# -- leak check ------------------------------------------------------------------------------


@dataclass(frozen=True)
class LeakSnapshot:
    """What this process holds at one moment: fds (described), bpffs pins, namespaces."""

    fds: dict[int, str]
    pins: frozenset[str]
    namespaces: frozenset[str]
    interfaces: frozenset[str]


def _describe_fd(fd: int) -> str | None:
    try:
        target = os.readlink(f"/proc/self/fd/{fd}")
    except OSError:
        return None  # the listing's own fd, closed since
    if target.startswith("anon_inode:bpf"):
        try:
            with open(f"/proc/self/fdinfo/{fd}") as f:
                fields = dict(line.split(":", 1) for line in f if ":" in line)
        except OSError:
            return target
        for key in ("link_id", "prog_id", "map_id"):
            if key in fields:
                kind = key.removesuffix("_id")
                extra = fields.get("prog_type") or fields.get("map_type") or ""
                return (
                    f"{target} ({kind} id {fields[key].strip()}"
                    f"{', type ' + extra.strip() if extra else ''})"
                )
    return target


def _pins(root: Path = Path("/sys/fs/bpf")) -> frozenset[str]:
    found: set[str] = set()
    if not os.path.ismount(root):
        return frozenset()
    for dirpath, dirnames, filenames in os.walk(root, onerror=lambda _e: None):
        found.update(os.path.join(dirpath, n) for n in filenames)
        # iproute2 keeps its own pinned state in ip/ and tc/; not the test's doing.
        if dirpath == str(root):
            dirnames[:] = [d for d in dirnames if d not in ("ip", "tc", "xdp")]
    return frozenset(found)


def take_snapshot() -> LeakSnapshot:
    """Record this process's fds, the pins under /sys/fs/bpf, and libbpf_py namespaces."""
    from libbpf_py.testing.netns import PREFIX

    described = {int(fd): _describe_fd(int(fd)) for fd in os.listdir("/proc/self/fd")}
    fds = {fd: what for fd, what in described.items() if what is not None}
    mine = f"{PREFIX}-{os.getpid()}-"
    try:
        namespaces = frozenset(n for n in os.listdir("/run/netns") if n.startswith(mine))
    except OSError:
        namespaces = frozenset()
    dev_prefix = f"{PREFIX}h{os.getpid()}x"
    try:
        interfaces = frozenset(
            n for n in os.listdir("/sys/class/net") if n.startswith(dev_prefix[:15])
        )
    except OSError:
        interfaces = frozenset()
    return LeakSnapshot(fds, _pins(), namespaces, interfaces)


def find_leaks(before: LeakSnapshot, after: LeakSnapshot) -> list[str]:
    """What ``after`` holds that ``before`` did not, one readable line per thing."""
    leaks = [
        f"fd {fd}: {what}"
        for fd, what in sorted(after.fds.items())
        if fd not in before.fds or before.fds[fd] != what
    ]
    leaks += [f"pin {p}" for p in sorted(after.pins - before.pins)]
    leaks += [f"network namespace {n}" for n in sorted(after.namespaces - before.namespaces)]
    leaks += [f"interface {n}" for n in sorted(after.interfaces - before.interfaces)]
    return leaks


def _settled_leaks(before: LeakSnapshot) -> list[str]:
    # Namespaces and pins are removed by other processes (ip) or by deferred kernel work;
    # give them a moment before calling them leaked.
    import time

    leaks: list[str] = []
    for _ in range(20):
        gc.collect()
        leaks = find_leaks(before, take_snapshot())
        if not leaks:
            return leaks
        time.sleep(0.025)
    return leaks


@pytest.fixture
def bpf_leak_check(request: pytest.FixtureRequest) -> Iterator[None]:
    """Fail the test if it leaves fds (BPF programs, maps, links), pins or namespaces."""
    gc.collect()
    before = take_snapshot()
    yield
    leaks = _settled_leaks(before)
    if leaks:
        pytest.fail(
            f"{request.node.nodeid} leaked {len(leaks)} resource(s):\n  " + "\n  ".join(leaks),
            pytrace=False,
        )


@pytest.fixture(autouse=True)
def _libbpf_py_leak_check_auto(request: pytest.FixtureRequest) -> None:
    # Set up before every other function fixture, so its check runs after their teardown.
    config = request.config
    if (
        "bpf_leak_check" in request.fixturenames
        or "no_fd_leak" in request.fixturenames
        or config.getoption("bpf_leak_check")
        or config.getini("bpf_leak_check")
        or request.node.get_closest_marker("bpf_leak_check") is not None
    ):
        request.getfixturevalue("bpf_leak_check")


# -- networks, compiling, loading ------------------------------------------------------------


@pytest.fixture
def netns_pair() -> Iterator[NetnsPair]:
    """Two fresh network namespaces joined by a veth pair; removed after the test."""
    problem = capability_problem()
    if problem:
        pytest.skip(f"netns_pair {problem}")
    from libbpf_py.testing.netns import NetnsPair

    with NetnsPair() as pair:
        yield pair


@pytest.fixture(scope="session")
def _libbpf_py_compile_cache(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return {"": tmp_path_factory.mktemp("bpf_compile")}


@pytest.fixture
def bpf_compile(
    request: pytest.FixtureRequest, _libbpf_py_compile_cache: dict[str, Path]
) -> Callable[..., Path]:
    """``bpf_compile(source, cflags=(), include_dirs=())`` → the compiled object's path.

    ``source`` is a path (relative to the test file) or the C text itself. Results are
    cached for the session by source text and flags.
    """
    from libbpf_py import compile

    base = request.path.parent
    out_dir = _libbpf_py_compile_cache[""]

    def compile_it(
        source: str | os.PathLike[str],
        *,
        cflags: tuple[str, ...] | list[str] = (),
        include_dirs: tuple[str, ...] | list[str] = (),
    ) -> Path:
        if isinstance(source, str) and "\n" in source:
            text, name = source, "inline"
        else:
            path = Path(source)
            path = path if path.is_absolute() else base / path
            text, name = path.read_text() if path.exists() else "", path.name
            include_dirs = (str(path.parent), *include_dirs)
            if not text:
                from libbpf_py.errors import NotFound

                raise NotFound(f"no BPF source file at {path}")
        key = hashlib.sha256(repr((text, tuple(cflags), tuple(include_dirs))).encode())
        digest = key.hexdigest()[:16]
        cached = _libbpf_py_compile_cache.get(digest)
        if cached is not None and cached.exists():
            return cached
        stem = name.removesuffix(".c").removesuffix(".bpf")
        src = out_dir / f"{stem}-{digest}.bpf.c"
        src.write_text(text)
        out = compile(
            src,
            out_dir / f"{stem}-{digest}.bpf.o",
            cflags=list(cflags),
            include_dirs=list(include_dirs),
        )
        _libbpf_py_compile_cache[digest] = out
        return out

    return compile_it


@pytest.fixture
def bpf_object(bpf_compile: Callable[..., Path]) -> Iterator[Callable[..., LoadedObject]]:
    """``bpf_object(path or source, before_load=None, **open_options)`` → a LoadedObject.

    C sources are compiled with ``bpf_compile``; objects are opened, given to
    ``before_load(open_object)`` if set, loaded, and closed after the test.
    """
    problem = capability_problem()
    if problem:
        pytest.skip(f"bpf_object {problem}")
    import libbpf_py

    made: list[LoadedObject] = []

    def load(
        source: str | os.PathLike[str],
        *,
        before_load: Callable[[Any], None] | None = None,
        **open_options: Any,
    ) -> LoadedObject:
        text = str(source)
        path = Path(text) if "\n" not in text and text.endswith(".o") else bpf_compile(source)
        with libbpf_py.ObjectFile(path).open(**open_options) as opened:
            if before_load is not None:
                before_load(opened)
            loaded = opened.load()
        made.append(loaded)
        return loaded

    yield load
    while made:
        made.pop().close()


# -- verdicts --------------------------------------------------------------------------------


def verdict_name(program: Program, retval: int) -> str:
    """The name of ``retval`` for ``program``'s type (``XDP_DROP``), else the number."""
    from libbpf_py.testing.packets import verdict_name as name_of

    return name_of(program.type.name, retval)


def assert_verdict(
    program: Program, packet: object, verdict: str | int, *, repeat: int = 1
) -> TestRunResult:
    """Run ``program`` on ``packet`` (BPF_PROG_TEST_RUN) and assert it returns ``verdict``.

    ``verdict`` is a name (``"XDP_DROP"``, ``"drop"``, ``"TC_ACT_SHOT"``) or a number;
    ``packet`` is bytes or a scapy packet. On failure the message names both verdicts and
    decodes the packet. Returns the run's result for further checks.
    """
    from libbpf_py.testing.packets import as_bytes, describe, verdict_value

    data = as_bytes(packet)
    expected = verdict_value(program.type.name, verdict)
    result = program.test_run(data, repeat=repeat)
    if result.retval != expected:
        __tracebackhide__ = True
        raise AssertionError(
            f"{program.type.label} program {program.name!r} returned "
            f"{verdict_name(program, result.retval)} ({result.retval}), expected "
            f"{verdict_name(program, expected)} ({expected})\n"
            f"  packet: {describe(data)}\n  bytes:  {data.hex()}"
        )
    return result


@pytest.fixture(name="assert_verdict")
def _assert_verdict_fixture() -> Callable[..., TestRunResult]:
    """The :func:`assert_verdict` helper, as a fixture for tests that import nothing."""
    return assert_verdict


# -- hooks -----------------------------------------------------------------------------------


def pytest_addoption(parser: pytest.Parser) -> None:
    """Add ``--bpf-leak-check`` and the ``bpf_leak_check`` ini option."""
    group = parser.getgroup("libbpf_py", "libbpf_py: BPF programs on the real kernel")
    group.addoption(
        "--bpf-leak-check",
        action="store_true",
        dest="bpf_leak_check",
        help="fail every test that leaks fds, bpffs pins or network namespaces",
    )
    parser.addini(
        "bpf_leak_check",
        type="bool",
        default=False,
        help="run libbpf_py's leak check on every test",
    )
    group.addoption(
        "--bpf-kernel",
        action="append",
        dest="bpf_kernel",
        default=[],
        metavar="VERSIONS",
        help="run these tests inside each Debian kernel instead (comma list or "
        "repeated: 6.1, 6.12, 7.2 or an exact release); needs root, apt, "
        "qemu and libbpf_py[vm]",
    )
    group.addoption(
        "--bpf-kernel-timeout",
        type=float,
        dest="bpf_kernel_timeout",
        default=7200.0,
        metavar="SECONDS",
        help="stop a --bpf-kernel guest after this long (default 7200)",
    )
    group.addoption(
        "--bpf-kernel-jobs",
        type=int,
        dest="bpf_kernel_jobs",
        default=0,
        metavar="N",
        help="run up to N --bpf-kernel guests at once, the test files shared out among "
        "them (default: one per core, as memory allows; 1: one after another, output "
        "streamed)",
    )
    group.addoption(
        "--bpf-shard",
        dest="bpf_shard",
        default=None,
        metavar="I/N",
        help="run only part I of N (1 <= I <= N) of the collected tests, whole files at a "
        "time, balanced by test count (or by --bpf-shard-durations); what "
        "--bpf-kernel-jobs gives each guest",
    )
    group.addoption(
        "--bpf-shard-durations",
        dest="bpf_shard_durations",
        default=None,
        metavar="FILE",
        help="balance --bpf-shard parts by these seconds per test file (JSON: path from "
        "the rootdir -> seconds, as a --bpf-kernel session writes to "
        "<cache>/vm/durations.json)",
    )


def pytest_configure(config: pytest.Config) -> None:
    """Register the markers."""
    config.addinivalue_line(
        "markers",
        "requires_root: skip unless this process can load BPF "
        "programs (the skip names the missing capabilities)",
    )
    config.addinivalue_line(
        "markers",
        "requires_kernel_feature(*features): skip unless the "
        "kernel has each feature (libbpf_py.features probes)",
    )
    config.addinivalue_line(
        "markers", "bpf_leak_check: fail the test if it leaks fds, pins or network namespaces"
    )
    versions = [
        v.strip()
        for arg in config.getoption("bpf_kernel", None) or []
        for v in arg.split(",")
        if v.strip()
    ]
    if versions:
        config.pluginmanager.register(KernelMatrix(config, versions), "libbpf_py-kernels")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Keep only this ``--bpf-shard``'s test files."""
    shard = config.getoption("bpf_shard", None)
    if not shard:
        return
    try:
        index, count = (int(x) for x in str(shard).split("/"))
        if not 1 <= index <= count:
            raise ValueError
    except ValueError:
        raise pytest.UsageError(f"--bpf-shard {shard}: expected I/N with 1 <= I <= N") from None
    durations: dict[str, float] = {}
    if config.getoption("bpf_shard_durations", None):
        where = Path(config.getoption("bpf_shard_durations"))
        try:
            durations = {str(config.rootpath / k): float(v) for k, v in _load_json(where).items()}
        except (OSError, ValueError, AttributeError) as e:
            raise pytest.UsageError(f"--bpf-shard-durations {where}: {e}") from None
    mine = shard_files(items, count, durations)[index - 1]
    keep = [item for item in items if str(item.path) in mine]
    dropped = [item for item in items if str(item.path) not in mine]
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = keep


def shard_files(
    items: list[pytest.Item], count: int, durations: dict[str, float] | None = None
) -> list[set[str]]:
    """Share the items' files out into ``count`` parts of about the same weight each.

    A file weighs its seconds in ``durations`` (by absolute path), or else its number of
    tests times the mean seconds per test of the files ``durations`` knows (one second
    without any). Whole files, so module fixtures run once; the heaviest first, each to
    the lightest part so far. The same collection always gives the same parts.
    """
    tests: dict[str, int] = {}
    for item in items:
        tests[str(item.path)] = tests.get(str(item.path), 0) + 1
    known = {path: durations[path] for path in tests if durations and path in durations}
    per_test = sum(known.values()) / sum(tests[p] for p in known) if known else 1.0
    weights = {path: known.get(path, n * per_test) for path, n in tests.items()}
    parts: list[set[str]] = [set() for _ in range(count)]
    load = [0.0] * count
    for path, weight in sorted(weights.items(), key=lambda kv: (-kv[1], kv[0])):
        least = load.index(min(load))
        parts[least].add(path)
        load[least] += weight
    return parts


def _load_json(path: Path) -> dict[str, Any]:
    import json

    data = json.loads(path.read_text())
    if not isinstance(data, dict):
        raise ValueError("expected a JSON object of path -> seconds")
    return data


def pytest_runtest_setup(item: pytest.Item) -> None:
    """Skip tests whose ``requires_root`` or ``requires_kernel_feature`` is not met."""
    if item.get_closest_marker("requires_root") is not None:
        problem = capability_problem()
        if problem:
            pytest.skip(problem)
    for marker in item.iter_markers("requires_kernel_feature"):
        for feature in marker.args:
            reason = _feature_problem(str(feature))
            if reason:
                pytest.skip(f"kernel feature {feature}: {reason}")


# -- other kernels: --bpf-kernel ---------------------------------------------------------------


@dataclass
class KernelOutcome:
    """How one guest kernel's run of the session went, read from its JUnit XML."""

    release: str
    accelerator: str = ""
    passed: int = 0
    failed: int = 0
    skipped: int = 0
    errors: int = 0
    seconds: float = 0.0
    exit_code: int | None = None
    problem: str = ""
    guests: int = 1

    @property
    def ok(self) -> bool:
        """True if the guest ran and nothing failed."""
        return (
            not self.problem and not self.failed and not self.errors and self.exit_code in (0, 5)
        )  # 5: no tests collected, as pytest itself counts it

    def line(self) -> str:
        """One summary line: the release, the counts and the wall time."""
        counts = (
            f"{self.passed} passed, {self.failed} failed, {self.skipped} skipped, "
            f"{self.errors} errors"
        )
        extra = f"; {self.problem}" if self.problem else ""
        guests = f" (in all, over {self.guests} guests)" if self.guests > 1 else ""
        return (
            f"{self.release} ({self.accelerator or '?'}): {counts} in "
            f"{self.seconds:.1f} s{guests}, pytest exit {self.exit_code}{extra}"
        )

    def add(self, returncode: int) -> None:
        """Count one more guest's pytest exit: the worst one stands for the kernel."""
        now = self.exit_code
        if now is None or now == 5 or (now == 0 and returncode not in (0, 5)):
            self.exit_code = returncode


_HOST_ONLY_OPTIONS = ("--bpf-kernel", "--bpf-kernel-timeout", "--bpf-kernel-jobs", "--bpf-shard")


def _strip_kernel_args(args: list[str]) -> list[str]:
    out, skip = [], False
    for arg in args:
        if skip:
            skip = False
        elif arg in _HOST_ONLY_OPTIONS:
            skip = True
        elif not arg.startswith(tuple(f"{o}=" for o in _HOST_ONLY_OPTIONS)):
            out.append(arg)
    return out


def _file_durations(path: Path, rootdir: Path) -> dict[str, float]:
    """Seconds per test file (relative to ``rootdir``) in a JUnit XML file of pytest's."""
    import xml.etree.ElementTree as ET

    found: dict[str, float] = {}
    for case in ET.parse(path).getroot().iter("testcase"):
        # classname is the module's dotted path, then any test classes: the longest
        # prefix that is a file names the file.
        parts = case.get("classname", "").split(".")
        for end in range(len(parts), 0, -1):
            rel = "/".join(parts[:end]) + ".py"
            if (rootdir / rel).is_file():
                found[rel] = found.get(rel, 0.0) + float(case.get("time", 0) or 0)
                break
    return found


def _read_junit(path: Path, outcome: KernelOutcome) -> None:
    import xml.etree.ElementTree as ET

    root = ET.parse(path).getroot()
    for suite in [root] if root.tag == "testsuite" else root.iter("testsuite"):
        tests = int(suite.get("tests", 0))
        failed, errors = int(suite.get("failures", 0)), int(suite.get("errors", 0))
        skipped = int(suite.get("skipped", 0))
        outcome.failed += failed
        outcome.errors += errors
        outcome.skipped += skipped
        outcome.passed += tests - failed - errors - skipped


def pytest_report_header(config: pytest.Config) -> str | None:
    """Inside a ``--bpf-kernel`` guest, name the kernel the tests run on."""
    from libbpf_py.vm import guest_release

    release = guest_release()
    return f"libbpf_py: inside guest kernel {release}" if release else None


def _write_durations(per_kernel: dict[str, dict[str, float]], where: Path) -> Path:
    """Keep each test file's mean seconds over the kernels, for ``--bpf-shard-durations``."""
    import json

    files = sorted({rel for spent in per_kernel.values() for rel in spent})
    mean = {
        rel: round(
            sum(spent.get(rel, 0.0) for spent in per_kernel.values())
            / sum(1 for spent in per_kernel.values() if rel in spent),
            1,
        )
        for rel in files
    }
    where.write_text(json.dumps(mean, indent=1) + "\n")
    return where


class KernelMatrix:
    """The ``--bpf-kernel`` plugin: run the session in each guest kernel, report per kernel."""

    def __init__(self, config: pytest.Config, versions: list[str]) -> None:
        self.config = config
        self.versions = versions
        self.outcomes: list[KernelOutcome] = []
        self.durations: Path | None = None
        from libbpf_py.vm import guest_release

        self.inside = guest_release()

    @pytest.hookimpl(trylast=True)
    def pytest_configure(self, config: pytest.Config) -> None:
        """Check the host can boot guests and fetch the kernels: one clear line if not."""
        if self.inside:
            return
        from libbpf_py.errors import BpfError
        from libbpf_py.kernels import fetch_kernel
        from libbpf_py.vm import require_vm_tools

        try:
            require_vm_tools()
            self.kernels = [fetch_kernel(v) for v in self.versions]
        except BpfError as e:
            raise pytest.UsageError(f"--bpf-kernel: {e}") from None

    def pytest_report_header(self, config: pytest.Config) -> str:
        """Say where the tests run."""
        if self.inside:
            return "libbpf_py: --bpf-kernel ignored inside a guest"
        return (
            "libbpf_py: running in guest kernels "
            + ", ".join(k.release for k in self.kernels)
            + " (virtme-ng + qemu), "
            "not on this machine's kernel"
        )

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtestloop(self, session: pytest.Session) -> bool | None:
        """Run the session in the guests instead of here, up to ``--bpf-kernel-jobs`` at once."""
        if self.inside:
            return None
        if session.config.option.collectonly:
            return None
        import math
        import tempfile

        from libbpf_py.guests import GuestJob, default_jobs, run_guests
        from libbpf_py.vmlinux import cache_dir

        params = self.config.invocation_params
        cwd = Path(params.dir)
        # Guests share the working directory: pytest's cache there is the host's alone.
        args = [*_strip_kernel_args([str(a) for a in params.args]), "-p", "no:cacheprovider"]
        if self.config.get_terminal_writer().hasmarkup:
            args.append("--color=yes")
        files = len({str(item.path) for item in session.items}) or 1
        parallel = self.config.option.bpf_kernel_jobs or default_jobs(len(self.kernels) * files)
        # Enough parts per kernel that every round of guests fills every job slot.
        shards = (
            1 if parallel <= 1 else min(files, parallel // math.gcd(len(self.kernels), parallel))
        )
        cache = cache_dir()
        results_root = cache / "vm" / "results"
        results_root.mkdir(parents=True, exist_ok=True)
        results = Path(tempfile.mkdtemp(dir=results_root, prefix="session-"))
        jobs, junits = [], []
        for kernel in self.kernels:
            outcome = KernelOutcome(kernel.release, guests=shards)
            self.outcomes.append(outcome)
            for part in range(1, shards + 1):
                name = kernel.release + (f".part{part}" if shards > 1 else "")
                junit = results / f"{name}.xml"
                shard = [f"--bpf-shard={part}/{shards}"] if shards > 1 else []
                jobs.append(
                    GuestJob(
                        kernel,
                        [sys.executable, "-m", "pytest", *args, *shard, f"--junitxml={junit}"],
                        f"guest kernel {kernel.release}"
                        + (f", part {part} of {shards}" if shards > 1 else ""),
                        console_log=cache / "vm" / f"{name}.console.log",
                        stdout_log=cache / "vm" / f"{name}.out.log",
                    )
                )
                junits.append((outcome, junit))
        capman = self.config.pluginmanager.getplugin("capturemanager")
        try:
            with capman.global_and_fixture_disabled() if capman else _nothing():
                runs = run_guests(
                    jobs,
                    parallel=parallel,
                    cwd=cwd,
                    rw_dirs=[cwd, cache, results],
                    timeout=self.config.option.bpf_kernel_timeout,
                )
            per_kernel: dict[str, dict[str, float]] = {}
            for job, run, (outcome, junit) in zip(jobs, runs, junits, strict=True):
                if junit.exists():
                    spent = per_kernel.setdefault(outcome.release, {})
                    for rel, seconds in _file_durations(junit, self.config.rootpath).items():
                        spent[rel] = spent.get(rel, 0.0) + seconds
                if isinstance(run, Exception):
                    outcome.problem = f"{type(run).__name__}: {run}"
                    continue
                outcome.accelerator = run.accelerator
                outcome.seconds += run.seconds
                outcome.add(run.returncode)
                if junit.exists():
                    _read_junit(junit, outcome)
                elif not outcome.problem:
                    outcome.problem = (
                        "the guest wrote no results (crashed or did not boot); "
                        f"its console and stderr are in {job.console_log}"
                    )
            if per_kernel:
                self.durations = _write_durations(per_kernel, cache / "vm" / "durations.json")
        finally:
            shutil.rmtree(results, ignore_errors=True)
        session.testsfailed = sum(1 for o in self.outcomes if not o.ok)
        return True

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        """One line per guest kernel: passed/failed/skipped/errors and the wall time."""
        if self.inside or not self.outcomes:
            return
        terminalreporter.section("libbpf_py: results per kernel")
        for o in self.outcomes:
            terminalreporter.line(o.line(), green=o.ok, red=not o.ok)
        if self.durations is not None:
            terminalreporter.line(
                f"(seconds per test file, the mean over the kernels: {self.durations}, "
                "for --bpf-shard-durations)"
            )
        bad = [o.release for o in self.outcomes if not o.ok]
        terminalreporter.line(
            f"(this session ran its tests in {len(self.outcomes)} guest "
            "kernel(s), none on this machine's kernel"
            + (f"; failed in {', '.join(bad)})" if bad else ")"),
            red=bool(bad),
        )


@contextlib.contextmanager
def _nothing() -> Iterator[None]:
    yield
