"""The leaderboard's data: committed reports read once, turned into ranked rows and the
columns every table shows.

A column knows how its value is shown and how precisely (``Column.kind``); the renderer
shows values through it, and ``check`` reads the rendered text back with the same kinds'
tolerances, never through the formatter, so a formatting bug shows up as a mismatch.
"""
from __future__ import annotations

import functools
import subprocess
from collections.abc import Iterable
from dataclasses import dataclass, fields, is_dataclass
from pathlib import Path

import pandas as pd

from benchmark.scoring.reports import (
    HELD_OUT,
    SUMMARY,
    EvaluationProtocol,
    RunFolder,
    evaluation_protocol,
    read_summary,
    run_folders,
)
from benchmark.scoring.report import SelectionEntry, Summary
from benchmark.scoring.selection import COMMON, MODES, chosen_label
from benchmark.scoring.statistics import (
    CLEAN_CELL,
    Bootstrap,
    CellOutcomes,
    accuracy,
    choice_outcomes,
    difference,
    in_points,
    rank_intervals,
    replicates,
)
from benchmark.studies import study_dir
from benchmark.studies.similarity import lookalikes_of
from corruptions.errors import IntegrityError
from corruptions.files import check_name

SOURCES = {
    "val": "held out, chosen on the corrupted validation split",
    "unseen": "held out, chosen on the extra corruptions of the validation split that change "
              "its images (BDA only)",
    "oracle": "chosen on the very test corruptions it reports, as the thesis did (not held out)",
}
DEFAULT_SOURCE = "val"


@dataclass(frozen=True)
class Report:
    """One ``reports/<id>/<profile>/`` folder."""

    folder: Path
    summary: Summary
    date: str  # when its run finished (read once: older reports ask git)
    statistics: dict | None = None  # statistics.json: intervals and paired comparisons

    @functools.cached_property
    def rows(self) -> pd.DataFrame:
        """Its results, read once for the tracks, its page and the export."""
        return self.run.results()

    @functools.cached_property
    def protocol(self) -> EvaluationProtocol:
        """Rows rank together only when this is the same."""
        return evaluation_protocol(self.summary, self.rows)

    @property
    def id(self) -> str:
        return self.summary.meta.submission

    @property
    def profile(self) -> str:
        return self.summary.meta.profile

    @property
    def dataset(self) -> str:
        return self.summary.meta.dataset

    @property
    def slug(self) -> str:
        """File-name-safe and unique per (id, profile): ids and profiles are validated names."""
        return f"{self.id}--{self.profile}"

    @property
    def page(self) -> str:
        return f"submissions/{self.slug}.html"

    @property
    def run(self) -> RunFolder:
        return RunFolder(self.folder)

    def entry(self, mode: str, source: str) -> SelectionEntry | None:
        return self.summary.entry(mode, source)

    def stats(self, mode: str, source: str) -> dict | None:
        return (self.statistics or {}).get("selection", {}).get(mode, {}).get(source)


def _git_date(folder: Path) -> str:
    """Reports written before runs recorded their date: the day their summary was committed."""
    try:
        out = subprocess.run(["git", "log", "-1", "--format=%cs", "--", SUMMARY],
                             cwd=folder, capture_output=True, text=True, timeout=10)
        return out.stdout.strip() or "-"
    except (OSError, subprocess.SubprocessError):
        return "-"


def load_reports(root: Path) -> list[Report]:
    """Every report under ``root``, in a fixed order (dataset, profile, submission id)."""
    reports = []
    for report in run_folders(root):
        folder, summary = report.folder, report.summary()
        date = summary.provenance.date or _git_date(folder)
        reports.append(Report(folder, summary, date, report.statistics()))
    if not reports:
        raise IntegrityError(f"{root}: no reports (expected <id>/<profile>/summary.json)")
    return sorted(reports, key=lambda r: (r.dataset, r.profile, r.id))


# --------------------------------------------------------------------------- columns
@dataclass(frozen=True)
class Column:
    key: str        # data-field in the HTML; a path into a selection entry for numbers
    label: str
    kind: str       # text | pct | mce | bpp | bytes | size | int | num
    help: str = ""

    def value(self, row: Row):
        if self.key in ROW_FIELDS:
            return getattr(row, self.key)
        if self.key.startswith(STATS):
            return lookup(row.report.stats(row.mode, row.source) or {}, self.key[len(STATS):])
        if self.key.startswith(LOOKALIKES):
            return lookup(row.without_lookalikes or {}, self.key[len(LOOKALIKES):])
        return lookup(row.entry, self.key)


