"""Reading in worker processes (`--jobs`): the package and the inventory are the same whatever
the number of workers, under `fork` and `spawn`; a worker that dies costs one located problem
and no file; small audits and busy machines start no worker."""

from __future__ import annotations

import dataclasses
import multiprocessing
import os
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest
from conftest import CSS_EXCHANGE, skip_or_fail
from typer.testing import CliRunner

from auditor.cli import app
from auditor.layout import identify
from auditor.model import (
    AppSetting,
    Evidence,
    OAuthProfiles,
    Problem,
    ProblemCode,
    SourceFile,
    WebConfig,
)
from auditor.parsers import (
    FEWEST_FILES_FOR_DEFAULT,
    FEWEST_FILES_FOR_WORKERS,
    busy,
    parallel,
    read_inventory,
    reading,
)
from auditor.parsers.discover import FoundFile
from auditor.parsers.transfer import from_plain, to_plain
from auditor.resources import examples_dir

SERVERS = 20
runner = CliRunner()


@pytest.fixture(scope="module")
def fleet(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """20 servers of the 24 E19 web.configs (every file unique, `|V1S2SAppOnly` on two), the
    partner-application export, one server's files in a zip archive, one broken web.config
    and one file of no known format: 484 files, enough for two forked workers."""
    e19 = CSS_EXCHANGE / "E19"
    if not (e19 / "IIS").is_dir():
        skip_or_fail(f"reference corpus not found at {CSS_EXCHANGE}")
    root = tmp_path_factory.mktemp("parallel-fleet")
    sources = sorted((e19 / "IIS").glob("*_web.config"))
    for index in range(SERVERS):
        server = f"EX{index:02d}"
        for source in sources:
            data = source.read_bytes() + f"\n<!-- {server} {source.name} -->\n".encode()
            if index % 10 == 3 and source.name == "DefaultWebSite-Rest_web.config":
                data = data.replace(b'CallbackV2"', b'CallbackV2|V1S2SAppOnly"', 1)
            target = root / server / "IIS" / source.name
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
    (root / "EX00" / "GetPartnerApplication.xml").write_bytes(
        (e19 / "GetPartnerApplication.xml").read_bytes()
    )
    (root / "EX07" / "IIS" / "Broken_web.config").write_bytes(b"<configuration><appSettings>")
    (root / "EX12" / "IIS" / "notes.bin").write_bytes(b"\x00\x01 no export")
    with zipfile.ZipFile(root / "EX19.zip", "w") as archive:
        for path in sorted((root / "EX19").rglob("*")):
            archive.write(path, path.relative_to(root).as_posix())
    return root


def run(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, list(args))
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.output


@pytest.fixture
def workers_started(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The worker count of every `parallel.read_files` call (none: everything read here)."""
    started: list[int] = []
    original = parallel.read_files

    def spy(*args: object, **kwargs: object) -> None:
        started.append(args[3])  # type: ignore[arg-type]
        original(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(parallel, "read_files", spy)
    return started


def package_files(folder: Path) -> dict[str, bytes]:
    return {
        path.relative_to(folder).as_posix(): path.read_bytes()
        for path in sorted(folder.rglob("*"))
        if path.is_file()
    }


def test_the_package_is_byte_identical_for_one_two_and_the_default_workers(
    fleet: Path, tmp_path: Path, workers_started: list[int]
) -> None:
    packages = {}
    for jobs in ("1", "2", None):
        out = tmp_path / f"package-{jobs}"
        extra = ["--jobs", jobs] if jobs else []
        code, output = run("audit", str(fleet), "--out", str(out), "--as-of", "2026-11-26", *extra)
        assert code == 2, output  # the broken web.config and the unknown file are problems
        packages[jobs] = package_files(out)
    assert workers_started[0] == 2  # --jobs 2 read in two workers; --jobs 1 in none
    assert packages["1"] == packages["2"] == packages[None]
    findings = packages["1"]["findings.json"].decode()
    assert "EX03/IIS/DefaultWebSite-Rest_web.config" in findings
    assert "EX19.zip!/EX19/IIS/DefaultWebSite-Rest_web.config" in findings
    assert "EX07/IIS/Broken_web.config" in findings


def test_parse_json_is_the_same_text_for_one_and_two_workers(
    fleet: Path, workers_started: list[int]
) -> None:
    texts = [run("parse", str(fleet), "--json", "--jobs", jobs) for jobs in ("1", "2")]
    assert workers_started == [2]
    assert texts[0] == texts[1]
    assert texts[0][0] == 2
    assert "EX12/IIS/notes.bin: the file holds binary data" in texts[0][1]


def test_spawned_workers_read_the_same_inventory(
    fleet: Path, monkeypatch: pytest.MonkeyPatch, workers_started: list[int]
) -> None:
    assert parallel.choose_workers(2, 504, "spawn") == 1  # worth it only for larger audits
    monkeypatch.setattr(parallel, "MIN_FILES_PER_SPAWNED_WORKER", 200)
    one = read_inventory([fleet])
    spawned = read_inventory([fleet], jobs=2, start_method="spawn")
    assert workers_started == [2]
    assert spawned == one
    assert len(one.web_configs) == SERVERS * 24 + 24  # the archive's copy of EX19 too


@pytest.mark.skipif("fork" not in multiprocessing.get_all_start_methods(), reason="needs fork")
def test_a_worker_that_dies_loses_only_its_file_as_a_located_problem(
    fleet: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # in the first run, which a worker is given before the parent reads anything
    poison = "EX00/IIS/DefaultWebSite-Rest_web.config"
    parent = os.getpid()
    original: Callable[..., object] = reading._parse

    def dies_on_poison(input_format: object, raw: object, separator: object) -> object:
        if os.getpid() != parent and raw.path.endswith(poison):  # type: ignore[attr-defined]
            os._exit(9)  # as a crash in a C library or the OOM killer would end it
        return original(input_format, raw, separator)

    expected = read_inventory([fleet])
    monkeypatch.setattr(reading, "_parse", dies_on_poison)
    inventory = read_inventory([fleet], jobs=2, start_method="fork")
    (problem,) = [problem for problem in inventory.problems if problem.path.endswith(poison)]
    lost = problem.path
    assert problem.code is ProblemCode.MALFORMED
    assert "worker process reading this file ended unexpectedly" in problem.message
    assert "--jobs 1" in problem.message
    # Every other file was read, once, as one process reads it.
    assert [source for source in expected.inputs if source.path != lost] == list(inventory.inputs)
    assert [config for config in expected.web_configs if config.path != lost] == list(
        inventory.web_configs
    )
    assert set(inventory.problems) - {problem} == set(expected.problems)


def test_where_no_worker_can_start_the_parent_reads_every_file(
    fleet: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import concurrent.futures

    def refused(*args: object, **kwargs: object) -> None:
        raise OSError(38, "Function not implemented")  # as sem_open on some platforms

    expected = read_inventory([fleet])
    monkeypatch.setattr(concurrent.futures, "ProcessPoolExecutor", refused)
    assert read_inventory([fleet], jobs=2, start_method="fork") == expected


def test_the_bundled_example_and_small_audits_start_no_worker(
    tmp_path: Path, workers_started: list[int]
) -> None:
    code, output = run("audit", "--out", str(tmp_path / "p"), "--as-of", "2026-11-26")
    assert code == 1, output
    assert workers_started == []
    files = sum(1 for path in examples_dir().rglob("*") if path.is_file())
    assert parallel.choose_workers(16, files, "fork") == 1
    assert parallel.choose_workers(16, parallel.MIN_FILES_PER_WORKER * 2 - 1, "fork") == 1
    assert parallel.choose_workers(16, parallel.MIN_FILES_PER_WORKER * 2, "fork") == 2
    assert parallel.choose_workers(1, parallel.MIN_FILES_PER_WORKER * 2, "fork") == 1
    assert FEWEST_FILES_FOR_WORKERS == parallel.MIN_FILES_PER_WORKER * 2
    assert FEWEST_FILES_FOR_DEFAULT == parallel.MIN_FILES_FOR_DEFAULT


def test_the_default_reads_a_small_audit_in_one_process_without_looking(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def looked(*args: object) -> float:
        raise AssertionError("the machine was looked at for a small audit")

    monkeypatch.setattr(parallel, "busy_now", looked)
    monkeypatch.setattr(parallel, "others_since", looked)
    assert parallel.choose_workers(None, parallel.MIN_FILES_FOR_DEFAULT - 1, "fork") == 1
    assert parallel.choose_workers(2, parallel.MIN_FILES_FOR_DEFAULT - 1, "fork") == 2
    with pytest.raises(AssertionError, match="looked at"):
        parallel.choose_workers(None, parallel.MIN_FILES_FOR_DEFAULT, "fork")


def test_a_busy_machine_reads_in_one_process() -> None:
    assert parallel.idle_cores(2, 8.5) == 1  # this shared machine on a bad minute
    assert parallel.idle_cores(2, 1.5) == 1
    assert parallel.idle_cores(2, 0.3) == 2
    assert parallel.idle_cores(8, 3.2) == 5
    assert parallel.idle_cores(4, None) == 4  # no load average (Windows): every core


def test_plain_values_carry_every_field() -> None:
    """The tuples of `transfer` follow the field order of the dataclasses: a field added to
    one of them must be carried too (this test then fails until it is)."""
    names = {cls: [field.name for field in dataclasses.fields(cls)] for cls in _CARRIED}
    assert names == {
        AppSetting: ["key", "value", "line", "raw", "location", "path", "sha256"],
        Evidence: ["path", "line", "raw", "sha256", "format", "server"],
        OAuthProfiles: ["raw", "tokens", "line", "evidence"],
        Problem: ["code", "message", "path", "line", "severity", "subject"],
        SourceFile: ["path", "sha256", "format"],
        WebConfig: [
            "server",
            "vdir",
            "path",
            "sha256",
            "app_settings",
            "oauth_profiles",
            "has_bom",
            "inherits_profiles",
            "inherited_from",
            "profiles_edit",
        ],
    }


_CARRIED = (AppSetting, Evidence, OAuthProfiles, Problem, SourceFile, WebConfig)


def test_plain_values_round_trip_a_reading(fleet: Path) -> None:
    reader = reading.Reader(server=None, max_bytes=1 << 20, separator=";")
    files = [path for path in sorted((fleet / "EX07").rglob("*")) if path.is_file()]
    for path in [*files, fleet / "EX19.zip"]:
        display = path.relative_to(fleet).as_posix()
        placement = identify(Path(display), server_folder=True)
        reader.read_file(FoundFile(path, display, server_folder=True), placement)
    state = reader.state()
    assert any(isinstance(result, Problem) for result in state.results) or any(
        result.problems for result in state.results if not isinstance(result, Problem)
    )
    assert from_plain(to_plain(state)) == state


def test_the_runnable_count_is_read_from_the_kernel_line() -> None:
    assert parallel.runnable_tasks("0.81 2.87 6.56 1/113 15214\n") == 1
    assert parallel.runnable_tasks("3.10 2.00 1.00 4/250 999") == 4
    for malformed in ("", "0.81 2.87 6.56", "0.81 2.87 6.56 x/113 1", "0.81 2.87 6.56 113 1"):
        assert parallel.runnable_tasks(malformed) is None


def test_now_is_the_median_of_the_samples_not_the_last_minute(tmp_path: Path) -> None:
    """An idle 2-core machine right after a busy minute: the one-minute average (2.9) would
    leave one worker; the runnable count now (this process) leaves both cores."""
    loadavg = tmp_path / "loadavg"
    loadavg.write_text("2.90 1.50 0.80 1/113 15214\n", encoding="ascii")
    assert parallel.busy_now(str(loadavg)) == 1.0
    assert parallel.idle_cores(2, parallel.busy_now(str(loadavg))) == 2
    loadavg.write_text("0.10 0.10 0.10 3/113 15214\n", encoding="ascii")  # two others running
    assert parallel.idle_cores(2, parallel.busy_now(str(loadavg))) == 1


def test_without_the_kernel_line_the_load_average_decides(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(os, "getloadavg", lambda: (2.5, 1.0, 0.5))
    assert parallel.busy_now(str(tmp_path / "absent")) == 2.5

    def no_load_average() -> tuple[float, float, float]:
        raise OSError("no load average")

    monkeypatch.setattr(os, "getloadavg", no_load_average)
    assert parallel.busy_now(str(tmp_path / "absent")) is None


_STAT = """cpu  {u} 0 {s} {i} 0 0 0 0 0 0
cpu0 {u0} 0 {s0} {i0} 5 0 0 0 0 0
cpu1 {u1} 0 {s1} {i1} 5 0 0 0 0 0
intr 1 2 3
procs_running 1
"""


def _stat(path: Path, cpu0: tuple[int, int, int], cpu1: tuple[int, int, int]) -> None:
    (u0, s0, i0), (u1, s1, i1) = cpu0, cpu1
    path.write_text(
        _STAT.format(u=u0 + u1, s=s0 + s1, i=i0 + i1, u0=u0, s0=s0, i0=i0, u1=u1, s1=s1, i1=i1),
        encoding="ascii",
    )


def test_the_busy_ticks_are_read_from_the_kernel_lines() -> None:
    text = "cpu  9 9 9 9 9 9 9 9\ncpu0 10 1 4 100 7 1 1 2 0 0\ncpu1 3 0 1 50 0 0 0 0 0 0\n"
    assert busy.cpu_ticks(text) == (19 + 4, 126 + 54, 2)  # idle and iowait are not busy
    assert busy.cpu_ticks(text, [1]) == (4, 54, 1)  # only the processors this process may use
    for malformed in ("", "cpu0 1 2 3\n", "cpu0 a b c d e f g h\n", "intr 1 2 3 4 5 6 7 8\n"):
        assert busy.cpu_ticks(malformed) is None


def _watch_of(path: Path, own: float, monkeypatch: pytest.MonkeyPatch) -> parallel.Watch | None:
    monkeypatch.setattr(busy, "_affinity", lambda: [0, 1])
    monkeypatch.setattr(busy, "_ticks_per_second", lambda: 100)
    start = parallel.watch(str(path))
    assert start is not None
    # This process used `own` seconds of CPU since the start, 1 s ago.
    return (start[0], start[1], start[2], start[3] - own, start[4] - 1.0)


def test_a_machine_other_processes_keep_busy_reads_in_one_process(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Other engineers' test runs keep a core busy while the audit finds its files (1 s, this
    process on the other core): the runnable count may have caught them between two tests,
    the CPU they took does not miss them, and there is no core for a second worker."""
    stat = tmp_path / "stat"
    _stat(stat, (1000, 100, 5000), (2000, 100, 4000))
    start = _watch_of(stat, 0.95, monkeypatch)
    _stat(
        stat, (1095, 100, 5005), (2090, 10 + 100, 4000)
    )  # 195 busy ticks of 200, 95 of them this process
    others = parallel.others_since(start, str(stat))
    assert others is not None and 0.95 < others < 1.1
    assert parallel.free_cores(2, others) == 1


def test_a_quiet_machine_still_starts_a_second_worker(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Only this process (and a little of the system) busy while it found its files: a core
    is free for a second worker, whatever the one-minute load average says."""
    stat = tmp_path / "stat"
    _stat(stat, (1000, 100, 5000), (2000, 100, 4000))
    start = _watch_of(stat, 0.95, monkeypatch)
    _stat(stat, (1090, 105, 5005), (2002, 101, 4097))  # this process and 3 ticks of others
    others = parallel.others_since(start, str(stat))
    assert others is not None and others < 0.1
    assert parallel.free_cores(2, others) == 2
    assert parallel.free_cores(2, 0.3) == 2
    assert parallel.free_cores(2, 0.35) == 1  # a second worker would find 65% of a core
    assert parallel.free_cores(8, 3.2) == 5
    assert parallel.free_cores(4, None) == 4  # unknown (no /proc/stat): every core


def test_the_choice_takes_the_smaller_of_the_two_answers(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(parallel, "available_cores", lambda: 2)
    monkeypatch.setattr(parallel, "busy_now", lambda: 1.0)  # nothing else runnable just now
    files = max(parallel.MIN_FILES_PER_WORKER * 4, parallel.MIN_FILES_FOR_DEFAULT)
    monkeypatch.setattr(parallel, "others_since", lambda since: 1.0)  # but a core kept busy
    assert parallel.choose_workers(None, files, "fork", since=None) == 1
    monkeypatch.setattr(parallel, "others_since", lambda since: 0.05)
    assert parallel.choose_workers(None, files, "fork", since=None) == 2
    monkeypatch.setattr(parallel, "busy_now", lambda: 3.0)  # two others runnable now
    assert parallel.choose_workers(None, files, "fork", since=None) == 1
    assert parallel.choose_workers(2, files, "fork", since=None) == 2  # --jobs 2 is obeyed


def test_without_proc_stat_the_runnable_count_decides(tmp_path: Path) -> None:
    assert parallel.watch(str(tmp_path / "absent")) is None
    assert parallel.others_since(None, str(tmp_path / "absent")) is None


def test_a_setting_travels_once_a_run_and_is_shared_again(fleet: Path) -> None:
    reader = reading.Reader(server=None, max_bytes=1 << 20, separator=";")
    files = [
        path
        for server in ("EX07", "EX08")
        for path in sorted((fleet / server).rglob("*_web.config"))
        if path.is_file()
    ]
    for path in files:
        display = path.relative_to(fleet).as_posix()
        placement = identify(Path(display), server_folder=True)
        reader.read_file(FoundFile(path, display, server_folder=True), placement)
    state = reader.state()
    plain = to_plain(state)
    configs = [
        config
        for result in from_plain(plain).results
        if not isinstance(result, Problem)
        for config in result.web_configs
    ]
    settings = [setting for config in configs for setting in config.app_settings]
    distinct = {id(setting) for setting in settings}

    assert from_plain(plain) == state
    assert len(configs) >= 2 and len(plain[7]) == len(distinct) < len(settings)


@pytest.mark.skipif("fork" not in multiprocessing.get_all_start_methods(), reason="needs fork")
def test_the_parent_reads_from_the_back_while_a_worker_reads_from_the_front(
    fleet: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    original: Callable[..., object] = reading._parse
    log = tmp_path / "readers.log"

    def noted(input_format: object, raw: object, separator: object) -> object:
        with open(log, "a") as handle:
            handle.write(f"{os.getpid()} {raw.path}\n")  # type: ignore[attr-defined]
        return original(input_format, raw, separator)

    monkeypatch.setattr(reading, "_parse", noted)
    expected = read_inventory([fleet])  # logs the order one process reads in
    order = [line.split(" ", 1)[1] for line in log.read_text().splitlines()]
    log.unlink()
    assert read_inventory([fleet], jobs=2, start_method="fork") == expected
    readers: dict[str, list[str]] = {}
    for line in log.read_text().splitlines():
        pid, path = line.split(" ", 1)
        readers.setdefault(pid, []).append(path)
    parent = readers.pop(str(os.getpid()))
    (worker,) = readers.values()  # --jobs 2: this process and one worker
    assert order[0] in worker  # the worker began at the front
    assert order[-1] in parent  # the parent at the back
    assert sorted(parent + worker) == sorted(order)  # every file read once


def test_where_no_worker_process_can_be_started_the_parent_reads_every_file(
    fleet: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from concurrent.futures import ProcessPoolExecutor

    def refused(*args: object, **kwargs: object) -> None:
        raise OSError(11, "Resource temporarily unavailable")  # fork() at a process limit

    expected = read_inventory([fleet])
    monkeypatch.setattr(ProcessPoolExecutor, "submit", refused)
    assert read_inventory([fleet], jobs=2, start_method="fork") == expected


def test_the_reading_leaves_what_lived_before_it_out_of_the_collector_and_hands_it_back(
    fleet: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Objects alive before the reading (the modules imported) are frozen while files are read
    (a full collection does not walk them), the objects made since join that freeze before a
    fork, and nothing stays frozen after: one process and two alike."""
    import gc

    frozen_while_reading: list[int] = []
    original: Callable[..., object] = reading._parse

    def noted(input_format: object, raw: object, separator: object) -> object:
        frozen_while_reading.append(gc.get_freeze_count())
        return original(input_format, raw, separator)

    monkeypatch.setattr(reading, "_parse", noted)
    assert gc.get_freeze_count() == 0
    expected = read_inventory([fleet])
    assert frozen_while_reading and min(frozen_while_reading) >= 1
    assert gc.get_freeze_count() == 0
    assert read_inventory([fleet], jobs=2, start_method="fork") == expected
    assert gc.get_freeze_count() == 0
    gc.freeze()  # a caller's freeze stays as it was
    try:
        count = gc.get_freeze_count()
        read_inventory([fleet], jobs=2, start_method="fork")
        assert gc.get_freeze_count() >= count
    finally:
        gc.unfreeze()
