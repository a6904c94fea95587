"""Benchmark: auditor on a synthetic fleet against the floor of a bare lxml parse (issues 15, 26).

The fleet is built from the real Exchange 2019 files in `../shared/reference/css-exchange/E19`:

- every server `EX0000`, `EX0001`, ... is a folder `<server>/IIS/` holding a copy of the 24 IIS
  web.configs in HealthChecker naming (`DefaultWebSite-Rest_web.config`, ...);
- every file ends with its own comment (`<!-- fleet EX0042 DefaultWebSite-Rest -->`), so each
  file is unique and no cache keyed by content can skip work;
- on one server in ten (`EX0000`, `EX0010`, ...) `|V1S2SAppOnly` is appended to the
  `OAuthHttpModule.Profiles` value of `DefaultWebSite-Rest_web.config`, the change the hybrid
  recipe makes, so those servers need a remediation script;
- one partner-application export (`GetPartnerApplication.xml` of the corpus) sits in `EX0000/`;
- the hybrid-trust exports `auditor collect` writes (layout (c) of `auditor/layout.py`), so that
  the audit is complete with the hybrid trust in scope: the org-wide `AuthServer.xml`,
  `AuthConfig.xml`, `SettingOverride.xml`, `HybridConfiguration.xml`,
  `IntraOrganizationConnector.xml`, `OrganizationRelationship.xml` (no object, as an organisation
  without one exports) and `OrganizationConfig.xml` once, in `EX0000/`, and in every server's
  folder its `ExSetup.xml`, `ExchangeCertificate.xml` and `VariantConfigurationOverrides.xml`
  (`TRUST_ORG` and `TRUST_SERVER`: real exports of the corpus where one is public, else the
  synthetic files of the HT rule cases, `tests/rules/trust_cases`; the build, AuthConfig and
  auth certificate are the bundled example's, current where the lab's are not, so the trust
  holds no finding). Each of these ends with its
  own comment too. The floor parses them as well.

The product's bytecode is compiled first (`compile_bytecode`), as `pip install .` compiles a
user's install: a development checkout installed with `pip install -e` under
PYTHONDONTWRITEBYTECODE would compile every module on every run. Five commands run as whole
processes on the same files, each `--repeat` times in rounds
(floor, parse, parse, audit, audit, floor, ...), so that a busy moment of a shared machine slows
one run of each command rather than every run of one:

- floor: a child Python that calls `lxml.etree.parse` on every file of the fleet, one process
  on one core (the baseline of the targets below);
- `auditor parse <fleet> --json --jobs 1` and `auditor parse <fleet> --json` (the default
  workers), output to /dev/null;
- `auditor audit <fleet> --jobs 1 ...` and `auditor audit <fleet> ...` (the whole package
  written, `--as-of 2026-11-26`); the packages of the two must be byte-identical, and so must
  that of one more audit with `--jobs 2`.

For each command: the best wall time and its ratio to the best floor, the median and the
spread (slowest over fastest) of the runs, the CPU time (user and system of the process and
its workers) of the fastest run and its ratio to the floor's, and the peak resident memory
(`ru_maxrss` from `os.wait4`: the largest process, the parent or a worker). Each round records
the one-minute load average; the output names the machine's cores and the processes the
default read with in each round, this one and N - 1 workers
(`auditor.parsers.parallel.choose_workers`, asked just before the run: on a busy machine the
default reads in one process). Then the memory check: a fleet of
`--memory-servers` servers (default 2,000; 0 skips it), `parse --json` and `audit` once each
at `--jobs 1` and `--jobs 2`, peak RSS against 400 MB. Then start-up: `auditor --help` against
`python -c "import typer"`, best of ten or more alternated runs. The last line of the output
is one summary line starting `fleet:`. The audit must exit 1 (the fleet holds high findings).

    .venv/bin/python benchmarks/fleet.py                    # 100 and 500 servers, best of 3
    .venv/bin/python benchmarks/fleet.py --servers 20 --repeat 1 --memory-servers 0
    .venv/bin/python benchmarks/fleet.py --servers 500 --keep /tmp/fleet   # keep fleet + package
    .venv/bin/python benchmarks/fleet.py --scope partner-applications,web-config,hybrid-trust

Targets (README "Performance"), as ratios of wall times to the floor measured in the same run:
`--jobs 1` parse <= 1.8x and audit <= 2.5x at 100 and 500 servers; the default workers on 2
cores parse <= 1.5x and audit <= 2.0x at 500 servers and audit <= 2.5x at 100, on 4 or more
cores audit <= 1.0x at 500; 500 servers within 5.5x the time of 100; peak RSS under 400 MB at
2,000 servers; `auditor --help` within 1.5x `import typer`.

Nothing is asserted: the figures are read by a person; shared machines are too noisy for timed
tests. Nothing touches the network. Exit 0 when every command ran and the packages were
identical; exit 1 otherwise (the exit code and the tail of stderr of a failed command printed).
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT.parent / "shared" / "reference" / "css-exchange" / "E19"
PYTHON = sys.executable
# The installed console script (what users run; no runpy), else `python -m auditor`.
_SCRIPT = Path(PYTHON).parent / "auditor"
AUDITOR = [str(_SCRIPT)] if _SCRIPT.is_file() else [PYTHON, "-m", "auditor"]
AS_OF = "2026-11-26"
CHANGED_FILE = "DefaultWebSite-Rest_web.config"
PROFILES = re.compile(rb'(key="OAuthHttpModule\.Profiles"\s+value="[^"]*)(")')
MARKER = ".auditor-fleet"
TRUST_CASES = ROOT / "tests" / "rules" / "trust_cases"
EXCHANGE = CORPUS / "Exchange"
# The lab's own build (below the April 2025 hotfix) and auth certificate (expired) would make
# every server a finding; the bundled example's synthetic ones are current (valid to 2045).
EXAMPLE = ROOT / "auditor" / "examples" / "EX01"
# The org-wide trust exports (file name -> source; None: an export holding no object).
TRUST_ORG: dict[str, Path | None] = {
    "AuthServer.xml": TRUST_CASES / "AuthServer.xml",
    "AuthConfig.xml": EXAMPLE / "AuthConfig.xml",
    "SettingOverride.xml": EXCHANGE / "GetSettingOverride2.xml",
    "HybridConfiguration.xml": EXCHANGE / "GetHybridConfiguration.xml",
    "IntraOrganizationConnector.xml": TRUST_CASES / "IntraOrganizationConnector.xml",
    "OrganizationRelationship.xml": None,
    "OrganizationConfig.xml": EXCHANGE / "GetOrganizationConfig.xml",
}
# The per-server trust exports, in every server's folder (its server is the folder).
TRUST_SERVER = {
    "ExSetup.xml": EXAMPLE / "ExSetup.xml",
    "ExchangeCertificate.xml": EXAMPLE / "ExchangeCertificate.xml",
    "VariantConfigurationOverrides.xml": (
        EXCHANGE / "GetExchangeDiagnosticInfo_ADTopVariantConfiguration.xml"
    ),
}
NO_OBJECT = b'<Objs Version="1.1.0.1" xmlns="http://schemas.microsoft.com/powershell/2004/04" />\n'

# The floor: parse every file of the fleet with lxml and nothing else.
FLOOR = """
import os, sys
from lxml import etree
count = 0
for folder, _, names in os.walk(sys.argv[1]):
    for name in names:
        if name != ".auditor-fleet":
            etree.parse(os.path.join(folder, name))
            count += 1
