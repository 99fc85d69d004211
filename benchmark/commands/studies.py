"""One command per study (``bench compressed-training``, ``bench storage``, ``bench
fourier-heatmap``, ...): compute it under a profile and write ``reports/studies/<name>/<profile>/``,
then print its verdicts."""
from __future__ import annotations

import argparse
import time
from pathlib import Path

from ..datasets import resolve_data_root


def add_parsers(sub) -> None:
    from ..studies import get_study, study_names

    for name in study_names():
        study = get_study(name)
        p = sub.add_parser(name, help=f"study: {study.description or study.title}",
                           description=f"{study.title}. Profiles: {', '.join(study.profiles)}.")
        p.add_argument("--profile", default="cpu", help=f"one of {', '.join(study.profiles)}")
        p.add_argument("--reports", default="reports", help="reports root (read and written)")
        p.add_argument("--data-root", default=None, help="default: $BENCH_DATA, else ./data")
        p.add_argument("--runs", default="runs", help="checkpoints of the runs it reads")
        p.add_argument("--device", default="auto", help="auto (CUDA when present), cpu or cuda")
        p.add_argument("--quiet", action="store_true", help="no progress bars")
        p.add_argument("--resummarize", action="store_true",
                       help="recompute only the tables and verdicts of the committed report from "
                            "its arrays (after a change to the study's summary code)")
        study.arguments(p)
        p.set_defaults(func=cmd_study, study=name)


def context(args: argparse.Namespace):
    from corruptions.device import resolve_device

    from ..studies import StudyContext
    return StudyContext(Path(args.reports), resolve_data_root(args.data_root), Path(args.runs),
                        resolve_device(args.device), not args.quiet)


def cmd_study(args: argparse.Namespace) -> int:
    from ..studies import get_study, resummarize, run_study, study_dir

    study = get_study(args.study)
    t0 = time.perf_counter()
    if args.resummarize:
        folder, summary = resummarize(study, study_dir(args.reports, study.name, args.profile))
    else:
        config = study.configure(study.profile(args.profile), args)
        folder, summary = run_study(study, args.profile, context(args), config)
    print(format_verdicts(summary))
    print(f"wrote {folder}/summary.json, arrays.npz ({time.perf_counter() - t0:.1f} s)")
    return 0


def format_verdicts(summary: dict) -> str:
    lines = [f"{summary['title']} [{summary['profile']}]"]
    for v in summary["verdicts"]:
        lines += [f"- {v['paper']}: {v['claim']}", f"    paper:    {v['reported']}",
                  f"    measured: {v['measured']}", f"    verdict:  {v['verdict'].upper()} "
                  f"({v['rule']})"]
    return "\n".join(lines)
