"""Benchmark: render the change-board HTML report for a report with 5,000 findings.

Audits a generated export (`tests/render/html_scenarios.py` `large_report`, a plain module),
times `render_html` (best of 3, after one warm-up that loads the templates) and prints the
seconds and the size of the page.

    .venv/bin/python benchmarks/html_report.py [FINDINGS]
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "tests" / "render"))
sys.path.insert(0, str(ROOT))

import html_scenarios as scenarios  # noqa: E402

from auditor.render.html import render_html  # noqa: E402


def main() -> None:
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 5000
    with tempfile.TemporaryDirectory() as folder:
        report = scenarios.large_report(Path(folder), count)
    render_html(report)  # warm-up: template compilation
    timings: list[float] = []
    html = ""
    for _ in range(3):
        start = time.perf_counter()
        html = render_html(report)
        timings.append(time.perf_counter() - start)
    size = len(html.encode("utf-8"))
    print(f"findings: {len(report.findings)}")
    runs = ", ".join(f"{seconds:.3f}" for seconds in timings)
    print(f"render_html best of 3: {min(timings):.3f} s (runs: {runs})")
    print(f"output size: {size} bytes ({size / 1_000_000:.1f} MB)")


if __name__ == "__main__":
    main()