print(count)
"""

# The targets (README "Performance"): ratios of wall times to the floor.
JOBS1_PARSE_TARGET = 1.8  # at 100 and 500 servers
JOBS1_AUDIT_TARGET = 2.5
DEFAULT_PARSE_TARGET = 1.5  # on 2 cores, at 500 servers
DEFAULT_AUDIT_TARGET = 2.0  # on 2 cores, at 500 servers (2.5 at 100; 1.0 on 4+ cores at 500)
GROWTH_TARGET = 5.5  # 500 servers within 5.5x the time of 100
RSS_TARGET_MB = 400  # at 2,000 servers
STARTUP_TARGET = 1.5


@dataclass(frozen=True)
class Run:
    """One run of a command: wall time, peak RSS and the CPU time (user and system, the
    process and its workers): wall time also holds waits for the disk, CPU time does not."""

    seconds: float
    peak_mb: float
    cpu: float = 0.0


@dataclass(frozen=True)
class Runs:
    """Every run of one command, in round order."""

    label: str
    runs: tuple[Run, ...]

    @property
    def best(self) -> Run:
        return min(self.runs, key=lambda run: run.seconds)

    @property
    def median(self) -> float:
        return statistics.median(run.seconds for run in self.runs)

    @property
    def spread(self) -> float:
        """The slowest run over the fastest."""
        return max(run.seconds for run in self.runs) / self.best.seconds

    @property
    def peak_mb(self) -> float:
        return max(run.peak_mb for run in self.runs)


@dataclass(frozen=True)
class Fleet:
    servers: int
    files: int
    size_mb: float
    floor: Runs
    commands: tuple[Runs, ...]  # parse --jobs 1, parse default, audit --jobs 1, audit default
    loads: tuple[float, ...]  # one-minute load average at the start of each round
    workers: tuple[int, ...]  # what the default chose in each round
    identical: bool  # the packages of --jobs 1, the default and --jobs 2


class CommandFailed(Exception):
    pass


def build_fleet(target: Path, servers: int) -> tuple[int, int]:
    """Write the fleet of `servers` servers into `target`; return (files, bytes)."""
    web_configs = sorted((CORPUS / "IIS").glob("*_web.config"))
    if len(web_configs) != 24:
        raise SystemExit(f"expected 24 web.configs in {CORPUS / 'IIS'}, found {len(web_configs)}")
    sources = {path.name: path.read_bytes() for path in web_configs}
    if not PROFILES.search(sources[CHANGED_FILE]):
        raise SystemExit(f"no OAuthHttpModule.Profiles value in {CHANGED_FILE}")
    target.mkdir(parents=True)
    (target / MARKER).write_text("synthetic fleet written by benchmarks/fleet.py\n")
    files = 0
    size = 0
    for index in range(servers):
        server = f"EX{index:04d}"
        folder = target / server / "IIS"
        folder.mkdir(parents=True)
        for name, content in sources.items():
            if name == CHANGED_FILE and index % 10 == 0:
                content = PROFILES.sub(rb"\1|V1S2SAppOnly\2", content, count=1)
            stem = name.removesuffix("_web.config")
            content += f"\n<!-- fleet {server} {stem} -->\n".encode("ascii")
            (folder / name).write_bytes(content)
            files += 1
            size += len(content)
    export = (CORPUS / "GetPartnerApplication.xml").read_bytes()
    (target / "EX0000" / "GetPartnerApplication.xml").write_bytes(export)
    files, size = files + 1, size + len(export)
    trust = [("EX0000", name, source) for name, source in TRUST_ORG.items()]
    trust += [
        (f"EX{index:04d}", name, source)
        for index in range(servers)
        for name, source in TRUST_SERVER.items()
    ]
    read = {source: source.read_bytes() for _, _, source in trust if source is not None}
    for server, name, source in trust:
        content = NO_OBJECT if source is None else read[source]
        comment = f"\n<!-- fleet {server} {name} -->\n"
        wide = content.startswith(b"\xff\xfe")  # Export-Clixml's UTF-16LE (the example's)
        content += comment.encode("utf-16-le" if wide else "ascii")
        (target / server / name).write_bytes(content)
        files, size = files + 1, size + len(content)
    return files, size


def run_once(command: list[str], ok: tuple[int, ...]) -> Run:
    """Run `command` once with stdout to /dev/null: wall time, peak RSS and CPU time."""
    with tempfile.TemporaryFile() as stderr:
        started = time.perf_counter()
        child = subprocess.Popen(
            command, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=stderr
        )
        _, status, usage = os.wait4(child.pid, 0)
        elapsed = time.perf_counter() - started
        child.returncode = os.waitstatus_to_exitcode(status)
        if child.returncode not in ok:
            stderr.seek(0)
            tail = stderr.read().decode("utf-8", "replace")[-2000:]
            raise CommandFailed(f"exit {child.returncode}: {' '.join(command)}\n{tail}")
    cpu = usage.ru_utime + usage.ru_stime
    return Run(seconds=elapsed, peak_mb=usage.ru_maxrss / 1024, cpu=cpu)  # maxrss: KiB on Linux


def startup(runs: int) -> tuple[Run, Run]:
    """Best of `runs` of `python -c "import typer"` and `auditor --help`, alternated so that a
    busy moment on a shared machine slows both alike."""
    typer: list[Run] = []
    help_: list[Run] = []
    for _ in range(runs):
        typer.append(run_once([PYTHON, "-c", "import typer"], (0,)))
        help_.append(run_once([*AUDITOR, "--help"], (0,)))
    return min(typer, key=lambda run: run.seconds), min(help_, key=lambda run: run.seconds)


def default_workers(files: int) -> int:
    """The processes `auditor` run now with the default `--jobs` would read `files` files in
    (itself and that number less one of workers)."""
    from auditor.parsers.busy import watch
    from auditor.parsers.parallel import choose_workers

    # As `read_inventory` asks: what other processes used over a moment (here 50 ms of this
    # process waiting, as the audit's discovery would be), and the runnable count.
    return choose_workers(None, files, since=watch())


def compile_bytecode() -> None:
    """Compile the imported auditor package's bytecode, as `pip install .` does for a user's
    install: a development checkout installed with `pip install -e` has none, and under
    PYTHONDONTWRITEBYTECODE (set on some machines) every run would compile every module again,
    0.05 s to 0.07 s of each run that no installed auditor pays. Stale files are recompiled by
    their source's time stamp, as Python does."""
    found = subprocess.run(
        [PYTHON, "-c", "import auditor, os; print(os.path.dirname(auditor.__file__))"],
        capture_output=True,
        text=True,
        check=True,
    )
    package = found.stdout.strip()
    subprocess.run([PYTHON, "-m", "compileall", "-q", package], check=True)
    print(f"bytecode compiled for {package} (as an installed auditor has it)")


