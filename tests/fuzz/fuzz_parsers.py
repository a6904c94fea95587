"""Long fuzzing runs of the parser targets in `fuzz_targets.py` (hypothesis, no atheris needed).

    .venv/bin/python tests/fuzz/fuzz_parsers.py --parser formatlist --minutes 60
    .venv/bin/python tests/fuzz/fuzz_parsers.py --parser all --minutes 10 --target mutations

Runs batches of examples until the time is up, with a fresh random seed per batch and the
example database in `.hypothesis/fuzz` (failures found once are replayed first next time).
Stops at the first failure: prints hypothesis' shrunk falsifying example and exits 1.
Prints one line per target at the end: examples run, batches, seconds.
"""

from __future__ import annotations

import argparse
import sys
import time
import traceback
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parents[1]))

from fuzz_targets import PARSERS, TARGETS, Target  # noqa: E402
from hypothesis import HealthCheck, Phase, given, settings  # noqa: E402
from hypothesis.database import DirectoryBasedExampleDatabase  # noqa: E402

BATCH = 200


def _run_batch(target: Target, examples: int, database: DirectoryBasedExampleDatabase) -> int:
    count = 0

    def counted(value: object) -> None:
        nonlocal count
        count += 1
        target.check(value)

    test = settings(
        max_examples=examples,
        deadline=None,
        database=database,
        derandomize=False,
        phases=(Phase.reuse, Phase.generate, Phase.shrink),
        suppress_health_check=list(HealthCheck),
        print_blob=True,
    )(given(target.strategy)(counted))
    test()
    return count


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--parser", choices=[*PARSERS, "all"], required=True)
    parser.add_argument(
        "--target", choices=["round-trip", "mutations", "bytes", "all"], default="all"
    )
    parser.add_argument("--minutes", type=float, default=5.0)
    parser.add_argument("--database", type=Path, default=HERE.parents[1] / ".hypothesis" / "fuzz")
    options = parser.parse_args(argv)
    targets = [
        target
        for target in TARGETS
        if options.parser in ("all", target.parser) and options.target in ("all", target.name)
    ]
    database = DirectoryBasedExampleDatabase(options.database)
    deadline = time.monotonic() + options.minutes * 60
    stats = {f"{t.parser}/{t.name}": [0, 0, 0.0] for t in targets}
    while time.monotonic() < deadline:
        for target in targets:
            if time.monotonic() >= deadline:
                break
            key = f"{target.parser}/{target.name}"
            started = time.monotonic()
            try:
                ran = _run_batch(target, BATCH, database)
            except Exception:  # a falsifying example: report it and stop
                traceback.print_exc()
                print(f"FAILED {key} after {stats[key][0]} examples", file=sys.stderr)
                return 1
            stats[key][0] += ran
            stats[key][1] += 1
            stats[key][2] += time.monotonic() - started
    for key, (examples, batches, seconds) in stats.items():
        print(f"{key:24} {examples:>9} examples  {batches:>5} batches  {seconds:8.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
