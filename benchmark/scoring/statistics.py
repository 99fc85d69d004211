"""Uncertainty on every reported number, from the per-image outcomes (``outcomes.npz``).

A reported accuracy varies for two reasons: another training seed gives another model, and
another draw of test images gives another estimate (Jordan, ICLR 2024: per-example errors are
close to independent, and test-set variance between runs is large). Both are resampled here
by a **two-level bootstrap**: each replicate draws the seeds with replacement and the test
images with replacement, and recomputes the statistic with those weights. An image is drawn
as a whole, with its corrupted versions: the sets of a run share their images, so what an
image does under fog and under noise stays together. Intervals are the percentile intervals
of the replicates (95% unless asked).

Comparisons are **paired** (Bouthillier et al., MLSys 2021): two settings measured on the
same test images get the same image draws in every replicate, and, when they ran the same
seeds, the same seed draws, so the variation they share cancels in their difference. Its
two-sided p-value inverts the percentile interval: twice the smaller share of replicates on
either side of zero, with one added to both counts so it is never zero.

Everything is a pure function of the outcomes and a ``Bootstrap`` (its seed and replicate
count), so ``bench run``, the site and ``bench verify`` compute the same numbers.
"""
from __future__ import annotations

import functools
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from corruptions.errors import DataError

from .reports import (
    BASELINE,
    OUTCOMES,
    RESULTS,
    SUMMARY,
    EvaluationProtocol,
    RunFolder,
    evaluation_protocol,
)
from .report import Summary
from .selection import BANDS, CLEAN, COMMON, cbar_mask, param_of

CLEAN_CELL = (CLEAN, 0)
FORMAT = "statistics/1"
METHOD = ("two-level percentile bootstrap: training seeds and test images drawn with "
          "replacement (an image with all its corrupted versions); paired comparisons share "
          "the draws; p-values invert the percentile interval")


@dataclass(frozen=True)
class Bootstrap:
    """How the replicates are drawn: the draws of a set of images depend only on ``seed``
    and their count, and the draws of seeds only on ``seed`` and the seed list, so any two
    settings on the same images (and seeds) are resampled alike: paired."""

    seed: int = 0
    replicates: int = 2000
    level: float = 0.95

    def images(self, n: int) -> np.ndarray:
        """(replicates, n) weights summing to 1 per replicate: multinomial draws of n images."""
        return _image_weights(self.seed, self.replicates, n)

    def as_dict(self) -> dict:
        return {"seed": self.seed, "replicates": self.replicates, "level": self.level,
                "method": METHOD}

    def seeds(self, seeds: Sequence[int]) -> np.ndarray:
        """(replicates, len(seeds)) weights summing to 1: the training seeds drawn again."""
        k = len(seeds)
        rng = np.random.default_rng([self.seed, 1, k, *(int(s) for s in seeds)])
        return rng.multinomial(k, np.full(k, 1 / k), size=self.replicates) / k


@functools.lru_cache(maxsize=8)
def _image_weights(seed: int, replicates: int, n: int) -> np.ndarray:
    rng = np.random.default_rng([seed, 0, n])
    weights = rng.multinomial(n, np.full(n, 1 / n), size=replicates) / n
    weights.flags.writeable = False  # shared by every caller
    return weights


@dataclass(frozen=True)
class CellOutcomes:
    """One reported choice on one split: whether seed ``s``'s model got image ``i`` right in
    cell ``k`` (a corruption and severity; ``CLEAN_CELL`` for the clean set)."""

    seeds: tuple[int, ...]
    cells: tuple[tuple[str, int], ...]
    correct: np.ndarray  # (seeds, cells, images) bool

    def __post_init__(self) -> None:
        if self.correct.shape[:2] != (len(self.seeds), len(self.cells)):
            raise ValueError(f"outcomes of shape {self.correct.shape} for {len(self.seeds)} "
                             f"seeds and {len(self.cells)} cells")

    @property
    def images(self) -> int:
        return self.correct.shape[2]

    def scores(self, cells: Sequence[tuple[str, int]]) -> np.ndarray:
        """(seeds, images): the share of ``cells`` each seed's model gets each image right in;
        its mean is the accuracy averaged over those cells."""
        idx = [self.cells.index(tuple(c)) for c in cells]
        if not idx:
            raise ValueError("no cells to average over")
        return self.correct[:, idx, :].mean(axis=1)


def one_set(correct: np.ndarray, seeds: Sequence[int]) -> CellOutcomes:
    """A setting measured on one set of images (a study's test set): its (seeds, images)
    outcomes as a single cell, so ``accuracy`` and ``difference`` apply to it as to a run
    report's choice."""
    correct = np.asarray(correct, dtype=bool)
    return CellOutcomes(tuple(int(s) for s in seeds), (CLEAN_CELL,), correct[:, None, :])


