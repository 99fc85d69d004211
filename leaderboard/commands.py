"""The commands this package adds to ``bench`` (registered in pyproject's ``bench.commands``
entry points, so ``benchmark`` never imports upward): ``leaderboard``, ``verify``,
``export``."""
from __future__ import annotations

import argparse
import logging
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from benchmark.verify.session import VerifyOptions


log = logging.getLogger(__name__)


def add_parsers(sub) -> None:
    from benchmark.verify.plan import RERUN_HELP

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
    from benchmark.datasets import resolve_data_root
    from benchmark.scoring.reports import run_folders
    from benchmark.studies import study_folders
    from benchmark.verify.session import Note, Outcome, Stage, VerifyOptions, verify

    options = VerifyOptions(
        reports=Path(args.reports), data_root=resolve_data_root(args.data_root),
        rerun=args.rerun, zoo=not args.no_zoo, zoo_sample=args.zoo_sample,
        submissions=Path(args.submissions) if args.submissions else None,
        scratch=Path(args.scratch) if args.scratch else None)
    failures: list = []
    timings: dict[str, float] = {}
    for event in verify(options):
        if isinstance(event, Outcome):
            failures.extend(event.problems)
            print(f"{'ok  ' if event.ok else 'FAIL'} {event.what}", flush=True)
        elif isinstance(event, Note):
            print(f"note: {event.text}")
        elif isinstance(event, Stage):
            timings[event.name] = event.seconds
    if not args.no_site:
        t0 = time.perf_counter()
        found, checked = _check_site(args.site, options)
        failures.extend(found)
        print(f"{'ok  ' if not found else 'FAIL'} site {args.site or '(built)'}: {checked} numbers")
        timings["site"] = time.perf_counter() - t0
    for m in failures:
        print(m, file=sys.stderr)
    summary = ", ".join(f"{k} {v:.1f} s" for k, v in timings.items())
    if failures:
        print(f"verify: {len(failures)} difference(s) ({summary})", file=sys.stderr)
        return 1
    runs = sum(1 for _ in run_folders(options.reports))
    print(f"verify: {runs} run summaries and {len(study_folders(options.reports))} studies, "
          f"every number reproduced ({summary})")
    return 0


def _check_site(site: str | None, options: VerifyOptions) -> tuple[list, int]:
    """The given site, or one built now from the reports, read back against them."""
    import tempfile

    from .check import check_site
    from .render import build_site

    with tempfile.TemporaryDirectory(prefix="bench-site-") as tmp:
        built = Path(site) if site else build_site(options.reports, Path(tmp) / "site",
                                                  data_root=options.data_root, progress=False,
                                                  figures=False).out
        return check_site(built, options.reports)


def cmd_export(args: argparse.Namespace) -> int:
    from .export import export_robustbench

    written = export_robustbench(Path(args.reports), Path(args.out), args.mode, args.source)
    print(f"wrote {len(written)} files under {args.out}")
    return 0