def load_average() -> float:
    try:
        return os.getloadavg()[0]
    except (AttributeError, OSError):  # Windows
        return float("nan")


def package_bytes(folder: Path) -> dict[str, bytes]:
    return {
        path.relative_to(folder).as_posix(): path.read_bytes()
        for path in sorted(folder.rglob("*"))
        if path.is_file()
    }


def measure(servers: int, base: Path, repeat: int, scope: list[str]) -> Fleet:
    fleet = base / "fleet"
    files, size = build_fleet(fleet, servers)
    floor_command = [PYTHON, "-c", FLOOR, str(fleet)]

    def parse(jobs: list[str]) -> list[str]:
        return [*AUDITOR, "parse", str(fleet), "--json", *jobs]

    def audit(jobs: list[str], out: Path) -> list[str]:
        return [*AUDITOR, "audit", str(fleet), "--out", str(out), "--as-of", AS_OF, *scope, *jobs]

    one: list[str] = ["--jobs", "1"]
    default: list[str] = []
    labels = ("parse --json --jobs 1", "parse --json", "audit --jobs 1", "audit")
    outs = {label: base / f"package-{index}" for index, label in enumerate(labels)}
    floors: list[Run] = []
    runs: dict[str, list[Run]] = {label: [] for label in labels}
    loads: list[float] = []
    workers: list[int] = []
    for _ in range(repeat):
        loads.append(load_average())
        floors.append(run_once(floor_command, (0,)))
        runs[labels[0]].append(run_once(parse(one), (0,)))
        workers.append(default_workers(files))
        runs[labels[1]].append(run_once(parse(default), (0,)))
        for label, jobs in ((labels[2], one), (labels[3], default)):
            shutil.rmtree(outs[label], ignore_errors=True)
            # Exit 1 is the verdict the fleet calls for (V1S2SAppOnly is a high finding): an
            # audit that exits 0 missed the change, one that exits 2 could not read the fleet.
            runs[label].append(run_once(audit(jobs, outs[label]), (1,)))
    two = base / "package-jobs-2"
    run_once(audit(["--jobs", "2"], two), (1,))
    packages = [package_bytes(folder) for folder in (outs[labels[2]], outs[labels[3]], two)]
    return Fleet(
        servers,
        files,
        size / 1e6,
        Runs("floor (lxml, 1 process)", tuple(floors)),
        tuple(Runs(label, tuple(runs[label])) for label in labels),
        tuple(loads),
        tuple(workers),
        packages[0] == packages[1] == packages[2],
    )


