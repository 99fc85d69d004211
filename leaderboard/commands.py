"""The commands this package adds to ``bench`` (registered in pyproject's ``bench.commands``
entry points, so ``benchmark`` never imports upward): ``leaderboard``, ``verify``,
``export``."""
from __future__ import annotations

import argparse
import contextlib
import logging
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

from corruptions.errors import BenchError

if TYPE_CHECKING:
    from benchmark.scoring.reports import RunFolder
    from benchmark.scoring.verify import RerunPlan
    from benchmark.studies.report import PartRef

log = logging.getLogger(__name__)


def add_parsers(sub) -> None:
    from benchmark.scoring.verify import RERUN_HELP

    p = sub.add_parser("leaderboard", help="render the static leaderboard site from reports/")
    p.add_argument("--reports", default="reports", help="the reports folder")
    p.add_argument("--out", default="leaderboard/site", help="the site folder (replaced whole)")
    p.add_argument("--data-root", default=None,
                   help="where datasets live, for the corruption previews (default: "
                        "$BENCH_DATA, else ./data)")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.set_defaults(func=cmd_leaderboard)

    v = sub.add_parser("verify", help="recompute every reported number; rerun the ci profile "
                                      "from scratch; check the rendered site")
    v.add_argument("--reports", default="reports")
    v.add_argument("--rerun", default="ci", metavar="SELECTOR", help=RERUN_HELP)
    v.add_argument("--site", default=None,
                   help="check this built site (default: build one into a temporary folder)")
    v.add_argument("--no-site", action="store_true", help="skip the site check")
    v.add_argument("--no-zoo", action="store_true",
                   help="skip the codec zoo check (sha256 of every file, RD re-measured)")
    v.add_argument("--zoo-sample", type=int, default=None, metavar="N",
                   help="re-measure the RD of N zoo codecs per dataset, drawn from the code "
                        "version (default: all); every file's sha256 is checked regardless")
    v.add_argument("--submissions", default="submissions",
                   help="the shipped submissions the reports are held up against: every ci "
                        "report present, no orphan ('' to skip)")
    v.add_argument("--data-root", default=None,
                   help="where the given datasets (Kodak, ...) live: linked into the reruns' "
                        "fresh data root, and read for the site's corruption previews")
    v.add_argument("--scratch", default=None, metavar="DIR",
                   help="keep the reruns' data, runs and reports in DIR (default: a temporary "
                        "folder, removed); a long rerun (--rerun all) stopped and started again "
                        "with the same DIR resumes: finished units are read back, not retrained")
    v.set_defaults(func=cmd_verify)

    e = sub.add_parser("export", help="reports in another leaderboard's format")
    e.add_argument("format", choices=("robustbench",))
    e.add_argument("--reports", default="reports")
    e.add_argument("--out", required=True, help="the export folder")
    e.add_argument("--mode", default="bda", help="selection mode exported (default bda)")
    e.add_argument("--source", default="val",
                   help="selection source exported: val (default), unseen or oracle")
    e.set_defaults(func=cmd_export)


def cmd_leaderboard(args: argparse.Namespace) -> int:
    from benchmark.datasets import resolve_data_root

    from .render import build_site

    t0 = time.perf_counter()
    site = build_site(Path(args.reports), Path(args.out),
                      data_root=resolve_data_root(args.data_root), progress=not args.quiet)
    for note in site.notes:
        log.warning("%s", note)
    print(f"leaderboard: {len(site.pages)} pages, {site.figures} figures in "
          f"{time.perf_counter() - t0:.1f} s")
    print(f"open {site.index.resolve()}")
    return 0