@dataclass(frozen=True)
class Estimate:
    """A statistic and its interval."""

    value: float
    low: float
    high: float

    def as_dict(self) -> dict:
        return {"value": self.value, "low": self.low, "high": self.high}


@dataclass(frozen=True)
class Comparison(Estimate):
    """A paired difference (first minus second) and its two-sided p-value."""

    p: float = 1.0

    def as_dict(self) -> dict:
        return {**super().as_dict(), "p": self.p}


def beyond_noise(e: dict | Estimate, than: float = 0.0) -> int:
    """+1 when the interval lies above ``than`` (zero, or a margin fixed in advance), -1 when
    below, 0 when it holds it: a difference is claimed only where its interval excludes it."""
    low, high = (e["low"], e["high"]) if isinstance(e, dict) else (e.low, e.high)
    return 1 if low > than else -1 if high < than else 0


def in_points(e: dict, signed: bool = False) -> str:
    """``value [low, high]`` in percentage points, signed for a difference."""
    f = "+.2f" if signed else ".2f"
    return f"{100 * e['value']:{f}} [{100 * e['low']:{f}}, {100 * e['high']:{f}}]"


# replicates already drawn, by the scores' bytes, seeds and bootstrap (oldest dropped first)
_DRAWN: dict[tuple, np.ndarray] = {}
_DRAWN_MAX = 256


def replicates(scores: np.ndarray, seeds: Sequence[int], boot: Bootstrap) -> np.ndarray:
    """(replicates,) the mean of ``scores`` (seeds, images) under each replicate's draws.

    Remembered for the same scores: a report's selection modes and sources mostly pick the
    same outcomes, and every report of a profile is set against the same baseline, so the
    same weighted means were drawn again and again (a capacity report's statistics: 119
    draws, 14 distinct, each a pass over a 2000 x 10,000 weight matrix). The value returned
    is the one computed first, bit for bit; it is read-only."""
    key = (hashlib.blake2b(np.ascontiguousarray(scores).tobytes(), digest_size=16).digest(),
           scores.shape, scores.dtype.str, tuple(int(v) for v in seeds), boot)
    reps = _DRAWN.get(key)
    if reps is None:
        s, i = boot.seeds(seeds), boot.images(scores.shape[1])
        reps = np.einsum("bs,si,bi->b", s, scores.astype(np.float64), i)
        reps.flags.writeable = False
        if len(_DRAWN) >= _DRAWN_MAX:
            del _DRAWN[next(iter(_DRAWN))]
        _DRAWN[key] = reps
    return reps


def percentile_interval(point: float, reps: np.ndarray, level: float) -> Estimate:
    """``point`` with the percentile interval of its replicates ``reps`` (replicates first)."""
    tail = 100 * (1 - level) / 2
    low, high = np.percentile(reps, [tail, 100 - tail])
    return Estimate(float(point), float(low), float(high))


def accuracy(outcomes: CellOutcomes, cells: Sequence[tuple[str, int]], boot: Bootstrap) -> Estimate:
    """Accuracy averaged over ``cells`` (seed mean), with its two-level bootstrap interval."""
    scores = outcomes.scores(cells)
    return percentile_interval(scores.mean(), replicates(scores, outcomes.seeds, boot), boot.level)


def difference(a: CellOutcomes, b: CellOutcomes, cells: Sequence[tuple[str, int]],
               boot: Bootstrap) -> Comparison:
    """``a``'s accuracy over ``cells`` minus ``b``'s, paired on images (and on seeds when both
    ran the same ones), with its interval and two-sided p-value."""
    if a.images != b.images:
        raise ValueError(f"paired on images: {a.images} against {b.images} test images")
    sa, sb = a.scores(cells), b.scores(cells)
    reps = replicates(sa, a.seeds, boot) - replicates(sb, b.seeds, boot)
    est = percentile_interval(sa.mean() - sb.mean(), reps, boot.level)
    below, above = int((reps <= 0).sum()), int((reps >= 0).sum())
    p = min(1.0, 2 * (min(below, above) + 1) / (len(reps) + 1))
    return Comparison(est.value, est.low, est.high, p)


def mce(a: CellOutcomes, base: CellOutcomes, corruptions: Sequence[str],
        boot: Bootstrap) -> Estimate:
    """Hendrycks and Dietterich's mCE of ``a`` against ``base``: per corruption, ``a``'s
    errors summed over severities over the baseline's, averaged over corruptions; with the
    images (and seeds) of both resampled together."""
    if a.images != base.images:
        raise ValueError(f"paired on images: {a.images} against {base.images} test images")
    point, reps = [], []
    for c in corruptions:
        cells = [k for k in a.cells if k[0] == c and k in base.cells]
        ea, eb = 1 - a.scores(cells), 1 - base.scores(cells)
        point.append(ea.mean() / eb.mean())
        reps.append(replicates(ea, a.seeds, boot) / replicates(eb, base.seeds, boot))
    return percentile_interval(float(np.mean(point)), np.mean(reps, axis=0), boot.level)


