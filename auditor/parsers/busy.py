"""How busy this machine is, for the number of worker processes (`parallel.choose_workers`).

Owns reading the kernel's counts (Linux; elsewhere None, and every core counts as free):

- `busy_now`: the runnable tasks now (`/proc/loadavg`, fourth field), the median of a few
  samples over 16 ms; `idle_cores` turns it into workers;
- `watch` and `others_since`: the CPU time other processes took between two moments
  (`/proc/stat`, the processors this process may use, less this process's own CPU time);
  `free_cores` turns it into workers.

Kept apart from `parallel` so that `read_inventory` can `watch` from the start of every audit
run with the default `--jobs` without importing the pool (`parallel` and `transfer`: 3 ms).
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence

__all__ = [
    "LOADAVG",
    "PROC_STAT",
    "Watch",
    "available_cores",
    "busy_now",
    "cpu_ticks",
    "free_cores",
    "idle_cores",
    "others_since",
    "runnable_tasks",
    "watch",
]


def available_cores() -> int:
    """The cores this process may run on."""
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return max(1, os.cpu_count() or 1)


def idle_cores(cores: int, load: float | None) -> int:
    """The workers worth starting on `cores` cores when `load` tasks want a core, this process
    included (`busy_now`; None: unknown, as on Windows): the cores no other process is using,
    plus this process's own; 1 on a busy machine (two workers on a busy 2-core machine were
    measured 31% slower than one)."""
    if load is None:
        return cores
    return max(1, min(cores, math.floor(cores - load) + 1))


LOADAVG = "/proc/loadavg"
# Samples of the runnable count, `_SAMPLE_GAP` seconds apart: one sample catches a short burst
# of another process; the median of nine over 16 ms does not, and costs nothing beside the
# audit it decides for (only audits of two workers' worth of files ask).
_SAMPLES = 9
_SAMPLE_GAP = 0.002


def runnable_tasks(loadavg: str) -> int | None:
    """The runnable tasks `/proc/loadavg` counts (its fourth field, `running/total`), the
    reading process included; None when the text is not in that shape."""
    fields = loadavg.split()
    running, slash, _ = fields[3].partition("/") if len(fields) > 3 else ("", "", "")
    return int(running) if slash and running.isdigit() else None


def busy_now(path: str = LOADAVG) -> float | None:
    """How many tasks are runnable now, this process included: the median of `_SAMPLES` reads
    of `path` (Linux), else the one-minute load average, else None (Windows)."""
    import time

    counts = []
    for index in range(_SAMPLES):
        try:
            with open(path, encoding="ascii") as file:
                count = runnable_tasks(file.read())
        except (OSError, ValueError):
            count = None
        if count is None:
            break
        counts.append(count)
        if index + 1 < _SAMPLES:
            time.sleep(_SAMPLE_GAP)
    if len(counts) == _SAMPLES:
        return float(sorted(counts)[_SAMPLES // 2])
    try:
        return os.getloadavg()[0]
    except (AttributeError, OSError):  # Windows has no load average
        return None


PROC_STAT = "/proc/stat"
# The shortest look at /proc/stat worth trusting: it counts in ticks of 10 ms a processor, and
# at 50 ms on 2 cores a tick either way is 0.1 of a core. Discovery takes longer from about 40
# servers on (0.45 s at 500 on the loaded 2-core machine); a shorter one is made up by a sleep.
_WATCH_SECONDS = 0.05
# The share of a core that a worker started must find unused by other processes. Measured with
# it, the default against `--jobs 1` (farm-bench, paired whole processes, median wall): 500
# servers, `parse --json` 0.96x at a load of 6-7 and `audit` 0.99x at 3 (one process chosen;
# before, two workers took 6.30 s against 4.98 s at a load of 5-8); 100 servers, `parse
# --json` 0.89x at a load of 2 (two workers chosen), `audit` 1.05x [0.85-1.14] at 2 with
# the load coming and going after the choice (benchmarks/README.md).
_WORKER_SHARE = 0.7

# busy ticks, all ticks, processors counted, own CPU seconds, clock
Watch = tuple[int, int, int, float, float]


def cpu_ticks(text: str, cpus: Sequence[int] | None = None) -> tuple[int, int, int] | None:
    """The busy and the total ticks of the processors `cpus` (None: every one) in the text of
    /proc/stat (its `cpuN` lines: user nice system idle iowait irq softirq steal ...; busy is
    all but idle and iowait), and how many processors it found; None when no such line is in
    that shape."""
    busy = total = seen = 0
    wanted = None if cpus is None else {f"cpu{cpu}" for cpu in cpus}
    for line in text.splitlines():
        name, _, rest = line.partition(" ")
        if not (name.startswith("cpu") and name[3:].isdigit()):
            continue
        if wanted is not None and name not in wanted:
            continue
        fields = rest.split()[:8]
        if len(fields) < 8 or not all(field.isdigit() for field in fields):
            return None
        ticks = [int(field) for field in fields]
        busy += sum(ticks) - ticks[3] - ticks[4]
        total += sum(ticks)
        seen += 1
    return (busy, total, seen) if seen else None


def watch(path: str = PROC_STAT) -> Watch | None:
    """The processors' ticks, this process's CPU time and the clock now, for `others_since`;
    None where there is no /proc/stat (Windows, macOS)."""
    import time

    try:
        with open(path, encoding="ascii") as file:
            ticks = cpu_ticks(file.read(), _affinity())
    except (OSError, ValueError):
        return None
    if ticks is None:
        return None
    return (*ticks, time.process_time(), time.monotonic())


def others_since(start: Watch | None, path: str = PROC_STAT) -> float | None:
    """How many cores other processes kept busy since `start` (`watch`): the busy ticks of
    the processors less this process's own CPU time, over the time passed (made up to
    `_WATCH_SECONDS` by a sleep); None when it cannot be known."""
    import time

    if start is None:
        return None
    waited = time.monotonic() - start[4]
    if waited < _WATCH_SECONDS:
        time.sleep(_WATCH_SECONDS - waited)
    end = watch(path)
    if end is None or end[1] <= start[1] or end[2] != start[2]:
        return None  # no time counted, or a processor came or went meanwhile
    per_processor = (end[1] - start[1]) / end[2]  # the ticks of one processor meanwhile
    own = (end[3] - start[3]) * _ticks_per_second()
    return max(0.0, (end[0] - start[0] - own) / per_processor)


def free_cores(cores: int, others: float | None) -> int:
    """The workers worth starting on `cores` cores when other processes keep `others` cores
    busy (`others_since`; None: unknown): this process's core, and one more for each further
    core with `_WORKER_SHARE` of it unused."""
    if others is None:
        return cores
    return max(1, min(cores, 1 + math.floor(cores - 1 - others + (1 - _WORKER_SHARE))))


def _affinity() -> list[int] | None:
    if hasattr(os, "sched_getaffinity"):
        return sorted(os.sched_getaffinity(0))
    return None


def _ticks_per_second() -> int:
    try:
        return int(os.sysconf("SC_CLK_TCK"))
    except (AttributeError, OSError, ValueError):
        return 100
