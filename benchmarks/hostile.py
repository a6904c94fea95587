"""Benchmark: the wall time of the cases the test suite bounds by counted work.

The tests no longer assert wall-clock limits (DESIGN.md: performance is measured with a
benchmark script, not asserted in timed tests; shared machines are noisy). They bound the work
instead (calls counted, files never opened, one bounded read). This script times the same
cases, best of `--repeat` runs in this process, and prints one line per case:

- every hostile input of tests/hardening/hostile_files.py (`HOSTILE_CASES`), read alone;
- the 50 MB inputs of tests/hardening/test_hostile_inputs.py (`write_one_line`) and a sparse
  200 MB file (refused by its size);
- Format-List continuation lines: 10,000 against 1,000 (linear is ~10x);
- every hostile policy of tests/hardening/test_policy_hostile.py, and the largest policy the
  loader accepts (40,000 unknown keys);
- rule evaluation of 100 and 400 servers (tests/rules/test_scenarios.py `fleet_inventory`);
- the HTML report of 500 and 5,000 findings (tests/render/html_scenarios.py `large_report`, audited
  from a generated export).

    .venv/bin/python benchmarks/hostile.py             # best of 3
    .venv/bin/python benchmarks/hostile.py --repeat 1

Nothing is asserted; the figures are read by a person. Nothing touches the network.
"""

from __future__ import annotations

import argparse
import datetime
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
for folder in ("tests", "tests/hardening", "tests/rules", "tests/render"):
    sys.path.insert(0, str(ROOT / folder))

from hostile_files import (  # noqa: E402
    HOSTILE_CASES,
    MB,
    format_list_wrapped,
    write_case,
    write_one_line,
    write_sparse,
)

from auditor.parsers import read_inventory  # noqa: E402
from auditor.parsers.base import RawInput  # noqa: E402
from auditor.policy import PolicyError, load_policy  # noqa: E402

LARGE_KINDS = ("format-list-value", "format-list-list", "json", "csv", "web.config", "clixml")


def best(repeat: int, run: Callable[[], object]) -> float:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        run()
        times.append(time.perf_counter() - started)
    return min(times)


def line(label: str, seconds: float, note: str = "") -> None:
    print(f"  {label:48s} {seconds * 1000:10.1f} ms  {note}".rstrip(), flush=True)


def _refuse(path: Path, *, strict: bool = True) -> None:
    try:
        load_policy([path], strict_waivers=strict)
    except PolicyError:
        return
    raise SystemExit(f"{path.name}: expected a refusal")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3, help="runs per case, best kept")
    options = parser.parse_args()
    repeat = max(1, options.repeat)
    with tempfile.TemporaryDirectory(prefix="auditor-hostile-") as temporary:
        folder = Path(temporary)
        print("hostile inputs, each read alone (read_inventory)")
        for case in HOSTILE_CASES:
            place = folder / "cases" / case.name.replace("/", "_")
            place.mkdir(parents=True)
            path = write_case(case, place)
            line(case.name, best(repeat, lambda path=path: read_inventory([path])))

        print("large inputs (read_inventory)")
        sparse = write_sparse(folder / "sparse.txt", 200 * MB)
        line("sparse-200mb (refused by size)", best(repeat, lambda: read_inventory([sparse])))
        for kind in LARGE_KINDS:
            path = folder / f"large-{kind}"
            write_one_line(path, kind)
            size = path.stat().st_size // MB
            line(f"{kind} ({size} MB)", best(repeat, lambda path=path: read_inventory([path])))
            path.unlink()

        print("Format-List continuation lines (formatlist.parse)")
        from auditor.parsers import formatlist

        times = {}
        for count in (1_000, 10_000):
            raw = RawInput(f"wrapped-{count}.txt", format_list_wrapped(count), "0" * 64)
            times[count] = best(repeat, lambda raw=raw: formatlist.parse(raw))
            line(f"{count} continuation lines", times[count])
        print(f"  10x the lines: {times[10_000] / times[1_000]:.1f}x the time (linear is ~10x)")

        print("hostile policies (load_policy, refused)")
        from test_policy_hostile import CASES, HEAD

        load_policy()  # the default and the schema validator, once
        for name, content, _line, _phrase in CASES:
            path = folder / "policies" / name
            path.parent.mkdir(exist_ok=True)
            path.write_bytes(content)
            line(name, best(repeat, lambda path=path: _refuse(path)))
        wide = folder / "wide.yaml"
        wide.write_text(HEAD + "".join(f"k{i}: {i}\n" for i in range(40_000)), encoding="utf-8")
        line("40,000 unknown keys (largest accepted size)", best(repeat, lambda: _refuse(wide)))

    print("rule evaluation (evaluate)")
    from test_scenarios import fleet_inventory

    from auditor.rules import evaluate

    policy = load_policy()
    as_of = datetime.date(2026, 3, 1)
    evaluated = {}
    for servers in (100, 400):
        inventory = fleet_inventory(servers)
        evaluated[servers] = best(
            repeat, lambda inventory=inventory: evaluate(inventory, policy, as_of=as_of)
        )
        line(f"{servers} servers ({len(inventory.web_configs)} web.configs)", evaluated[servers])
    print(f"  4x the servers: {evaluated[400] / evaluated[100]:.1f}x the time (linear is ~4x)")

    print("HTML report (render_html)")
    import html_scenarios as scenarios

    from auditor.render.html import render_html

    for findings in (500, 5_000):
        with tempfile.TemporaryDirectory() as folder:
            report = scenarios.large_report(Path(folder), findings)
        line(f"{findings} findings", best(repeat, lambda report=report: render_html(report)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