STATS = "stats."  # a column of statistics.json's entry rather than the summary's
LOOKALIKES = "lookalikes."  # computed from the outcomes and the similarity study


ROW_FIELDS = ("rank", "rank_range", "tied", "submission", "kind", "model", "family", "mode",
              "chosen", "resembles", "date")


def lookup(entry, path: str):
    """The value at a dotted ``path`` into a selection entry (its fields, then the dicts
    they hold: ``band_acc.low``) or a statistics entry; None where there is none."""
    value = entry
    for part in path.split("."):
        if isinstance(value, dict):
            value = value.get(part)
        elif is_dataclass(value) and part in {f.name for f in fields(value)}:
            value = getattr(value, part)
        else:
            return None
    return value


# Numbers shown with this many decimals (in the shown unit), and their unit's scale: the
# checker accepts half a unit of the last digit.
DECIMALS = {"pct": 2, "mce": 1, "bpp": 3, "bytes": 2, "size": 1, "int": 0, "num": 4,
            "interval": 2, "delta": 2, "p": 3}
SCALE = {"pct": 100.0, "mce": 100.0, "bpp": 1.0, "bytes": 1e-6, "size": 100.0, "int": 1.0,
         "num": 1.0, "interval": 100.0, "delta": 100.0, "p": 1.0}


def show(kind: str, value) -> str:
    """A value as shown; an interval (a statistics entry) as ``low–high``, a paired
    difference as ``+value [low, high]``, both in points."""
    if value is None:
        return "–"
    if kind == "text":
        return str(value)
    if kind == "interval":
        return f"{100 * value['low']:.2f}–{100 * value['high']:.2f}"
    if kind == "delta":
        return in_points(value, signed=True)
    text = f"{SCALE[kind] * value:.{DECIMALS[kind]}f}"
    return text + (" MB" if kind == "bytes" else "")


INDEX_COLUMNS = (
    Column("rank", "Rank", "int", "within the selection mode and source, by corrupt accuracy"),
    Column("rank_range", "Rank 95%", "text", "the ranks this row takes in 95% of the bootstrap "
           "replicates (every row on the same image draws); blank unless every row of its mode "
           "and source kept per-image outcomes"),
    Column("tied", "≈", "text", "≈: the data cannot tell this row from the one above (the 95% "
           "interval of their paired difference in corrupt accuracy contains 0)"),
    Column("submission", "Submission", "text"),
    Column("kind", "Kind", "text", "reference: one of the field's robust-training recipes "
           "(AugMix, TrivialAugment, RandAugment, AutoAugment), each with the baseline's "
           "training and its own published defaults; combination: two augmentations stacked "
           "(its page pairs it with both parents); blank: the rest"),
    Column("model", "Model", "text"),
    Column("family", "Family", "text", "augmentation family of the training data (+ the "
           "online stage drawn on top every epoch)"),
    Column("mode", "Mode", "text", "BDA: one parameter; BDAD: one per corruption; BDADS: one "
                                   "per corruption and severity"),
    Column("chosen", "Chosen", "text", "the selected quality parameter(s)"),
    Column("clean_acc", "Clean %", "pct", "accuracy on the clean test set"),
    Column("corrupt_acc", "Corrupt %", "pct", "mean over the 15 common corruptions x 5 severities"),
    Column("stats.corrupt_acc", "95% interval", "interval", "of the corrupt accuracy: two-level "
           "bootstrap over the training seeds and the test images (statistics.json)"),
    Column("stats.vs_baseline.corrupt_acc", "Δ baseline", "delta", "corrupt accuracy minus the "
           "baseline's on the same images and seeds, in points, with its 95% interval"),
    Column("stats.vs_baseline.corrupt_acc.p", "p", "p", "two-sided p-value of the difference "
           "from the baseline (bootstrap)"),
    Column("resembles", "Resembles", "text", "the common corruptions its training data "
           "resembles, measured in the baseline classifier's features (similarity study: "
           "augmented and corrupted images nearer each other than either is to the clean "
           "ones); – where the study has not measured this pick"),
    Column("lookalikes.acc.value", "Corrupt w/o look-alikes %", "pct", "the corrupt accuracy "
           "over the common corruptions it does not resemble: robustness, not the test "
           "corruption learned"),
    Column("lookalikes.acc", "95% interval", "interval", "of the corrupt accuracy without "
           "look-alikes: the same bootstrap"),
    Column("cbar_acc", "C-bar %", "pct", "mean over the CIFAR-10-C-bar corruptions x severities "
           "(Mintun et al. 2021: chosen to be unlike the common ones) on test, at the BDA pick; "
           "– where the run did not evaluate them"),
    Column("stats.cbar_acc", "C-bar 95%", "interval", "of the C-bar accuracy: the same "
           "bootstrap"),
    Column("stats.cbar_vs_baseline", "Δ C-bar", "delta", "C-bar accuracy minus the baseline's "
           "on the same images and seeds, in points, with its 95% interval"),
    Column("band_acc.low", "Low %", "pct", "low-frequency corruptions"),
    Column("band_acc.mid", "Mid %", "pct", "mid-frequency corruptions"),
    Column("band_acc.high", "High %", "pct", "high-frequency corruptions"),
    Column("mce", "mCE", "mce", "mean corruption error relative to the baseline (100 = baseline)"),
    Column("bpp", "bpp", "bpp", "bits per pixel of the training data used"),
    Column("file_bytes", "Storage", "bytes", "the training data used, as stored: JPEG files, a "
           "learned codec's bitstreams, PNG files for the rest"),
    Column("relative_size", "Size %", "size", "storage over the original training images as "
           "PNG files (seed 004 reports 14-34% for JPEG)"),
    Column("date", "Date", "text"),
)
ENTRY_COLUMNS = tuple(c for c in INDEX_COLUMNS if c.key not in (
    "rank", "rank_range", "tied", "submission", "kind", "model", "family", "resembles", "date"))