def rank_intervals(reps: Sequence[np.ndarray], level: float = 0.95) -> list[tuple[int, int]]:
    """Per setting, the interval of its rank (1 = highest) over the replicates, given the
    replicates of each setting's statistic drawn on the same images: what rank the data
    support, not only the point estimate's."""
    stacked = np.stack(reps)  # (settings, replicates)
    # rank = 1 + how many settings are strictly higher in that replicate
    ranks = 1 + (stacked[None, :, :] > stacked[:, None, :]).sum(axis=1)
    tail = 100 * (1 - level) / 2
    lo, hi = np.percentile(ranks, [tail, 100 - tail], axis=1, method="nearest")
    return [(int(a), int(b)) for a, b in zip(lo, hi)]


# --------------------------------------------------------------------------- a report's
def choice_outcomes(keys: pd.DataFrame, masks: list[np.ndarray], chosen: object,
                    split: str = "test", suite: str = "c") -> CellOutcomes:
    """The outcomes of a reported choice (``chosen`` as the summary describes it: one
    parameter, or one per corruption or cell) on ``split``, from a report's outcomes: the
    clean and C cells, or (``suite="cbar"``) the C-bar ones at a BDA pick."""
    bar = cbar_mask(keys["corruption"])
    at = np.flatnonzero((keys["split"] == split).to_numpy() & (bar == (suite == "cbar")))
    if not len(at):
        raise DataError(f"no outcomes of the {suite} suite on {split} in this report")
    part = keys.iloc[at]
    seeds = tuple(sorted(int(s) for s in part["seed"].unique()))
    cells = tuple(dict.fromkeys((str(c), int(v)) for c, v in zip(part["corruption"], part["severity"])))
    index = {(str(r.param), int(r.seed), str(r.corruption), int(r.severity)): int(i)
             for i, r in zip(at, part.itertuples(index=False))}
    correct = np.stack([np.stack([masks[index[(param_of(chosen, c, v), s, c, v)]]
                                  for c, v in cells]) for s in seeds])
    return CellOutcomes(seeds, cells, correct)


def _metrics(o: CellOutcomes, bands: dict[str, str], boot: Bootstrap) -> dict:
    common = [c for c in o.cells if c[0] in COMMON]
    out = {"clean_acc": accuracy(o, [CLEAN_CELL], boot).as_dict(),
           "corrupt_acc": accuracy(o, common, boot).as_dict() if common else None,
           "band_acc": {}, "severity_acc": {}}
    for b in BANDS:
        cells = [c for c in common if bands.get(c[0]) == b]
        out["band_acc"][b] = accuracy(o, cells, boot).as_dict() if cells else None
    for sev in sorted({v for _, v in common}):
        out["severity_acc"][str(sev)] = accuracy(o, [c for c in common if c[1] == sev],
                                                 boot).as_dict()
    return out


def _against(o: CellOutcomes, other: CellOutcomes, boot: Bootstrap) -> dict:
    """``o`` minus ``other`` on clean and on the common corruptions, paired."""
    common = [c for c in o.cells if c[0] in COMMON and c in other.cells]
    return {"clean_acc": difference(o, other, [CLEAN_CELL], boot).as_dict(),
            "corrupt_acc": difference(o, other, common, boot).as_dict() if common else None}


def _cbar_stats(o: CellOutcomes, baseline: CellOutcomes | None, identity: Sequence[str],
                boot: Bootstrap) -> dict:
    """C-bar accuracy at a BDA pick, and its paired difference from the baseline's."""
    cells = [c for c in o.cells if c[0] not in set(identity)]
    paired = baseline is not None and baseline.images == o.images and all(
        c in baseline.cells for c in cells)
    return {"cbar_acc": accuracy(o, cells, boot).as_dict(),
            "cbar_vs_baseline": difference(o, baseline, cells, boot).as_dict() if paired
            else None}


