"""Reading in worker processes (`--jobs`): how many workers, which files each reads, and the
results added up in file order so the inventory is the same whatever the number of workers.

- How many (`choose_workers`): at most `--jobs` (default: the cores no other process is using,
  plus this one: on a busy machine one process, never slower than `--jobs 1`), and no more than
  one per `MIN_FILES_PER_WORKER` files (starting a worker costs more than reading a small
  audit; the bundled example never starts one), more for workers that are spawned rather than
  forked. "Not used" is asked two ways (Linux, module `busy`), and the smaller answer wins:
  the kernel's count of runnable tasks now (`busy_now`), and the CPU time other processes took
  while this one found its files (`watch` at the start, `others_since` at the choice:
  /proc/stat less this process's own CPU time, `free_cores`). Not the one-minute load
  average, which still counts the audit that just finished (a benchmark's previous run) and
  so never let a 2-core machine start a second worker in a benchmark. The runnable count
  alone let other engineers' test runs, which stop and start (a pytest between two tests, a
  worker waiting on pwsh), look idle in its 16 ms: at 500 servers under a load of 5-8, two
  workers took 6.30 s against 4.98 s for `--jobs 1`; the CPU they took over the whole
  discovery (0.1 s to 0.5 s) does not.
- Which files: the files, in reading order, cut into runs (`_runs`, at most `_RUN_FILES`
  files each and `_RUNS_PER_WORKER` a process or more); `--jobs N` reads in N processes: this
  one and N - 1 workers (`_Split`). The workers are given runs from the front, two each ahead
  of what they have finished; this process reads runs from the back and gives the workers more
  after each, so that no process waits while a run is left and what this process reads never
  crosses between processes. Each reads a run with its own `reading.Reader` (a zip archive is
  one file, read whole by one process); the parent adds the runs up in order
  (`Reader.absorb`): the same lists as one process reading every file. Forked workers inherit
  the parsers imported and the parent's objects frozen out of the cycle collector
  (`_before_fork`). Against two workers and a parent that only waited and added their runs
  up: `auditor parse --json` on 2 cores took 0.96x the wall time and 0.89x the CPU at 100
  servers, 0.93x and 0.90x at 500 (`benchmarks/fleet.py` fleets, `farm-bench` paired runs,
  medians of 10 and 6).
- What crosses between processes: plain values. A run goes out as tuples of strings; the
  results come back as tuples (`transfer`), because pickling the dataclasses of a fleet costs
  more than the parse is worth dividing (0.16 s to write and 0.11 s to read at 100 servers,
  against 0.045 s and 0.043 s as tuples, measured with `benchmarks/fleet.py --keep`).
- Failure: where no worker can start (no working semaphores, a process limit), every file is
  read in the parent, as `--jobs 1` would. An exception a worker raises for a run (it cannot
  send its results) makes the parent read that run itself. A worker that dies (killed, out
  of memory, a crash in a C library) breaks the pool; the runs it had not finished are read
  again one file at a time in a pool of one worker, and the file it dies on becomes a located
  MALFORMED problem: no file is lost and no pool is waited on forever.

Works with the `spawn` start method (Windows, macOS) as with `fork`: a worker imports this
module and is given everything as arguments.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from auditor.layout import Placement
from auditor.model import Problem, ProblemCode, Severity
from auditor.parsers.busy import (
    Watch,
    available_cores,
    busy_now,
    free_cores,
    idle_cores,
    others_since,
    runnable_tasks,
    watch,
)
from auditor.parsers.discover import FoundFile
from auditor.parsers.reading import Reader, ReaderState
from auditor.parsers.transfer import PlainState, from_plain, to_plain

if TYPE_CHECKING:
    import concurrent.futures
    import multiprocessing.context
    from concurrent.futures import Future

__all__ = [
    "MIN_FILES_FOR_DEFAULT",
    "MIN_FILES_PER_SPAWNED_WORKER",
    "MIN_FILES_PER_WORKER",
    "Watch",
    "available_cores",
    "busy_now",
    "choose_workers",
    "free_cores",
    "idle_cores",
    "others_since",
    "read_files",
    "runnable_tasks",
    "watch",
]

# At fewer files per worker, starting the workers costs more than it saves. A forked worker
# starts in a few milliseconds; a spawned one (Windows, macOS) imports the parsers and lxml
# first: 0.3 s to 0.5 s each on the 2-core machine of the benchmark (`read_inventory` of a
# 20-server fleet, in one process 0.27 s, in two forked workers 0.65 s and in two spawned
# ones 1.56 s, best of 5, at a load average of 8). A web.config of the fleet takes about
# 0.3 ms to read in one process (`benchmarks/fleet.py`): 200 files are 60 ms of reading,
# 1,500 files 0.45 s.
MIN_FILES_PER_WORKER = 200
MIN_FILES_PER_SPAWNED_WORKER = 1500
# The default (no `--jobs`) reads in one process below this many files, and looks at nothing:
# deciding costs up to 0.07 s (the runnable count sampled over 16 ms, and a look at /proc/stat
# of at least 50 ms, made up by a sleep when discovery was shorter), and a worker's start and
# its results' crossing cost more than they save on a small audit. Measured on the 2-core
# benchmark machine, quiet, `auditor parse --json` with the default over `--jobs 1` (farm-bench,
# 10 paired runs, median wall): 1.12x at 548 files (20 servers of `benchmarks/fleet.py`), 0.95x
# at 1,088 (40 servers), 0.80x at 2,708 (100 servers). An explicit `--jobs N` is obeyed from
# `MIN_FILES_PER_WORKER` files a process.
MIN_FILES_FOR_DEFAULT = 1000
# Runs per process reading: enough that the processes meet near the middle (the last run one
# of them reads is the most the other may wait), few enough that sending them costs little;
# and at most `_RUN_FILES` files a run (about 60 ms of reading), so that the results the
# parent holds at once stay small: at 2,000 servers, 8 runs of the earlier split (workers
# only) held the parent at 382 MB peak against 313 MB for `--jobs 1`. A worker is given
# `_AHEAD_PER_WORKER` runs beyond what it has finished, so that it never waits for the parent
# to finish a run of its own before it has the next.
_RUNS_PER_WORKER = 8
_RUN_FILES = 200
_AHEAD_PER_WORKER = 2

_Settings = tuple[str | None, int, str | None]  # server, max_bytes, csv list separator
_PlainFile = tuple[str, str, bool | None, bool, str | None, str | None, str | None]


def choose_workers(
    jobs: int | None,
    files: int,
    start_method: str | None = None,
    since: Watch | None = None,
) -> int:
    """How many worker processes read `files` files: at most `jobs` (None: `idle_cores` of
    this machine now, and `free_cores` given what other processes used `since` a `watch`), at
    most one per `MIN_FILES_PER_WORKER` files (started by `fork`) or
    `MIN_FILES_PER_SPAWNED_WORKER` (any other start method); 1 means no worker.

    Below two workers' worth of files, or `MIN_FILES_FOR_DEFAULT` when `jobs` is None, it
    looks at nothing (and imports nothing): the bundled example costs what it cost before
    `--jobs`."""
    if files < 2 * MIN_FILES_PER_WORKER or jobs == 1:
        return 1
    if jobs is None and files < MIN_FILES_FOR_DEFAULT:
        return 1
    import multiprocessing  # 20 ms or more with concurrent.futures: not for small audits

    if jobs is None:
        cores = available_cores()
        jobs = idle_cores(cores, busy_now())
        if jobs > 1:
            jobs = min(jobs, free_cores(cores, others_since(since)))
    method = start_method or multiprocessing.get_start_method()
    least = MIN_FILES_PER_WORKER if method == "fork" else MIN_FILES_PER_SPAWNED_WORKER
    return max(1, min(jobs, files // least))


def read_files(
    reader: Reader,
    files: Sequence[FoundFile],
    placements: Sequence[Placement],
    workers: int,
    start_method: str | None = None,
) -> None:
    """Read `files` in `workers` processes, this one and `workers - 1` workers, into `reader`,
    as `reader.read_file` on each file in order would (see the module docstring)."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    settings: _Settings = (reader.server, reader.max_bytes, reader.separator)
    runs = _runs(len(files), max(workers * _RUNS_PER_WORKER, -(-len(files) // _RUN_FILES)))
    context = multiprocessing.get_context(start_method)
    froze = context.get_start_method() == "fork" and _before_fork()
    pool: ProcessPoolExecutor | None = None
    try:
        try:
            pool = ProcessPoolExecutor(workers - 1, mp_context=context)
        except (OSError, ImportError, NotImplementedError):  # no process can start here
            for item, placement in zip(files, placements, strict=True):
                reader.read_file(item, placement)
            return
        _Split(reader, files, placements, runs, settings, (pool, workers - 1), context).read()
    finally:
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)
        _after_fork(froze)


class _Split:
    """One read shared between this process and a pool of workers (`pool`: the pool and its
    number of workers). The workers are given runs
    from the front, `_AHEAD_PER_WORKER` each ahead of what they have finished; this process
    reads runs from the back, and gives the workers more after each: they meet in the middle,
    so no process waits while a run is left, and what this process reads never crosses
    between processes. The workers' runs are added to the reader in order as they finish
    (their results are let go at once), then this process's own."""

    def __init__(
        self,
        reader: Reader,
        files: Sequence[FoundFile],
        placements: Sequence[Placement],
        runs: Sequence[tuple[int, int]],
        settings: _Settings,
        pool: tuple[concurrent.futures.ProcessPoolExecutor, int],
        context: multiprocessing.context.BaseContext,
    ) -> None:
        self.reader = reader
        self.files = files
        self.placements = placements
        self.runs = runs
        self.settings = settings
        self.pool, pool_workers = pool
        self.context = context
        self.ahead = _AHEAD_PER_WORKER * pool_workers
        self.futures: dict[int, Future[PlainState]] = {}
        self.front = 0  # the next run to give the workers
        self.back = len(runs)  # the runs from here on are this process's
        self.added = 0  # the runs added to the reader, in order
        self.own: dict[int, ReaderState] = {}
        self.refused = False  # the pool took no more runs (it broke)

    def read(self) -> None:
        self.give()
        while True:
            while self.added < self.front and self.futures[self.added].done():
                self.add_worker_run()
            if self.front >= self.back:
                break
            self.back -= 1
            self.own[self.back] = self.read_here(self.runs[self.back])
            self.give()
        while self.added < self.front:
            self.add_worker_run()
        for index in range(self.back, len(self.runs)):
            self.reader.absorb(self.own.pop(index))

    def give(self) -> None:
        """Give the workers runs from the front until `ahead` of them are not finished."""
        from concurrent.futures.process import BrokenProcessPool

        while not self.refused and self.front < self.back:
            pending = sum(not self.futures[index].done() for index in range(self.added, self.front))
            if pending >= self.ahead:
                return
            plain = self.plain(self.runs[self.front])
            try:
                self.futures[self.front] = self.pool.submit(_read_run, self.settings, plain)
            # A worker died (the pool is broken), or no worker process could start (a process
            # limit: the pool starts its workers at the first run): this process goes on.
            except (BrokenProcessPool, RuntimeError, OSError):
                self.refused = True
                return
            self.front += 1

    def read_here(self, run: tuple[int, int]) -> ReaderState:
        start, stop = run
        reader = self.reader
        mine = Reader(server=reader.server, max_bytes=reader.max_bytes, separator=reader.separator)
        for item, placement in zip(
            self.files[start:stop], self.placements[start:stop], strict=True
        ):
            mine.read_file(item, placement)
        return mine.state()

    def plain(self, run: tuple[int, int]) -> list[_PlainFile]:
        """The files of `run` as they are sent to a worker."""
        start, stop = run
        return [
            _plain_file(self.files[index], self.placements[index]) for index in range(start, stop)
        ]

    def add_worker_run(self) -> None:
        """The next worker run into the reader (waiting for it): its results, or the run read
        again where it failed. Its future is let go first: it holds the run's results for as
        long as it is referenced, and at 2,000 servers the runs read held the parent at 280 MB
        against 188 MB for `--jobs 1`."""
        from concurrent.futures.process import BrokenProcessPool

        run = self.runs[self.added]
        future = self.futures.pop(self.added)
        self.added += 1
        outcome = _outcome(future)
        del future
        if isinstance(outcome, BrokenProcessPool):
            _read_alone(self.reader, self.settings, self.plain(run), self.context)
        elif isinstance(outcome, BaseException):
            for index in range(*run):
                self.reader.read_file(self.files[index], self.placements[index])
        else:
            self.reader.absorb(from_plain(outcome))


def _before_fork() -> bool:
    """What forked workers inherit instead of doing each: the parsers imported (a worker
    imported them on its first file), and the parent's objects frozen out of the cycle
    collector, so that a worker's collections do not walk them (and copy every page they sit
    on). True when this froze them (`_after_fork` hands them back); under a caller's freeze
    (`auditor.heap.heap_frozen`) the objects made since join it, and the caller hands them back."""
    import gc

    from auditor.parsers import clixml, webconfig  # noqa: F401

    froze = not gc.get_freeze_count()
    gc.freeze()
    return froze


def _after_fork(froze: bool) -> None:
    if froze:
        import gc

        gc.unfreeze()


def _outcome(future: Future[PlainState]) -> PlainState | BaseException:
    from concurrent.futures.process import BrokenProcessPool

    try:
        return future.result()
    except BrokenProcessPool as broken:
        return broken
    except Exception as error:  # the run is read in this process instead
        return error


def _read_alone(
    reader: Reader,
    settings: _Settings,
    run: Sequence[_PlainFile],
    context: multiprocessing.context.BaseContext,
) -> None:
    """Read a run a worker died in, one file per task in a pool of one worker: the first file
    not read when that worker dies too is the one it dies on (a problem); the rest go on in a
    new pool."""
    from concurrent.futures import ProcessPoolExecutor

    remaining = list(run)
    while remaining:
        pool = ProcessPoolExecutor(1, mp_context=context)
        try:
            futures = [pool.submit(_read_run, settings, [item]) for item in remaining]
            done = 0
            for future in futures:
                outcome = _outcome(future)
                if isinstance(outcome, BaseException):
                    break
                reader.absorb(from_plain(outcome))
                done += 1
        finally:
            pool.shutdown(wait=True, cancel_futures=True)
        if done < len(remaining):
            display = remaining[done][1]
            reader.not_read(display, _worker_died(display))
            done += 1
        remaining = remaining[done:]


def _runs(count: int, wanted: int) -> list[tuple[int, int]]:
    """`count` items cut into at most `wanted` runs of nearly equal length, in order."""
    runs = max(1, min(count, wanted))
    size, extra = divmod(count, runs)
    bounds: list[tuple[int, int]] = []
    start = 0
    for index in range(runs):
        stop = start + size + (1 if index < extra else 0)
        bounds.append((start, stop))
        start = stop
    return bounds


def _plain_file(item: FoundFile, placement: Placement) -> _PlainFile:
    return (
        str(item.path),
        item.display,
        item.server_folder,
        item.read_if_export,
        placement.server,
        placement.vdir,
        placement.relative_path,
    )


def _read_run(settings: _Settings, run: Sequence[_PlainFile]) -> PlainState:
    """In a worker: read a run of files, return what was gathered as plain values."""
    server, max_bytes, separator = settings
    reader = Reader(server=server, max_bytes=max_bytes, separator=separator)
    for path, display, server_folder, read_if_export, *placement in run:
        item = FoundFile(Path(path), display, server_folder, read_if_export)
        reader.read_file(item, Placement(*placement))
    return to_plain(reader.state())


def _worker_died(display: str) -> Problem:
    return Problem(
        code=ProblemCode.MALFORMED,
        message=(
            "the auditor worker process reading this file ended unexpectedly (it crashed or "
            "was killed, e.g. out of memory); the file was not read: audit it again with "
            "--jobs 1 to see the error, and please report it"
        ),
        path=display,
        severity=Severity.HIGH,
    )