def family_label(report: Report) -> str:
    """The family, with the online stage drawn on top of its sets where there is one."""
    meta = report.summary.meta
    return f"{meta.family} + {meta.online}" if meta.online else meta.family


def kind_of(report: Report) -> str | None:
    """"reference", "combination", or None for the rest."""
    meta = report.summary.meta
    return "reference" if meta.reference else "combination" if meta.parents else None


@dataclass(frozen=True)
class Row:
    report: Report
    mode: str
    source: str
    entry: SelectionEntry
    rank: int = 0
    rank_range: str = ""  # "2–4": the rank's 95% interval
    tied: str = ""        # "≈" when indistinguishable from the row above

    @property
    def submission(self) -> str:
        return self.report.summary.meta.name or self.report.id

    @property
    def model(self) -> str:
        return self.report.summary.meta.model

    @property
    def family(self) -> str:
        return family_label(self.report)

    @property
    def kind(self) -> str | None:
        return kind_of(self.report)

    @property
    def chosen(self) -> str:
        return chosen_label(self.entry.chosen)

    @property
    def date(self) -> str:
        return self.report.date

    @property
    def lookalikes(self) -> tuple[str, ...] | None:
        """The common corruptions its augmentation resembles, as the similarity study of its
        profile measured (its held-out BDA pick); None where unmeasured."""
        found = _lookalikes(self.report.folder.parent.parent, self.report.profile)
        pick, names = (found or {}).get(self.report.id, (None, ()))
        # measured at that parameter: another choice (BDAD, another pick) has none
        return names if pick is not None and self.entry.chosen == pick else None

    @property
    def resembles(self) -> str | None:
        names = self.lookalikes
        return None if names is None else ", ".join(names) or "none"

    @property
    def without_lookalikes(self) -> dict | None:
        """{"acc": estimate}: corrupt accuracy over the common corruptions it does not
        resemble (identities out), with its interval; None where unmeasured."""
        names = self.lookalikes
        o = None if names is None else _choice(self)
        if o is None:
            return None
        left_out = set(names) | set(self.report.summary.identity or ())
        cells = [c for c in o.cells if c[0] in COMMON and c[0] not in left_out]
        return {"acc": accuracy(o, cells, BOOT).as_dict()} if cells else None


