"""The order of ``bench verify``: options in, outcomes out.

Bad input (a selector that matches nothing, a scratch folder inside the reports, a dataset
missing from the data root) is raised before the first outcome, so a user hears of it at
once and not after hours of reruns. Then the checks run cheapest first: the shipped
submissions, each run report from its own rows and its YAML, each study from its arrays, the
codec zoo, and last the reruns from scratch in one scratch folder (each profile's corrupted
sets built once, the studies reusing the runs' checkpoints).
"""
from __future__ import annotations

import contextlib
import multiprocessing
import os
import tempfile
import time
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from corruptions.errors import BenchError
from corruptions.version import code_version

from ..augment.rd_table import read_table, rd_tables
from ..codecs.zoo import zoo_datasets
from ..datasets import link_sources, load_dataset
from ..perf.capacity import DATASET as SWEPT_DATASET
from ..scoring.reports import OUTCOMES, STATISTICS, SUMMARY, RunFolder, run_folders
from ..studies import StudyContext, get_study, study_folders
from ..studies.report import study_datasets
from .audit import check_against_submission, completeness
from .checks import check_identity, check_outcomes, check_statistics, check_summary
from .compare import Mismatch, Tolerance
from .perf import check_capacity_table, perf_tables, rerun_capacity_rows
from .perf import rerun_tolerance as perf_tolerance
from .plan import RerunPlan, plan_reruns
from .rd import check_rd_table, rerun_rd_table
from .rd import rerun_tolerance as rd_tolerance
from .rerun import run_plan
from .studies import PartRef, check_study, draw_parts, rerun_part, rerun_study, rerun_tolerance
from .zoo import verify_zoo


@dataclass(frozen=True)
class VerifyOptions:
    """What ``bench verify`` is asked to check (its flags, resolved)."""

    reports: Path
    data_root: Path
    rerun: str = "ci"
    zoo: bool = True
    zoo_sample: int | None = None
    submissions: Path | None = None  # the shipped submissions the reports are held to
    scratch: Path | None = None  # kept scratch for the reruns; None: a temporary folder
    key: str = field(default_factory=lambda: code_version().removesuffix(".dirty"))


@dataclass(frozen=True)
class Outcome:
    """One check: what was checked and what differs (nothing: it holds)."""

    what: str
    problems: tuple[Mismatch | str, ...] = ()

    @property
    def ok(self) -> bool:
        return not self.problems


@dataclass(frozen=True)
class Note:
    """What could not be checked, and why."""

    text: str


@dataclass(frozen=True)
class Stage:
    """A stage done (summaries, zoo, reruns), and its time."""

    name: str
    seconds: float


Event = Outcome | Note | Stage


def verify(options: VerifyOptions) -> Iterator[Event]:
    """Every check ``options`` asks for, as it runs. Bad input raises ``BenchError`` before
    the first event."""
    if options.zoo_sample is not None and options.zoo_sample < 1:
        raise BenchError(f"--zoo-sample must be at least 1, got {options.zoo_sample}")
    reports = options.reports
    folders = [RunFolder(f.folder, memo=True) for f in run_folders(reports)]  # read once
    studies = study_folders(reports)
    if not folders and not studies and not rd_tables(reports) and not perf_tables(reports):
        raise BenchError(f"--reports {reports}: holds no report (no <submission>/<profile>/"
                         f"{SUMMARY}, no studies/<study>/<profile>/{SUMMARY}, no "
                         "codecs/<dataset>/rd.json, no perf/capacity.json)")
    if options.scratch and options.scratch.resolve().is_relative_to(reports.resolve()):
        raise BenchError(f"--scratch {options.scratch}: inside --reports {reports}; its reports "
                         "would be taken for committed ones")
    plan = plan_reruns(options.rerun, reports, options.key)
    parts = [part for sample in plan.samples for part in draw_parts(reports, sample, options.key)]
    load_sources(plan, folders, studies, parts, options.data_root)
    return _checks(options, plan, folders, studies, parts)


