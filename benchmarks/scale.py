"""Benchmark: auditor at fleet scale against a bare lxml parse of the same files.

Builds a fleet of N servers, each holding the real web.config set of
`../shared/reference/css-exchange/E19/IIS` (24 files, HealthChecker naming) plus one
Export-Clixml of the partner applications, then measures in separate processes:

- bare `lxml.etree.parse` of every web.config (the baseline DESIGN.md section 9 names),
- `auditor parse --json` and `auditor audit` (whole package written),
- peak resident memory of each,
- `auditor --help` start-up against `python -c "import typer"`.

Usage: python benchmarks/scale.py [--servers 100] [--servers 500 ...] [--repeat 3]
Prints one line per measurement and the ratios; exits 0. Nothing is asserted: figures are read
by a person (or a later issue's gate), not by timed tests.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT.parent / "shared" / "reference" / "css-exchange" / "E19"
PYTHON = sys.executable

BARE_LXML = """
import sys
from pathlib import Path
from lxml import etree
count = 0
for path in sorted(Path(sys.argv[1]).rglob("*_web.config")):
    etree.parse(str(path))
    count += 1
print(count)
"""


def build_fleet(target: Path, servers: int) -> None:
    iis = sorted((CORPUS / "IIS").glob("*_web.config"))
    clixml = (CORPUS / "GetPartnerApplication.xml").read_bytes()
    for index in range(servers):
        folder = target / f"EX{index:04d}" / "IIS"
        folder.mkdir(parents=True)
        for source in iis:
            shutil.copyfile(source, folder / source.name)
    (target / "EX0000" / "PartnerApplication.xml").write_bytes(clixml)


def timed(command: list[str], repeat: int) -> tuple[float, int]:
    """Best wall time of `repeat` runs and the peak RSS (KiB) of the best run."""
    best = float("inf")
    peak = 0
    for _ in range(repeat):
        wrapped = ["/usr/bin/time", "-f", "%M", *command]
        started = time.perf_counter()
        completed = subprocess.run(wrapped, capture_output=True, text=True, check=False)
        elapsed = time.perf_counter() - started
        if completed.returncode not in (0, 1, 2):
            sys.stderr.write(completed.stderr)
            raise SystemExit(f"command failed: {command}")
        rss = int(completed.stderr.strip().splitlines()[-1])
        if elapsed < best:
            best, peak = elapsed, rss
    return best, peak


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--servers", type=int, action="append")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    if not CORPUS.is_dir():
        print(f"reference corpus missing at {CORPUS}; nothing to measure")
        return 0
    auditor = [PYTHON, "-m", "auditor"]
    for servers in args.servers or [100]:
        with tempfile.TemporaryDirectory() as scratch:
            fleet = Path(scratch) / "fleet"
            build_fleet(fleet, servers)
            files = sum(1 for _ in fleet.rglob("*_web.config"))
            bare, bare_rss = timed([PYTHON, "-c", BARE_LXML, str(fleet)], args.repeat)
            parse, parse_rss = timed([*auditor, "parse", str(fleet), "--json"], args.repeat)
            out = Path(scratch) / "out"
            audit_cmd = [*auditor, "audit", str(fleet), "--out", str(out), "--force"]
            audit_cmd += ["--as-of", "2026-11-26", "--allow-incomplete"]
            audit, audit_rss = timed(audit_cmd, args.repeat)
            print(f"servers={servers} web.configs={files}")
            print(f"  bare lxml.etree.parse : {bare:7.2f} s  peak {bare_rss / 1024:6.0f} MiB")
            print(
                f"  auditor parse --json  : {parse:7.2f} s  peak {parse_rss / 1024:6.0f} MiB"
                f"  ratio {parse / bare:4.2f} (target <= 1.5)"
            )
            print(
                f"  auditor audit         : {audit:7.2f} s  peak {audit_rss / 1024:6.0f} MiB"
                f"  ratio {audit / bare:4.2f} (target <= 2.5)"
            )
    typer_import, _ = timed([PYTHON, "-c", "import typer"], args.repeat + 2)
    help_time, _ = timed([*auditor, "--help"], args.repeat + 2)
    print(
        f"start-up: import typer {typer_import:5.2f} s, auditor --help {help_time:5.2f} s, "
        f"ratio {help_time / typer_import:4.2f} (target <= 1.5)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