def cmd_verify(args: argparse.Namespace) -> int:
    import tempfile

    from benchmark.datasets import link_sources, resolve_data_root
    from benchmark.scoring.audit import check_against_submission, completeness
    from benchmark.scoring.reports import OUTCOMES, STATISTICS, SUMMARY, RunFolder, run_folders
    from benchmark.scoring.verify import (
        check_outcomes,
        check_statistics,
        check_summary,
        plan_reruns,
        run_plan,
    )
    from benchmark.studies import (
        StudyContext,
        check_study,
        get_study,
        rerun_study,
        study_folders,
    )
    from benchmark.studies.report import draw_parts, rerun_part, rerun_tolerance
    from corruptions.version import code_version

    from .check import check_site
    from .render import build_site

    if args.zoo_sample is not None and args.zoo_sample < 1:
        raise BenchError(f"--zoo-sample must be at least 1, got {args.zoo_sample}")
    reports = Path(args.reports)
    failures: list = []
    timings = {}

    def outcome(found: list, what: str) -> None:
        failures.extend(found)
        print(f"{'ok  ' if not found else 'FAIL'} {what}", flush=True)

    t0 = time.perf_counter()
    # each report's files read once for all its checks
    folders = [RunFolder(f.folder, memo=True) for f in run_folders(reports)]
    studies = study_folders(reports)
    if not folders and not studies:
        raise BenchError(f"--reports {reports}: holds no report (no <submission>/<profile>/"
                         f"{SUMMARY} and no studies/<study>/<profile>/{SUMMARY})")
    # a selector that matches nothing is bad input: said before any check runs
    if args.scratch and Path(args.scratch).resolve().is_relative_to(reports.resolve()):
        raise BenchError(f"--scratch {args.scratch}: inside --reports {reports}; its reports "
                         "would be taken for committed ones")
    key = code_version().removesuffix(".dirty")
    plan = plan_reruns(args.rerun, reports, key)
    for note in plan.notes:
        print(f"note: {note}")
    data_root = resolve_data_root(args.data_root)
    # the study parts the samples draw, drawn once: their datasets are loaded now, their
    # reruns run after the run units
    parts = [part for sample in plan.samples for part in draw_parts(reports, sample, key)]
    _load_sources(plan, folders, studies, parts, data_root)
    if args.submissions:
        found = completeness(reports, Path(args.submissions))
        outcome(found.problems(), f"every shipped submission in {args.submissions} has its "
                                  "ci report, and every report a submission")
        if found.listed:
            print(f"note: {len(found.listed)} shipped cpu report(s) not run yet: "
                  + ", ".join(sub for sub, _, _ in found.listed))
    without = []
    for report in folders:
        folder = report.folder
        outcome(check_summary(report), f"{folder}/{SUMMARY}")
        outcome(check_against_submission(report), f"{folder}: its submission YAML, rows and "
                                                   "folder")
        if report.path(OUTCOMES).is_file():
            outcome(check_outcomes(report), f"{folder}/{OUTCOMES} against the counts")
            outcome(check_statistics(report), f"{folder}/{STATISTICS} from the outcomes")
        else:
            without.append(str(folder))
    if without:  # reports written before outcomes were kept; their reruns add them
        print(f"note: {len(without)} report(s) without per-image outcomes: {', '.join(without)}")
    for folder in studies:
        outcome(check_study(folder), f"{folder}/summary.json")
    # studies computed from run reports alone take seconds: recomputed in every profile
    here = StudyContext(reports, data_root, Path("runs"), "cpu", False)
    for folder in studies:
        if get_study(folder.parent.name).from_reports and folder.name not in plan.study_profiles:
            outcome(rerun_study(folder, here), f"{folder}/arrays.npz recomputed from the run "
                                               "reports")
    timings["summaries"] = time.perf_counter() - t0
    if not args.no_zoo:
        from benchmark.augment.zoo import verify_zoo, zoo_datasets

        t0 = time.perf_counter()
        for dataset in zoo_datasets():
            for check in verify_zoo(dataset, data_root, sample=args.zoo_sample,
                                    key=code_version()):
                c = check.codec
                what = (f"RD re-measured on {c.rd.images} images ({c.rd.bpp:.4f} bpp, "
                        f"{c.rd.psnr:.2f} dB{'' if check.exact else ', within the cross-CPU tolerance'})"
                        if check.measured else "RD not in this sample")
                outcome([f"codec zoo {dataset}/{c.file}: {check.problem}"] if check.problem else [],
                        f"codec zoo {dataset}/{c.file}: sha256, {what}")
        timings["zoo"] = time.perf_counter() - t0
    if plan:
        t0 = time.perf_counter()
        with _scratch(args.scratch) as tmp:
            link_sources(data_root, Path(tmp) / "data")
            for r in run_plan(plan, reports, Path(tmp)):
                across = f", {_across(r.tolerance)}" if r.tolerance else ""
                what = f"unit {r.unit.param} seed {r.unit.seed} of {r.folder}" if r.unit else r.folder
                outcome(r.mismatches, f"{what} rerun from scratch: rows, outcomes, history, "
                                      f"training data ({r.seconds:.1f} s{across})")
            # studies rerun after the runs, in the same scratch: they reuse its checkpoints
            ctx = StudyContext(reports, Path(tmp) / "data", Path(tmp) / "runs", "cpu", False)
            for folder in (f for f in studies if f.name in plan.study_profiles):
                t1 = time.perf_counter()
                found, tol = rerun_study(folder, ctx), rerun_tolerance(folder)
                across = f", {_across(tol)}" if tol else ""
                outcome(found, f"{folder}/arrays.npz rerun from scratch "
                               f"({time.perf_counter() - t1:.1f} s{across})")
            for part in parts:
                t1 = time.perf_counter()
                found, tol = rerun_part(part, ctx), rerun_tolerance(part.folder)
                across = f", {_across(tol)}" if tol else ""
                outcome(found, f"{part.folder}/arrays.npz: part {part.label} rerun from "
                               f"scratch ({time.perf_counter() - t1:.1f} s{across})")
        timings[f"reruns ({args.rerun})"] = time.perf_counter() - t0
    if not args.no_site:
        t0 = time.perf_counter()
        with tempfile.TemporaryDirectory(prefix="bench-site-") as tmp:
            site = Path(args.site) if args.site else build_site(
                reports, Path(tmp) / "site", data_root=data_root,
                progress=False).out
            found, checked = check_site(site, reports)
        outcome(found, f"site {args.site or '(built)'}: {checked} numbers")
        timings["site"] = time.perf_counter() - t0
    for m in failures:
        print(m, file=sys.stderr)
    summary = ", ".join(f"{k} {v:.1f} s" for k, v in timings.items())
    if failures:
        print(f"verify: {len(failures)} difference(s) ({summary})", file=sys.stderr)
        return 1
    print(f"verify: {len(folders)} run summaries and {len(studies)} studies, every number "
          f"reproduced ({summary})")
    return 0


