"""``bench run``: train and evaluate a submission, select its parameter, write its reports."""
from __future__ import annotations

import argparse
import logging
from dataclasses import replace
from pathlib import Path

from ..datasets import resolve_data_root
from ..scoring.report import Summary
from ..scoring.selection import chosen_label
from ..scoring.statistics import beyond_noise, in_points
from corruptions.errors import BenchError

from .common import positive_int

log = logging.getLogger(__name__)


def add_parsers(sub) -> None:
    p = sub.add_parser("run", help="train + evaluate a submission, select by BDA/BDAD/BDADS")
    p.add_argument("--submission", required=True, help="a submission YAML (submissions/*.yaml)")
    p.add_argument("--profile", default="full",
                   help="full (the thesis recipe; the top level of a file without profiles), "
                        "gpu, cpu, ci, or any profile the file defines")
    p.add_argument("--data-root", default=None, help="default: $BENCH_DATA, else ./data")
    p.add_argument("--device", default="auto", help="auto (CUDA when present), cpu or cuda[:N]")
    p.add_argument("--jobs", type=positive_int, default=1,
                   help="units at once: N local processes (or Ray tasks), each with cores/N "
                        "torch threads")
    p.add_argument("--executor", choices=("local", "ray"), default="local",
                   help="local processes, or an existing Ray cluster (pip install '.[ray]')")
    p.add_argument("--ray-address", default=None, help="Ray cluster address (default: auto)")
    p.add_argument("--runs", default="runs", help="checkpoints and unit results")
    p.add_argument("--reports", default="reports", help="where reports/<id>/<profile>/ go")
    p.add_argument("--model", default=None,
                   help="of a submission that sweeps models (model.name a list), run only this one")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.set_defaults(func=cmd_run)
    p = sub.add_parser("statistics", help="intervals, paired differences from the baseline and "
                       "the oracle's optimism of every run report with per-image outcomes")
    p.add_argument("--reports", default="reports", help="the reports root")
    p.add_argument("--submission", default=None, help="only this submission id")
    p.set_defaults(func=cmd_statistics)
    p = sub.add_parser("resummarize", help="rewrite the summaries and statistics of a profile's "
                       "run reports from their rows and the current baseline (after a baseline "
                       "rerun: every mCE is relative to it)")
    p.add_argument("--reports", default="reports", help="the reports root")
    p.add_argument("--profile", required=True, help="whose reports (e.g. cpu)")
    p.add_argument("--data-root", default=None,
                   help="where a report from before identity corruptions were recorded has its "
                        "corrupted sets measured (built there when missing; default: "
                        "$BENCH_DATA, else ./data)")
    p.set_defaults(func=cmd_resummarize)


def cmd_run(args: argparse.Namespace) -> int:
    from ..pipeline.runner import run_submission
    from ..pipeline.submission import SubmissionError, load_submissions

    # a model sweep is one run per model, each resumable on its own: --model picks one
    specs = load_submissions(args.submission, args.profile)
    if args.model:
        known = ", ".join(s.model for s in specs)
        specs = [s for s in specs if s.model == args.model]
        if not specs:
            raise SubmissionError(f"{args.submission}: no model {args.model!r} (models: {known})")
    for spec in specs:
        log.info("%s [%s]: %s on %s, %s x %d seed(s)", spec.id, spec.profile, spec.model,
                 spec.dataset, ", ".join(spec.labels), len(spec.seeds))
        report = run_submission(spec, data_root=resolve_data_root(args.data_root),
                                runs_root=Path(args.runs), reports_root=Path(args.reports),
                                device=args.device, jobs=args.jobs, executor=args.executor,
                                ray_address=args.ray_address, progress=not args.quiet)
        print(format_summary(report.summary))
        print(f"units: {report.units} ({report.skipped} already done)")
        print("time: " + ", ".join(f"{k} {v:.1f} s" for k, v in report.seconds.items()))
        print(f"wrote {report.folder}/summary.json, results.parquet, history.parquet, "
              "outcomes.npz, statistics.json")
    return 0


def _pct(x) -> str:
    return "-" if x is None else f"{100 * x:.2f}"


def format_summary(s: Summary) -> str:
    """The selection table, in percent."""
    head = (f"{'mode':<6} {'source':<7} {'clean':>6} {'corrupt':>8} {'thesis10':>8} {'low':>6} "
            f"{'mid':>6} {'high':>6} {'mCE':>6} {'bpp':>6}  chosen")
    m = s.meta
    lines = [f"{m.submission} [{m.profile}] {m.model} on {m.dataset}, family {m.family}, seeds "
             f"{list(s.seeds)}", head]
    for mode, sources in s.selection.items():
        for source, e in sources.items():
            bpp = "-" if e.bpp is None else f"{e.bpp:.3f}"
            lines.append(f"{mode:<6} {source:<7} {_pct(e.clean_acc):>6} {_pct(e.corrupt_acc):>8} "
                         f"{_pct(e.corrupt_acc_thesis10):>8} "
                         + " ".join(f"{_pct(e.band_acc[b]):>6}" for b in ("low", "mid", "high"))
                         + f" {'-' if e.mce is None else format(100 * e.mce, '.1f'):>6}"
                         + f" {bpp:>6}  {chosen_label(e.chosen)[:60]}")
    return "\n".join(lines)