def memory_check(servers: int, base: Path, scope: list[str]) -> list[tuple[str, Run]]:
    """Peak RSS of parse --json and audit at --jobs 1 and 2, once each, on a large fleet."""
    fleet = base / "fleet"
    build_fleet(fleet, servers)
    checked: list[tuple[str, Run]] = []
    for jobs in ("1", "2"):
        parse = [*AUDITOR, "parse", str(fleet), "--json", "--jobs", jobs]
        checked.append((f"parse --json --jobs {jobs}", run_once(parse, (0,))))
        out = base / f"package-{jobs}"
        audit = [*AUDITOR, "audit", str(fleet), "--out", str(out), "--as-of", AS_OF, *scope]
        checked.append((f"audit --jobs {jobs}", run_once([*audit, "--jobs", jobs], (1,))))
        shutil.rmtree(out, ignore_errors=True)
    return checked


def workspace(keep: Path | None, servers: int) -> Path:
    """The folder for one fleet: under --keep (replacing only an earlier fleet) or temporary."""
    if keep is None:
        return Path(tempfile.mkdtemp(prefix=f"auditor-fleet-{servers}-"))
    base = keep / f"servers-{servers}"
    if base.exists():
        if not (base / "fleet" / MARKER).exists():
            raise SystemExit(f"{base} exists and is not a fleet this script wrote; not touching it")
        shutil.rmtree(base)
    base.mkdir(parents=True)
    return base