def _checks(options: VerifyOptions, plan: RerunPlan, folders: list[RunFolder],
            studies: list[Path], parts: list[PartRef]) -> Iterator[Event]:
    yield from (Note(note) for note in plan.notes)
    t0 = time.perf_counter()
    if options.submissions:
        yield from _completeness(options.reports, options.submissions)
    yield from _run_reports(folders)
    yield from _studies(options, plan, studies)
    for table in rd_tables(options.reports):
        yield Outcome(f"{table}: its BD table from its rows, its anchor curves",
                      tuple(check_rd_table(table)))
    for table in perf_tables(options.reports):
        yield Outcome(f"{table}: its front, target and choice from its rows, its rows the "
                      "configurations swept", tuple(check_capacity_table(table)))
    yield Stage("summaries", time.perf_counter() - t0)
    if options.zoo:
        t0 = time.perf_counter()
        yield from _zoo(options)
        yield Stage("zoo", time.perf_counter() - t0)
    if plan:
        t0 = time.perf_counter()
        yield from _reruns(options, plan, studies, parts)
        yield Stage(f"reruns ({options.rerun})", time.perf_counter() - t0)


def _completeness(reports: Path, submissions: Path) -> Iterator[Event]:
    found = completeness(reports, submissions)
    yield Outcome(f"every shipped submission in {submissions} has its ci report, and every "
                  "report a submission", tuple(found.problems()))
    if found.listed:
        yield Note(f"{len(found.listed)} shipped report(s) not run yet: "
                   + ", ".join(f"{sub} [{profile}]" for sub, profile, _ in found.listed))


def _report_checks(folder: Path) -> tuple[list[Outcome], bool]:
    """Every check of one run report, and whether it kept per-image outcomes: a pure
    function of the folder, so reports are checked in worker processes, each alone."""
    report = RunFolder(Path(folder), memo=True)  # its files read once
    out = [Outcome(f"{folder}/{SUMMARY}", tuple(check_summary(report))),
           Outcome(f"{folder}: the corruptions it names the identity on its images",
                   tuple(check_identity(report))),
           Outcome(f"{folder}: its submission YAML, rows and folder",
                   tuple(check_against_submission(report)))]
    kept = report.path(OUTCOMES).is_file()
    if kept:
        out += [Outcome(f"{folder}/{OUTCOMES} against the counts", tuple(check_outcomes(report))),
                Outcome(f"{folder}/{STATISTICS} from the outcomes",
                        tuple(check_statistics(report)))]
    return out, kept


def _run_reports(folders: list[RunFolder]) -> Iterator[Event]:
    """The reports' checks, in order, computed by one worker process per core (each report
    takes seconds: its statistics are bootstrapped again)."""
    workers = max(1, min(len(os.sched_getaffinity(0)), len(folders)))
    paths = [f.folder for f in folders]
    if workers == 1:
        yield from _reported(paths, map(_report_checks, paths))
        return
    with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn")) as pool:
        yield from _reported(paths, pool.map(_report_checks, paths))


def _reported(paths: list[Path], found) -> Iterator[Event]:
    without = []
    for path, (outcomes, kept) in zip(paths, found):
        yield from outcomes
        if not kept:
            without.append(str(path))
    if without:  # reports written before outcomes were kept; their reruns add them
        yield Note(f"{len(without)} report(s) without per-image outcomes: {', '.join(without)}")


def _studies(options: VerifyOptions, plan: RerunPlan, studies: list[Path]) -> Iterator[Event]:
    for folder in studies:
        yield Outcome(f"{folder}/summary.json", tuple(check_study(folder)))
    # studies computed from run reports alone take seconds: recomputed in every profile
    here = StudyContext(options.reports, options.data_root, Path("runs"), "cpu", False)
    for folder in studies:
        if get_study(folder.parent.name).from_reports and folder.name not in plan.study_profiles:
            yield Outcome(f"{folder}/arrays.npz recomputed from the run reports",
                          tuple(rerun_study(folder, here)))


