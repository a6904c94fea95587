"""Benchmark: auditor on a synthetic fleet against the floor of a bare lxml parse (issue 15).

The fleet is built from the real Exchange 2019 files in `../shared/reference/css-exchange/E19`:

- every server `EX0000`, `EX0001`, ... is a folder `<server>/IIS/` holding a copy of the 24 IIS
  web.configs in HealthChecker naming (`DefaultWebSite-Rest_web.config`, ...);
- every file ends with its own comment (`<!-- fleet EX0042 DefaultWebSite-Rest -->`), so each
  file is unique and no cache keyed by content can skip work;
- on one server in ten (`EX0000`, `EX0010`, ...) `|V1S2SAppOnly` is appended to the
  `OAuthHttpModule.Profiles` value of `DefaultWebSite-Rest_web.config`, the change the hybrid
  recipe makes, so those servers need a remediation script;
- one partner-application export (`GetPartnerApplication.xml` of the corpus) sits in `EX0000/`.

Three commands run as whole processes on the same files, each the best of `--repeat` runs
taken in rounds (floor, parse, audit, floor, parse, audit, ...):

- floor: a child Python that calls `lxml.etree.parse` on every file of the fleet (DESIGN.md
  section 9 names it as the baseline);
- `auditor parse <fleet> --json` (output to /dev/null);
- `auditor audit <fleet> --out <fresh folder> --as-of 2026-11-26` (the whole package written).

For each it reports wall time, throughput (fleet MB per second), CPU time (user and system; it
leaves out waits for the disk, which a fleet that left the page cache adds to the wall time) and
the peak resident memory of the child (`ru_maxrss` from `os.wait4`; Linux counts the image the
child was spawned from, so no figure is below this script's own ~15 MB), with the ratios of the
wall times to the floor and the targets of
DESIGN.md section 9. Then start-up: `auditor --help` against `python -c "import typer"`, best of
ten or more alternated runs. The last line of the output is one summary line starting `fleet:`.
The audit must exit 1 (the fleet holds high findings); any other exit code stops the benchmark.

    .venv/bin/python benchmarks/fleet.py                    # 100 and 500 servers, best of 3
    .venv/bin/python benchmarks/fleet.py --servers 20 --repeat 1
    .venv/bin/python benchmarks/fleet.py --servers 500 --keep /tmp/fleet   # keep fleet + package

Nothing is asserted: the figures are read by a person; shared machines are too noisy for timed
tests. Nothing touches the network. Exit 0 when every command ran; exit 1 when one failed (its
exit code and the tail of its stderr are printed).
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
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

# DESIGN.md section 9.
PARSE_TARGET = 1.5
AUDIT_TARGET = 2.5
GROWTH_TARGET = 5.5  # 500 servers within 5.5x the time of 100
RSS_TARGET_MB = 400
STARTUP_TARGET = 1.5


@dataclass(frozen=True)
class Run:
    """Best wall time of a command over the repeats, with the peak RSS and the CPU time (user
    and system) of that run: wall time also holds waits for the disk, CPU time does not."""

    seconds: float
    peak_mb: float
    cpu: float = 0.0


@dataclass(frozen=True)
class Fleet:
    servers: int
    files: int
    size_mb: float
    floor: Run
    parse: Run
    audit: Run


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
    return files + 1, size + len(export)


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


def best(runs: list[Run]) -> Run:
    return min(runs, key=lambda run: run.seconds)


def startup(runs: int) -> tuple[Run, Run]:
    """Best of `runs` of `python -c "import typer"` and `auditor --help`, alternated so that a
    busy moment on a shared machine slows both alike."""
    typer: list[Run] = []
    help_: list[Run] = []
    for _ in range(runs):
        typer.append(run_once([PYTHON, "-c", "import typer"], (0,)))
        help_.append(run_once([*AUDITOR, "--help"], (0,)))
    return min(typer, key=lambda run: run.seconds), min(help_, key=lambda run: run.seconds)


def measure(servers: int, base: Path, repeat: int) -> Fleet:
    fleet = base / "fleet"
    out = base / "package"
    files, size = build_fleet(fleet, servers)
    floor_command = [PYTHON, "-c", FLOOR, str(fleet)]
    parse_command = [*AUDITOR, "parse", str(fleet), "--json"]
    audit_command = [*AUDITOR, "audit", str(fleet), "--out", str(out), "--as-of", AS_OF]
    floors: list[Run] = []
    parses: list[Run] = []
    audits: list[Run] = []
    # In rounds (floor, parse, audit, floor, ...), so that a busy moment of a shared machine
    # slows one run of each command, not every run of one.
    for _ in range(repeat):
        floors.append(run_once(floor_command, (0,)))
        parses.append(run_once(parse_command, (0,)))
        if out.exists():
            shutil.rmtree(out)
        # Exit 1 is the verdict the fleet calls for (V1S2SAppOnly is a high finding): an audit
        # that exits 0 missed the change, one that exits 2 could not read the fleet.
        audits.append(run_once(audit_command, (1,)))
    return Fleet(servers, files, size / 1e6, best(floors), best(parses), best(audits))


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
    def line(label: str, run: Run, target: float | None) -> str:
        ratio = run.seconds / fleet.floor.seconds
        text = (
            f"  {label:<22} {run.seconds:8.2f} s {fleet.size_mb / run.seconds:7.1f} MB/s"
            f"  cpu {run.cpu:6.2f} s  peak {run.peak_mb:5.0f} MB  {ratio:5.2f}x floor"
        )
        return text + (f" (target <= {target})" if target is not None else "")

    print(f"servers={fleet.servers}: {fleet.files} files, {fleet.size_mb:.1f} MB")
    print(line("floor (lxml.etree)", fleet.floor, None))
    print(line("auditor parse --json", fleet.parse, PARSE_TARGET))
    print(line("auditor audit", fleet.audit, AUDIT_TARGET))
    over = [
        name
        for name, run in (("parse", fleet.parse), ("audit", fleet.audit))
        if run.peak_mb > RSS_TARGET_MB
    ]
    if over:
        print(f"  peak RSS over {RSS_TARGET_MB} MB: {', '.join(over)}")
    sys.stdout.flush()


def summary(fleets: list[Fleet], startup: tuple[Run, Run]) -> str:
    parts = []
    for fleet in fleets:
        parts.append(
            f"{fleet.servers} servers ({fleet.size_mb:.0f} MB): floor {fleet.floor.seconds:.2f}s"
            f" parse {fleet.parse.seconds:.2f}s ({fleet.parse.seconds / fleet.floor.seconds:.1f}x,"
            f" {fleet.parse.peak_mb:.0f} MB)"
            f" audit {fleet.audit.seconds:.2f}s ({fleet.audit.seconds / fleet.floor.seconds:.1f}x,"
            f" {fleet.audit.peak_mb:.0f} MB)"
        )
    if len(fleets) > 1:
        first, last = fleets[0], fleets[-1]
        # The floor's own growth says how much of it is the machine: a shared machine that is
        # slower during the larger fleet (or has dropped its files from the page cache) grows
        # every command alike.
        parts.append(
            f"audit growth {last.audit.seconds / first.audit.seconds:.1f}x"
            f" for {last.servers / first.servers:.0f}x servers"
            f" (target <= {1.1 * last.servers / first.servers:.1f}x, 5.5x for 100 to 500;"
            f" the floor grew {last.floor.seconds / first.floor.seconds:.1f}x)"
        )
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
    parser.add_argument("--repeat", type=int, default=3, help="runs per command, best kept")
    parser.add_argument(
        "--keep",
        type=Path,
        metavar="DIR",
        help="build in DIR/servers-N and keep the fleet and package",
    )
    args = parser.parse_args()
    if not CORPUS.is_dir():
        print(f"reference corpus missing at {CORPUS}", file=sys.stderr)
        return 1
    if args.repeat < 1 or any(servers < 1 for servers in args.servers):
        parser.error("--servers and --repeat must be at least 1")
    fleets = []
    try:
        for servers in args.servers:
            base = workspace(args.keep, servers)
            try:
                fleet = measure(servers, base, args.repeat)
            finally:
                if args.keep is None:
                    shutil.rmtree(base, ignore_errors=True)
            report(fleet)
            fleets.append(fleet)
        typer, help_ = startup(max(10, 5 * args.repeat))
    except CommandFailed as failure:
        print(f"fleet: command failed: {failure}", file=sys.stderr)
        return 1
    print(
        f"start-up: import typer {typer.seconds:.3f} s, auditor --help {help_.seconds:.3f} s,"
        f" {help_.seconds / typer.seconds:.2f}x (target <= {STARTUP_TARGET})"
    )
    print(summary(fleets, (typer, help_)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