def report(fleet: Fleet) -> None:
    floor = fleet.floor.best

    def line(runs: Runs) -> str:
        run = runs.best
        return (
            f"  {runs.label:<24} {run.seconds:7.2f} s {run.seconds / floor.seconds:5.2f}x"
            f"  median {runs.median:6.2f} s  spread {runs.spread:4.2f}"
            f"  cpu {run.cpu:6.2f} s {run.cpu / floor.cpu:5.2f}x  peak {runs.peak_mb:4.0f} MB"
        )

    loads = sorted(fleet.loads)
    print(
        f"servers={fleet.servers}: {fleet.files} files, {fleet.size_mb:.1f} MB;"
        f" {available_cores()} cores; load average {loads[0]:.1f} to {loads[-1]:.1f}"
        f" (median {statistics.median(loads):.1f}); default processes"
        f" {'/'.join(str(count) for count in fleet.workers)} by round"
    )
    print(f"  {'command':<24} {'best':>9} {'wall':>6}  {'':>23} {'':>6} {'cpu of best':>16}")
    print(line(fleet.floor))
    for runs in fleet.commands:
        print(line(runs))
    print(
        "  packages of --jobs 1, the default and --jobs 2: "
        + ("byte-identical" if fleet.identical else "DIFFERENT")
    )
    sys.stdout.flush()


def available_cores() -> int:
    from auditor.parsers.parallel import available_cores as cores

    return cores()


def ratio(fleet: Fleet, index: int) -> float:
    return fleet.commands[index].best.seconds / fleet.floor.best.seconds