def _zoo(options: VerifyOptions) -> Iterator[Event]:
    for dataset in zoo_datasets():
        for check in verify_zoo(dataset, options.data_root, sample=options.zoo_sample,
                                key=options.key):
            c = check.codec
            tolerance = "" if check.exact else ", within the cross-CPU tolerance"
            what = (f"RD re-measured on {c.rd.images} images ({c.rd.bpp:.4f} bpp, "
                    f"{c.rd.psnr:.2f} dB{tolerance})" if check.measured else "RD not in this sample")
            problems = (f"codec zoo {dataset}/{c.file}: {check.problem}",) if check.problem else ()
            yield Outcome(f"codec zoo {dataset}/{c.file}: sha256, {what}", problems)


def _reruns(options: VerifyOptions, plan: RerunPlan, studies: list[Path],
            parts: list[PartRef]) -> Iterator[Event]:
    with _scratch(options.scratch) as tmp:
        link_sources(options.data_root, tmp / "data")
        for r in run_plan(plan, options.reports, tmp):
            what = f"unit {r.unit.param} seed {r.unit.seed} of {r.folder}" if r.unit else r.folder
            yield Outcome(f"{what} rerun from scratch: rows, outcomes, history, training data "
                          f"({r.seconds:.1f} s{across(r.tolerance)})", tuple(r.mismatches))
        # studies rerun after the runs, in the same scratch: they reuse its checkpoints
        ctx = StudyContext(options.reports, tmp / "data", tmp / "runs", "cpu", False)
        for folder in (f for f in studies if f.name in plan.study_profiles):
            yield _timed(f"{folder}/arrays.npz rerun from scratch",
                         lambda: rerun_study(folder, ctx), rerun_tolerance(folder))
        for part in parts:
            yield _timed(f"{part.folder}/arrays.npz: part {part.label} rerun from scratch",
                         lambda: rerun_part(part, ctx), rerun_tolerance(part.folder))
        for table in plan.rd_tables:
            yield _timed(f"{table}: every row measured again from scratch",
                         lambda: rerun_rd_table(table, tmp / "data"), rd_tolerance(table))
        for row in plan.perf_rows:
            yield _timed(f"{row.table}: row {row.name!r} trained and scored again from scratch",
                         lambda: rerun_capacity_rows(row.table, [row.name], tmp / "data"),
                         perf_tolerance(row.table))


def _timed(what: str, rerun, tol: Tolerance | None) -> Outcome:
    """``rerun()``'s mismatches as an outcome, with its seconds and how it was compared."""
    t0 = time.perf_counter()
    found = rerun()
    return Outcome(f"{what} ({time.perf_counter() - t0:.1f} s{across(tol)})", tuple(found))


def load_sources(plan: RerunPlan, folders: list[RunFolder], studies: list[Path],
                 parts: list[PartRef], data_root: Path) -> None:
    """Every dataset the planned reruns read, loaded before any check: a source missing
    from ``--data-root`` (Kodak, a download) is bad input said at once (exit 2), not a stop
    after hours of reruns."""
    rerun = set(plan.reports) | {unit.folder for unit in plan.units}
    names = {f.summary().meta.dataset for f in folders if f.folder in rerun}
    read = {part.folder for part in parts}
    read |= {f for f in studies if f.name in plan.study_profiles
             and not get_study(f.parent.name).from_reports}
    for folder in read:
        names |= study_datasets(folder)
    names |= {read_table(table)["dataset"] for table in plan.rd_tables}
    names |= {SWEPT_DATASET} if plan.perf_rows else set()
    for name in sorted(names):
        load_dataset(name, "all", data_root)


@contextlib.contextmanager
def _scratch(kept: Path | None) -> Iterator[Path]:
    """Where reruns build: ``kept`` (created, left in place, so a stopped rerun resumes) or
    a temporary folder removed at the end."""
    if kept is None:
        with tempfile.TemporaryDirectory(prefix="bench-verify-") as tmp:
            yield Path(tmp)
        return
    Path(kept).mkdir(parents=True, exist_ok=True)
    yield Path(kept)


def across(tol: Tolerance | None) -> str:
    """How a rerun on another CPU kind was compared (empty: exactly)."""
    if tol is None:
        return ""
    return (f", across CPU kinds {tol.across}: floats to {tol.float_rtol:g} relative, flips "
            f"up to {100 * tol.flip_share:g}%")