def report_statistics(summary: Summary, rows: pd.DataFrame, keys: pd.DataFrame,
                      masks: list[np.ndarray], baseline: PairedBaseline | None,
                      boot: Bootstrap = Bootstrap()) -> dict:
    """Intervals for every reported choice of a run report (clean, corrupt, band and
    severity accuracy), its paired difference from the baseline of its profile and its mCE
    interval (when the baseline ran on the same test images), at each BDA pick its C-bar
    accuracy and difference (when C-bar was evaluated), and, per mode, what picking on
    held-out validation data costs against the oracle's pick on test (the oracle's
    optimism), paired."""
    bands = dict(zip(rows["corruption"], rows["band"]))
    base = baseline.c if baseline is not None else None
    has_cbar = bool(cbar_mask(keys["corruption"]).any())
    out = {"format": FORMAT, "bootstrap": boot.as_dict(), "selection": {}, "optimism": {}}
    picked: dict[tuple[str, str], CellOutcomes] = {}
    for mode, sources in summary.selection.items():
        out["selection"][mode] = {}
        for source, entry in sources.items():
            o = choice_outcomes(keys, masks, entry.chosen)
            picked[mode, source] = o
            stats = _metrics(o, bands, boot)
            paired = base is not None and base.images == o.images
            stats["vs_baseline"] = _against(o, base, boot) if paired else None
            common = sorted({c for c, _ in o.cells if c in COMMON}, key=COMMON.index)
            stats["mce"] = mce(o, base, common, boot).as_dict() if paired and common else None
            if mode == "bda" and has_cbar:
                stats.update(_cbar_stats(
                    choice_outcomes(keys, masks, entry.chosen, suite="cbar"),
                    baseline.cbar if baseline is not None else None, summary.identity or (),
                    boot))
            out["selection"][mode][source] = stats
        if (mode, "oracle") in picked and (mode, "val") in picked:
            out["optimism"][mode] = _against(picked[mode, "oracle"], picked[mode, "val"], boot)
    out["images"] = int(next(iter(picked.values())).images) if picked else 0
    return out


@dataclass(frozen=True)
class BaselineReport:
    """A profile's baseline report as the other reports of the profile use it: its rows
    (what their mCE is relative to), how it was evaluated, and its per-image outcomes on test
    at its one parameter, on the C cells and on the C-bar ones (what their paired
    differences are against; None where it kept none or evaluated none)."""

    rows: pd.DataFrame
    protocol: EvaluationProtocol
    outcomes: CellOutcomes | None
    cbar_outcomes: CellOutcomes | None = None


@dataclass(frozen=True)
class PairedBaseline:
    """The baseline's outcomes a report is compared with: on the C cells when both were
    evaluated alike there, on the C-bar cells when both evaluated the same ones."""

    c: CellOutcomes | None
    cbar: CellOutcomes | None


def baseline_report(reports_root, profile: str) -> BaselineReport | None:
    """The profile's ``baseline`` report; None where it has not run. Read once per version
    of its files: every report of the profile asks."""
    folder = RunFolder.at(reports_root, BASELINE, profile)
    if not (folder.exists() and folder.path(RESULTS).is_file()):
        return None
    stamp = tuple(folder.path(name).stat().st_mtime_ns if folder.path(name).is_file() else None
                  for name in (SUMMARY, RESULTS, OUTCOMES))
    return _baseline_report(folder, stamp)


@functools.lru_cache(maxsize=4)
def _baseline_report(folder: RunFolder, stamp: tuple) -> BaselineReport:
    summary, rows, found = folder.summary(), folder.results(), folder.outcomes()
    protocol = evaluation_protocol(summary, rows)
    if found is None:
        return BaselineReport(rows, protocol, None)
    chosen = summary.entry("bda", "oracle").chosen
    return BaselineReport(rows, protocol, choice_outcomes(*found, chosen),
                          choice_outcomes(*found, chosen, suite="cbar") if protocol.cbar
                          else None)


def comparable_baseline(summary: Summary, rows: pd.DataFrame,
                        baseline: BaselineReport | None) -> PairedBaseline | None:
    """The baseline's outcomes where it was measured under the same evaluation protocol as
    this report (``reports.EvaluationProtocol``), the C suite and C-bar each on its own;
    else there is no paired comparison."""
    if summary.meta.submission == BASELINE or baseline is None:
        return None
    mine = evaluation_protocol(summary, rows)
    c = baseline.outcomes if baseline.protocol.on_c() == mine.on_c() else None
    cbar = (baseline.cbar_outcomes if mine.cbar and baseline.protocol.cbar == mine.cbar
            and baseline.protocol.dataset == mine.dataset else None)
    return None if c is None and cbar is None else PairedBaseline(c, cbar)


def folder_statistics(folder: RunFolder, boot: Bootstrap = Bootstrap()) -> dict | None:
    """``report_statistics`` of a written report, against its profile's baseline; None when
    it kept no per-image outcomes."""
    found = folder.outcomes()
    if found is None:
        return None
    summary, rows = folder.summary(), folder.results()
    base = comparable_baseline(summary, rows, baseline_report(folder.root, folder.profile))
    return report_statistics(summary, rows, *found, base, boot)