def summary(fleets: list[Fleet], memory: list[tuple[str, Run]], startup: tuple[Run, Run]) -> str:
    parts = []
    for fleet in fleets:
        parts.append(
            f"{fleet.servers} servers: floor {fleet.floor.best.seconds:.2f}s,"
            f" --jobs 1 parse {ratio(fleet, 0):.2f}x audit {ratio(fleet, 2):.2f}x,"
            f" default parse {ratio(fleet, 1):.2f}x audit {ratio(fleet, 3):.2f}x"
            f" (load {statistics.median(fleet.loads):.1f},"
            f" processes {'/'.join(str(count) for count in fleet.workers)})"
        )
    if len(fleets) > 1:
        first, last = fleets[0], fleets[-1]
        # The floor's own growth says how much of it is the machine.
        parts.append(
            f"audit growth {last.commands[2].best.seconds / first.commands[2].best.seconds:.1f}x"
            f" for {last.servers / first.servers:.0f}x servers"
            f" (floor {last.floor.best.seconds / first.floor.best.seconds:.1f}x)"
        )
    if memory:
        parts.append(f"peak RSS {max(run.peak_mb for _, run in memory):.0f} MB")
    typer, help_ = startup
    parts.append(f"--help {help_.seconds / typer.seconds:.2f}x import typer")
    return "fleet: " + "; ".join(parts)


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument(
        "--servers",
        type=int,
        nargs="+",
        default=[100, 500],
        metavar="N",
        help="fleet sizes to measure (default: 100 500)",
    )
    parser.add_argument("--repeat", type=int, default=3, help="runs per command, in rounds")
    parser.add_argument(
        "--memory-servers",
        type=int,
        default=2000,
        metavar="N",
        help="fleet size of the memory check (default 2000; 0 skips it)",
    )
    parser.add_argument(
        "--keep",
        type=Path,
        metavar="DIR",
        help="build in DIR/servers-N and keep the fleet and package",
    )
    parser.add_argument(
        "--scope",
        metavar="CLASSES",
        help="passed to every audit as `--scope CLASSES` (default: the audit's default scope)",
    )
    args = parser.parse_args()
    scope = [] if args.scope is None else ["--scope", args.scope]
    if not CORPUS.is_dir():
        print(f"reference corpus missing at {CORPUS}", file=sys.stderr)
        return 1
    if args.repeat < 1 or any(servers < 1 for servers in args.servers):
        parser.error("--servers and --repeat must be at least 1")
    fleets = []
    memory: list[tuple[str, Run]] = []
    compile_bytecode()
    try:
        for servers in args.servers:
            base = workspace(args.keep, servers)
            try:
                fleet = measure(servers, base, args.repeat, scope)
            finally:
                if args.keep is None:
                    shutil.rmtree(base, ignore_errors=True)
            report(fleet)
            fleets.append(fleet)
        if args.memory_servers > 0:
            base = Path(tempfile.mkdtemp(prefix="auditor-fleet-memory-"))
            try:
                memory = memory_check(args.memory_servers, base, scope)
            finally:
                shutil.rmtree(base, ignore_errors=True)
            print(f"memory check, {args.memory_servers} servers (target < {RSS_TARGET_MB} MB):")
            for label, run in memory:
                print(f"  {label:<24} peak {run.peak_mb:4.0f} MB  ({run.seconds:.1f} s)")
        typer, help_ = startup(max(10, 5 * args.repeat))
    except CommandFailed as failure:
        print(f"fleet: command failed: {failure}", file=sys.stderr)
        return 1
    print(
        f"start-up: import typer {typer.seconds:.3f} s, auditor --help {help_.seconds:.3f} s,"
        f" {help_.seconds / typer.seconds:.2f}x (target <= {STARTUP_TARGET})"
    )
    print(summary(fleets, memory, (typer, help_)))
    return 0 if all(fleet.identical for fleet in fleets) else 1


if __name__ == "__main__":
    sys.exit(main())
