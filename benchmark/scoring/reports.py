"""The run reports' folders, ``<reports root>/<submission>/<profile>/``: their layout, the
order files are written in, and the lookups other reports make into them.

One owner, so the runner that writes a report, ``bench verify`` that rechecks it, the studies
that build on it and the leaderboard that shows it agree on where each file is, what a
finished report is (``summary.json`` is written last; a folder without one is unfinished),
whose results the mCE is relative to and which parameter a report picked on held-out data.
The file formats themselves belong to ``results`` (tables, outcomes, spectra) and
``summary`` (the summary's fields).
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import pandas as pd

from corruptions import files
from corruptions.errors import DataError, IntegrityError

from .results import (
    read_history,
    read_outcomes,
    read_results,
    read_spectra,
    write_outcomes,
    write_parquet,
    write_spectra,
)
from .report import Summary
from .selection import BASELINE, COMMON, is_cbar, split_cbar
from .summary import check_fields

SUMMARY = "summary.json"
RESULTS = "results.parquet"
HISTORY = "history.parquet"
OUTCOMES = "outcomes.npz"
SPECTRA = "spectra.npz"
STATISTICS = "statistics.json"  # intervals and paired comparisons (``statistics``)
HELD_OUT = ("bda", "val")  # the pick a report makes without seeing test data: BDA on validation


@dataclass(frozen=True)
class EvaluationProtocol:
    """What a report's numbers were measured on: the dataset, each split's corruption x
    severity cells with their image counts (``(split, corruption, severity, n)``, sorted),
    and the training parameters whose transform the evaluation sets were passed through (a
    ``transformed-*`` set). Two reports' numbers are comparable, and rankable together, only
    when this is the same. (The sets' manifest hashes would say more, but they differ in the
    last bits of some corruptions between CPU kinds.)"""

    dataset: str
    cells: tuple[tuple[str, str, int, int], ...]
    transformed: tuple[str, ...] = ()
    identity: tuple[str, ...] = ()  # corruptions that left the images unchanged: not averaged
    cbar: tuple[tuple[str, str, int, int], ...] = ()  # the CIFAR-10-C-bar cells (test)

    def on_c(self) -> EvaluationProtocol:
        """The protocol of the C suite alone: what the headline numbers' paired comparisons
        need to share (C-bar is compared on ``cbar`` alone)."""
        return replace(self, cbar=(), identity=tuple(c for c in self.identity if not is_cbar(c)))

    def describe(self) -> str:
        """What "corrupt" means under this protocol, in words: a track's title line."""
        test = [(c, v, n) for split, c, v, n in self.cells if split == "test" and c != "clean"]
        corruptions = sorted({c for c, _, _ in test})
        severities = sorted({v for _, v, _ in test})
        images = sorted({n for _, _, n in test})
        val = sorted({n for split, _, _, n in self.cells if split == "validation"})
        common = [c for c in corruptions if c in COMMON]
        text = (f"{'/'.join(map(str, images))} test images; corrupt = mean over "
                f"{len(common)} of the 15 common corruptions x severities "
                f"{', '.join(map(str, severities))}"
                + (f" ({len(corruptions) - len(common)} more evaluated)"
                   if len(corruptions) > len(common) else ""))
        text += f"; {val[0]} validation images" if val else "; no validation split"
        if self.transformed:
            text += ("; tested on images passed through each training parameter's transform ("
                     + ", ".join(self.transformed) + ")")
        if self.cbar:
            bar = sorted({c for _, c, _, _ in self.cbar})
            text += (f"; C-bar = mean over {len(bar)} of the 10 CIFAR-10-C-bar corruptions x "
                     f"severities {', '.join(map(str, sorted({v for _, _, v, _ in self.cbar})))}"
                     " on test")
        if self.identity:
            text += (f"; {', '.join(self.identity)} left these images unchanged (the identity: "
                     "its accuracy is the clean one), so it is out of the unseen pick and the "
                     "thesis-ten average")
        return text


def evaluation_protocol(summary: Summary, rows: pd.DataFrame) -> EvaluationProtocol:
    """A report's ``EvaluationProtocol``, from its summary's data provenance and its rows."""
    data = summary.provenance.data or {}
    # transformed-<param>-<split>: the evaluation sets passed through a training parameter
    transformed = tuple(sorted({k[len("transformed-"):].rsplit("-", 1)[0] for k in data
                                if k.startswith("transformed-")}))
    def cells(part: pd.DataFrame) -> tuple[tuple[str, str, int, int], ...]:
        found = part[["split", "corruption", "severity", "n"]].drop_duplicates()
        return tuple(sorted((str(a), str(b), int(c), int(d))
                            for a, b, c, d in found.itertuples(index=False)))

    c_rows, cbar_rows = split_cbar(rows)
    return EvaluationProtocol(dataset=summary.meta.dataset, transformed=transformed,
                              identity=summary.identity or (), cells=cells(c_rows),
                              cbar=cells(cbar_rows))


def read_summary(path: Path) -> dict:
    """A JSON summary file as it is (a run's, a study's, statistics)."""
    try:
        return json.loads(Path(path).read_text())
    except (OSError, ValueError) as e:
        raise IntegrityError(f"{path}: cannot read ({e})") from None