@dataclass(frozen=True)
class Table:
    """One track: the reports of a dataset and profile measured under one evaluation
    protocol; only their rows rank together."""

    dataset: str
    profile: str
    rows: tuple[Row, ...]
    protocol: EvaluationProtocol | None = None
    track: int = 0  # the track's number within its dataset and profile

    @property
    def id(self) -> str:
        return f"{self.dataset}--{self.profile}" + (f"--{self.track}" if self.track else "")

    @property
    def measures(self) -> str:
        """What the track's "corrupt" means, in words."""
        return self.protocol.describe() if self.protocol else ""

    @property
    def resolves(self) -> float | None:
        """The smallest difference the track resolves: the median half-width of its rows'
        95% intervals of the difference from the baseline (held-out BDA rows), in [0, 1]."""
        widths = [(d["high"] - d["low"]) / 2 for r in self.rows if (r.mode, r.source) == ("bda", "val")
                  and (d := lookup(r.report.stats(r.mode, r.source) or {}, "vs_baseline.corrupt_acc"))]
        return float(sorted(widths)[len(widths) // 2]) if widths else None


BOOT = Bootstrap()


@functools.lru_cache(maxsize=256)
def _outcomes(folder: Path):
    return RunFolder(folder).outcomes()


@functools.lru_cache(maxsize=16)
def _lookalikes(reports_root: Path, profile: str
                ) -> dict[str, tuple[str, tuple[str, ...]]] | None:
    """Submission -> (pick, its look-alikes there), from the similarity study of
    ``profile``."""
    folder = study_dir(reports_root, "similarity", profile)
    return lookalikes_of(read_summary(folder / SUMMARY)) if (folder / SUMMARY).is_file() else None


def _choice(row: Row) -> CellOutcomes | None:
    found = _outcomes(row.report.folder)
    return None if found is None else choice_outcomes(*found, row.entry.chosen)


def rank_ranges(group: list[Row]) -> tuple[list[str], list[str]]:
    """Each row's rank interval and whether it is tied with the row above, for a group
    ranked best first; blank unless every row kept per-image outcomes on the same images."""
    outs = [_choice(r) for r in group]
    if len(group) < 2 or any(o is None for o in outs) or len({o.images for o in outs}) != 1:
        return [""] * len(group), [""] * len(group)
    cells = [c for c in outs[0].cells if c[0] in COMMON]
    if not cells:
        return [""] * len(group), [""] * len(group)
    reps = [replicates(o.scores(cells), o.seeds, BOOT) for o in outs]
    ranges = [str(a) if a == b else f"{a}–{b}" for a, b in rank_intervals(reps, BOOT.level)]
    tied = [""]
    for above, below in zip(outs, outs[1:]):
        d = difference(above, below, cells, BOOT)
        tied.append("≈" if d.low <= 0 <= d.high else "")
    return ranges, tied


def ranked(rows: Iterable[Row]) -> list[Row]:
    """Rank within (mode, source) by corrupt accuracy, best first; ties share a rank. With
    per-image outcomes, each rank gets its 95% interval and neighbours the data cannot tell
    apart are marked."""
    out = []
    groups: dict[tuple[str, str], list[Row]] = {}
    for r in rows:
        groups.setdefault((r.mode, r.source), []).append(r)
    for (mode, source), group in groups.items():
        group.sort(key=lambda r: (-(r.entry.corrupt_acc or -1.0), r.report.id))
        ranges, tied = rank_ranges(group)
        rank, last = 0, None
        for i, r in enumerate(group, 1):
            acc = r.entry.corrupt_acc
            if acc != last:
                rank, last = i, acc
            out.append(Row(r.report, mode, source, r.entry, rank, ranges[i - 1], tied[i - 1]))
    order = {m: i for i, m in enumerate(MODES)}
    sources = {s: i for i, s in enumerate(SOURCES)}
    return sorted(out, key=lambda r: (sources.get(r.source, 9), order.get(r.mode, 9), r.rank,
                                      r.report.id))


def tables(reports: list[Report]) -> list[Table]:
    """One table per dataset, profile and evaluation protocol (a track), one row per
    submission x mode x source; the track most reports share first."""
    keyed: dict[tuple[str, str], dict[tuple, list[Row]]] = {}
    for rep in reports:
        for mode, sources in rep.summary.selection.items():
            for source, entry in sources.items():
                keyed.setdefault((rep.dataset, rep.profile), {}).setdefault(
                    rep.protocol, []).append(Row(rep, mode, source, entry))
    profile_order = {"full": 0, "gpu": 1, "capacity": 2, "cpu": 3, "ci": 4}
    out = []
    for (d, p), tracks in sorted(keyed.items(), key=lambda kv: (kv[0][0], profile_order.get(
            kv[0][1], 9), kv[0][1])):
        ordered = sorted(tracks.items(), key=lambda kv: (-len({r.report.id for r in kv[1]}),
                                                         repr(kv[0])))
        out += [Table(d, p, tuple(ranked(rows)), protocol, k) for k, (protocol, rows)
                in enumerate(ordered)]
    return out


def peers(reports: list[Report], report: Report) -> list[Report]:
    """The reports in ``report``'s table (same dataset, profile and evaluation protocol)."""
    return [r for r in reports if (r.dataset, r.profile, r.protocol)
            == (report.dataset, report.profile, report.protocol)]


@dataclass(frozen=True)
class ParentComparison:
    """A combination against one of its parents, both at their held-out BDA picks, paired
    on the test images (and seeds): is the stack complementary (above both parents) or
    redundant (no better than the better one)?"""

    parent: Report
    chosen: str  # the parent's pick
    clean: dict | None  # Comparison.as_dict(), this minus the parent, in [0, 1]
    corrupt: dict | None
    cbar: dict | None


def parent_comparisons(reports: list[Report], report: Report) -> list[ParentComparison]:
    """``report``'s paired differences against each parent it names that has a report in
    its track with per-image outcomes (a parent elsewhere is left out)."""
    mine = report.entry(*HELD_OUT)
    found = _outcomes(report.folder)
    if mine is None or found is None:
        return []
    out = []
    track = {r.id: r for r in peers(reports, report)}
    for name in report.summary.meta.parents:
        parent = track.get(name)
        theirs = parent.entry(*HELD_OUT) if parent else None
        other = _outcomes(parent.folder) if theirs else None
        if other is None:
            continue
        a, b = choice_outcomes(*found, mine.chosen), choice_outcomes(*other, theirs.chosen)
        if a.images != b.images:
            continue
        common = [c for c in a.cells if c[0] in COMMON and c in b.cells]
        cbar = None
        if mine.cbar_acc is not None and theirs.cbar_acc is not None:
            ca = choice_outcomes(*found, mine.chosen, suite="cbar")
            cb = choice_outcomes(*other, theirs.chosen, suite="cbar")
            left_out = set(report.summary.identity or ()) | set(parent.summary.identity or ())
            cells = [c for c in ca.cells if c in cb.cells and c[0] not in left_out]
            cbar = difference(ca, cb, cells, BOOT).as_dict() if cells else None
        out.append(ParentComparison(
            parent, chosen_label(theirs.chosen),
            difference(a, b, [CLEAN_CELL], BOOT).as_dict(),
            difference(a, b, common, BOOT).as_dict() if common else None, cbar))
    return out


# --------------------------------------------------------------------------- studies
@dataclass(frozen=True)
class StudyReport:
    """One ``reports/studies/<name>/<profile>/`` folder."""

    folder: Path
    summary: dict

    @property
    def name(self) -> str:
        return self.summary["study"]

    @property
    def profile(self) -> str:
        return self.summary["profile"]

    @property
    def slug(self) -> str:
        return f"{self.name}--{self.profile}"

    @property
    def page(self) -> str:
        return f"studies/{self.slug}.html"

    def tally(self) -> dict[str, int]:
        """How many verdicts of each kind, in the order of ``VERDICTS``."""
        from benchmark.studies import VERDICTS
        counts = {v: 0 for v in VERDICTS}
        for v in self.summary["verdicts"]:
            counts[v["verdict"]] += 1
        return {k: n for k, n in counts.items() if n}


def load_studies(root: Path) -> list[StudyReport]:
    from benchmark.studies import get_study, study_folders

    out = []
    for folder in study_folders(root):
        summary = read_summary(folder / "summary.json")
        if "study" not in summary or "verdicts" not in summary:
            raise IntegrityError(f"{folder / 'summary.json'}: not a study summary")
        get_study(summary["study"])  # a registered name (it names the study's page)
        check_name(summary.get("profile"), f"{folder / 'summary.json'}: profile")
        out.append(StudyReport(folder, summary))
    return out