def _load_sources(plan: RerunPlan, folders: list[RunFolder], studies: list[Path],
                  parts: list[PartRef], data_root: Path) -> None:
    """Every dataset the planned reruns read, loaded before any check: a source missing
    from ``--data-root`` (Kodak, a download) is bad input said at once (exit 2), not a stop
    after hours of reruns."""
    from benchmark.datasets import load_dataset
    from benchmark.studies import get_study
    from benchmark.studies.report import study_datasets

    rerun = set(plan.reports) | {unit.folder for unit in plan.units}
    names = {f.summary().get("dataset") for f in folders if f.folder in rerun} - {None}
    read = {part.folder for part in parts}
    read |= {f for f in studies if f.name in plan.study_profiles
             and not get_study(f.parent.name).from_reports}
    for folder in read:
        names |= study_datasets(folder)
    for name in sorted(names):
        load_dataset(name, "all", data_root)


@contextlib.contextmanager
def _scratch(kept: str | None):
    """Where reruns build: ``kept`` (created, left in place, so a stopped rerun resumes) or
    a temporary folder removed at the end."""
    if kept is None:
        import tempfile

        with tempfile.TemporaryDirectory(prefix="bench-verify-") as tmp:
            yield tmp
        return
    Path(kept).mkdir(parents=True, exist_ok=True)
    yield kept


def _across(tol) -> str:
    return (f"across CPU kinds {tol.across}: floats to {tol.float_rtol:g} relative, flips up "
            f"to {100 * tol.flip_share:g}%")


def cmd_export(args: argparse.Namespace) -> int:
    from .export import export_robustbench

    written = export_robustbench(Path(args.reports), Path(args.out), args.mode, args.source)
    print(f"wrote {len(written)} files under {args.out}")
    return 0