def read_report(path: Path) -> Summary:
    """A run report's summary as types, its fields checked first (one line naming what a
    damaged file lacks)."""
    d = check_fields(read_summary(path), path)
    try:
        return Summary.from_dict(d)
    except (KeyError, TypeError, ValueError, AttributeError) as e:
        raise IntegrityError(f"{path}: not a summary ({type(e).__name__}: {e})") from None


@dataclass(frozen=True)
class RunFolder:
    """One report folder; its submission and profile are its two last path parts.

    ``memo`` keeps each file once read: for ``bench verify``, whose checks read the same
    files of a report several times while nothing writes them. Without it every call reads
    the disk again, as a run that writes the folder needs."""

    folder: Path
    memo: bool = field(default=False, compare=False)
    _read: dict = field(default_factory=dict, compare=False, repr=False)

    @classmethod
    def of(cls, folder: Path | RunFolder) -> RunFolder:
        """A report folder from its path, or the one given."""
        return folder if isinstance(folder, RunFolder) else cls(Path(folder))

    def _once(self, name: str, read):
        if not self.memo:
            return read()
        if name not in self._read:
            self._read[name] = read()
        return self._read[name]

    @classmethod
    def at(cls, reports_root: Path, submission: str, profile: str) -> RunFolder:
        return cls(Path(reports_root) / submission / profile)

    @property
    def submission(self) -> str:
        return self.folder.parent.name

    @property
    def profile(self) -> str:
        return self.folder.name

    @property
    def root(self) -> Path:
        return self.folder.parent.parent

    def path(self, name: str) -> Path:
        return self.folder / name

    def exists(self) -> bool:
        """Finished: the summary is the last file a run writes."""
        return self.path(SUMMARY).is_file()

    def summary(self) -> Summary:
        """The summary, its fields checked; a missing report names the command that makes it."""
        if not self.exists():
            raise DataError(f"{self.path(SUMMARY)}: no report (run: bench run --submission "
                            f"submissions/{self.submission}.yaml --profile {self.profile})")
        return self._once(SUMMARY, lambda: read_report(self.path(SUMMARY)))

    def results(self) -> pd.DataFrame:
        return self._once(RESULTS, lambda: read_results(self.path(RESULTS)))

    def history(self) -> pd.DataFrame | None:
        return self._once(HISTORY, lambda: read_history(self.path(HISTORY))
                          if self.path(HISTORY).is_file() else None)

    def spectra(self) -> dict[str, np.ndarray] | None:
        return read_spectra(self.path(SPECTRA)) if self.path(SPECTRA).is_file() else None

    def outcomes(self) -> tuple[pd.DataFrame, list[np.ndarray]] | None:
        """The per-image outcomes' keys and masks; None for a report written before they
        were kept."""
        return self._once(OUTCOMES, lambda: read_outcomes(self.path(OUTCOMES))
                          if self.path(OUTCOMES).is_file() else None)

    def required_outcomes(self) -> tuple[pd.DataFrame, list[np.ndarray]]:
        """The outcomes of a report that must have kept them (what a study or comparison is
        resampled from); one without names the command that rewrites it."""
        found = self.outcomes()
        if found is None:
            raise DataError(f"{self.folder}: no per-image outcomes (rerun: bench run --submission "
                            f"submissions/{self.submission}.yaml --profile {self.profile})")
        return found

    def statistics(self) -> dict | None:
        return read_summary(self.path(STATISTICS)) if self.path(STATISTICS).is_file() else None

    def write_statistics(self, statistics: dict) -> None:
        files.write_json(self.path(STATISTICS), statistics)

    def write_summary(self, summary: Summary) -> None:
        """A summary rewritten over the same rows (``bench resummarize``)."""
        files.write_json(self.path(SUMMARY), summary.to_dict())

    def write(self, summary: Summary, rows: pd.DataFrame, history: pd.DataFrame,
              outcomes: list[np.ndarray], spectra: dict[str, np.ndarray] | None,
              statistics: dict | None = None) -> None:
        """Every file, the summary last and the old one removed first, so that a run cut
        short leaves an unfinished folder rather than a summary over other rows; a spectra
        or statistics file the new report has none of goes too."""
        self.path(SUMMARY).unlink(missing_ok=True)
        write_parquet(self.path(RESULTS), rows)
        write_parquet(self.path(HISTORY), history)
        write_outcomes(self.path(OUTCOMES), rows, outcomes)
        for name, content, write in ((SPECTRA, spectra, write_spectra),
                                     (STATISTICS, statistics, files.write_json)):
            if content:
                write(self.path(name), content)
            else:
                self.path(name).unlink(missing_ok=True)
        files.write_json(self.path(SUMMARY), summary.to_dict())


def run_folders(reports_root: Path) -> list[RunFolder]:
    """Every finished report, the baseline's first within an order that does not depend on
    the file system (reruns need the baseline's rows before the others' mCE)."""
    found = sorted(p.parent for p in Path(reports_root).glob(f"*/*/{SUMMARY}"))
    found.sort(key=lambda p: (p.parent.name != BASELINE, p.parent.name, p.name))
    return [RunFolder(p) for p in found]


def report_summary(reports_root: Path, submission: str, profile: str) -> Summary:
    return RunFolder.at(reports_root, submission, profile).summary()


def held_out_pick(summary: Summary) -> str | None:
    """The parameter the report chose by BDA on the held-out validation split."""
    entry = summary.entry(*HELD_OUT)
    return entry.chosen if entry else None