def _interval(e: dict | None) -> str:
    """In points; a difference (it has a p-value) signed, with its p."""
    if e is None:
        return "-"
    return in_points(e, signed="p" in e) + (f", p {e['p']:.3f}" if "p" in e else "")


def headline(submission: str, profile: str, stats: dict) -> str:
    """One line: the held-out BDA pick's clean and corrupt accuracy with their intervals, and
    whether its difference from the baseline is beyond noise."""
    mode, source = ("bda", "val") if "val" in stats["selection"].get("bda", {}) else next(
        (m, s) for m, sources in stats["selection"].items() for s in sources)
    e = stats["selection"][mode][source]
    line = (f"{submission} [{profile}] ({mode.upper()} {source}): clean "
            f"{_interval(e['clean_acc'])}, corrupt {_interval(e['corrupt_acc'])}")
    d = (e["vs_baseline"] or {}).get("corrupt_acc")
    if d is None:
        return line
    sign = beyond_noise(d)
    verdict = (f"{'more' if sign > 0 else 'less'} robust than the baseline, beyond noise"
               if sign else "within noise of the baseline")
    return f"{line}; vs baseline {_interval(d)}: {verdict}"


def cmd_statistics(args: argparse.Namespace) -> int:
    """statistics.json for every report that kept per-image outcomes, the baselines first
    (the others are compared with them)."""
    from ..scoring.reports import STATISTICS, run_folders
    from ..scoring.statistics import folder_statistics

    folders = [f for f in run_folders(Path(args.reports))
               if args.submission in (None, f.submission)]
    if not folders:
        raise BenchError(f"--reports {args.reports}: no run report"
                         + (f" of {args.submission}" if args.submission else ""))
    written, skipped = 0, []
    for folder in folders:
        stats = folder_statistics(folder)
        if stats is None:
            skipped.append(f"{folder.submission} [{folder.profile}]")
            continue
        folder.write_statistics(stats)
        written += 1
        print(headline(folder.submission, folder.profile, stats))
    if skipped:
        print(f"no per-image outcomes (rerun them to get intervals): {', '.join(skipped)}")
    print(f"wrote {STATISTICS} for {written} report(s)")
    return 0


def _identity(summary: Summary, reports_root: Path, data_root: Path) -> tuple[str, ...]:
    """The corruptions that leave a report's evaluated images unchanged, measured on its
    corrupted sets as ``bench run`` builds them (from its submission YAML)."""
    from ..pipeline.inputs import identity_corruptions, prepare_eval
    from ..verify.audit import submission_of

    spec = submission_of(summary, reports_root)
    sets = prepare_eval(spec.dataset, data_root, spec.test_images, spec.validation_images,
                        spec.corruptions, spec.severities, spec.corruption_seed, "cpu", False)
    return identity_corruptions(spec.corruptions, sets)


def cmd_resummarize(args: argparse.Namespace) -> int:
    """Each report of the profile: its summary recomputed by ``summary.recompute`` from its
    own rows and the baseline's (what ``bench verify`` checks it against), provenance kept
    with ``summarized_by`` added; then its statistics."""
    from corruptions.version import code_version

    from ..scoring.reports import BASELINE, run_folders
    from ..scoring.statistics import baseline_report, folder_statistics
    from ..scoring.summary import recompute

    folders = [f for f in run_folders(Path(args.reports)) if f.profile == args.profile]
    if not folders:
        raise BenchError(f"--reports {args.reports}: no run report of profile {args.profile!r}")
    found = baseline_report(Path(args.reports), args.profile)
    base = found.rows if found else None
    for folder in folders:
        summary, rows = folder.summary(), folder.results()
        if summary.identity is None:  # written before it was recorded: measured now
            summary = replace(summary, identity=_identity(summary, Path(args.reports),
                                                          resolve_data_root(args.data_root)))
        fresh = recompute(summary, rows, rows if folder.submission == BASELINE else base)
        folder.write_summary(replace(fresh, provenance=replace(
            summary.provenance, summarized_by=code_version())))
        stats = folder_statistics(folder)
        if stats is not None:
            folder.write_statistics(stats)
        print(f"{folder.submission} [{folder.profile}]: summary"
              + (", statistics" if stats is not None else "") + " rewritten")
    return 0
