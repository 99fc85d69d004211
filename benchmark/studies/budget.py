"""Do the leaderboard's conclusions survive a bigger training budget? Every submission of
the capacity track against the baseline, paired on the same images and seeds, at a low budget
(the ``cpu`` profile) and at a high one (the ``capacity`` profile: the classifier trained to
what the data allows on 2 cores), on the clean test set, the common corruptions and C-bar;
then whether each gain's sign, the ranking, and the clean cost of compression hold from one
budget to the other.

A budget is a whole recipe, not one recipe run longer: ``cpu`` trains ``small_cnn`` on 15k
images for 6 epochs; ``capacity`` trains ``cnn6_16`` on all 55k for 15 epochs (cosine
schedule, bf16 autocast), tests with test-time flip and selects on twice the validation
images, around the ``cpu`` pick. What moves between them is the effect of all of that.

Within a budget every submission is resampled with the same draws as the baseline (paired),
as on the leaderboard, on all of that budget's test images. Across budgets the comparison is
made on the test images both evaluated (the low budget's: the first of the same split), so
that the budget is all that differs, precision included: the images are resampled alike
(paired image by image) and the training seeds apart (seed 0 of one recipe is no relation of
seed 0 of the other).
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
from scipy import stats

from corruptions.errors import DataError

from ..scoring.reports import RunFolder, held_out_pick
from ..scoring.selection import BASELINE, COMMON, is_cbar
from ..scoring.statistics import (
    CLEAN_CELL,
    CellOutcomes,
    Estimate,
    beyond_noise,
    choice_outcomes,
    replicates,
)
from .base import Claims, Finding, StudyContext, Table, register_study
from .intervals import (
    ABOVE_ZERO,
    BOOT,
    Cases,
    estimate_draws,
    interval_columns,
    interval_fields,
    measure_row,
    measures_table,
    signed_points,
)

# the capacity track: the baseline, the codec families, noise and the field's recipes
CAPACITY = ("baseline", "jpeg_aug", "jpeg2000_aug", "bls_aug", "bmshj_aug", "bls_top2",
            "noise_aug", "augmix", "trivialaugment", "deepaugment_bls")
COMPRESSION = ("jpeg_aug", "jpeg2000_aug", "bls_aug", "bmshj_aug", "bls_top2", "deepaugment_bls")
METRICS = ("clean", "c", "cbar")  # what each gain is measured on
SHOWN = {"clean": "clean", "c": "C", "cbar": "C-bar"}
INTERVALS = ("95% intervals: the leaderboard's two-level bootstrap over training seeds and "
             "test images, paired with the baseline within a budget; across budgets on the "
             "test images both evaluated, resampled alike, the training seeds resampled apart")
# the high budget's training seeds, drawn apart from the low budget's where the two are set
# against each other (the images are drawn with BOOT's draws at both)
HIGH_SEEDS = replace(BOOT, seed=BOOT.seed + 1)


@dataclass(frozen=True)
class BudgetConfig:
    low: str   # the profile of the small budget
    high: str  # the profile of the large one
    submissions: tuple[str, ...] = CAPACITY  # the baseline first
    compression: tuple[str, ...] = COMPRESSION  # those of ``submissions`` that compress


# ----------------------------------------------------------------------------- compute
def _cells(o: CellOutcomes, metric: str, identity: tuple[str, ...]) -> list[tuple[str, int]]:
    """The cells a metric averages over: the clean one; the common corruptions'; C-bar's
    (identities out, as the leaderboard's C-bar accuracy)."""
    if metric == "clean":
        return [CLEAN_CELL]
    return [c for c in o.cells if c != CLEAN_CELL and c[0] not in identity
            and (is_cbar(c[0]) if metric == "cbar" else c[0] in COMMON)]


def _counts(o: CellOutcomes, cells: list[tuple[str, int]]) -> np.ndarray:
    """(seeds, images) uint8: in how many of ``cells`` each seed's model got each image
    right."""
    return o.correct[:, [o.cells.index(c) for c in cells], :].sum(axis=1).astype(np.uint8)


def budget_outcomes(reports_root: Path, profile: str, submissions: tuple[str, ...]
                    ) -> dict[str, np.ndarray]:
    """One budget's arrays: each submission's held-out BDA pick and its per-image counts
    (submissions, metrics, seeds, images) on clean, C and C-bar, with how many cells each
    count is out of. Every report must have run the same seeds on the same images and
    evaluated C-bar, so that all pair with the baseline. A report tests the first N images of
    the split (``evaluation.test_images``), so two budgets share their smaller one's."""
    counts, picks, cells, shape = [], [], None, None
    for sub in submissions:
        folder = RunFolder.at(reports_root, sub, profile)
        s, found = folder.summary(), folder.required_outcomes()
        pick = held_out_pick(s)
        c, bar = choice_outcomes(*found, pick), choice_outcomes(*found, pick, suite="cbar")
        if not bar.cells:
            raise DataError(f"{folder.folder}: evaluates no C-bar corruption (evaluation.cbar)")
        if shape is None:
            shape = (c.seeds, c.images)
        if (c.seeds, c.images) != shape or (bar.seeds, bar.images) != shape:
            raise DataError(f"{folder.folder}: seeds {c.seeds} on {c.images} test images, the "
                            f"baseline's {shape[0]} on {shape[1]}: not paired")
        identity = tuple(s.identity or ())
        per_metric = [(o, _cells(o, m, identity)) for o, m in ((c, "clean"), (c, "c"),
                                                                (bar, "cbar"))]
        out_of = [len(x) for _, x in per_metric]
        if cells is None:
            cells = out_of
        if out_of != cells:
            raise DataError(f"{folder.folder}: cells {out_of} (clean, C, C-bar), the baseline's "
                            f"{cells}: not the same evaluation")
        counts.append(np.stack([_counts(o, x) for o, x in per_metric]))
        picks.append(str(pick))
    return {"counts": np.stack(counts), "cells": np.asarray(cells, dtype=np.int64),
            "seeds": np.asarray(shape[0], dtype=np.int64), "pick": np.asarray(picks)}


# ----------------------------------------------------------------------------- measures
def gain_draws(a: dict, budget: str, k: int, metric: str) -> np.ndarray:
    """Submission ``k``'s accuracy minus the baseline's (index 0) on ``metric``: the point
    first, the paired bootstrap's replicates after. ``budget`` "low" or "high": on all that
    budget's test images, as its report's statistics; "shared": the high budget on the low
    budget's images, its seeds drawn apart (``HIGH_SEEDS``), so that replicate r of it and of
    "low" resample the same images and nothing else in common."""
    m = METRICS.index(metric)
    which = "low" if budget == "low" else "high"
    counts, out_of = a[f"{which}_counts"], float(a[f"{which}_cells"][m])
    diff = (counts[k, m].astype(np.float64) - counts[0, m]) / out_of  # (seeds, images)
    seeds = [int(s) for s in a[f"{which}_seeds"]]
    if budget != "shared":
        return np.concatenate([[diff.mean()], replicates(diff, seeds, BOOT)])
    diff = diff[:, :a["low_counts"].shape[-1]]
    reps = np.einsum("bs,si,bi->b", HIGH_SEEDS.seeds(seeds), diff, BOOT.images(diff.shape[1]))
    return np.concatenate([[diff.mean()], reps])


def accuracy_of(a: dict, budget: str, k: int, metric: str) -> float:
    m = METRICS.index(metric)
    return float(a[f"{budget}_counts"][k, m].mean() / a[f"{budget}_cells"][m])


def _says(e: Estimate) -> str:
    return {1: "better", -1: "worse"}.get(beyond_noise(e), "tied")


def _subs(a: dict) -> list[tuple[int, str]]:
    """The submissions but the baseline, with their indices."""
    return list(enumerate(a["submission"].tolist()))[1:]


def rank_draws(a: dict, metric: str) -> np.ndarray:
    """Spearman's rank correlation, across the submissions, of their gains at the low budget
    against their gains at the high one on the same images: the point first, then one per
    bootstrap replicate (images drawn alike, seeds apart). A replicate in which every gain
    ties at one budget has no ranking to correlate: it counts as no association (0)."""
    low = np.stack([gain_draws(a, "low", k, metric) for k, _ in _subs(a)])   # (subs, 1 + reps)
    high = np.stack([gain_draws(a, "shared", k, metric) for k, _ in _subs(a)])
    with warnings.catch_warnings():  # constant input: the NaN handled below
        warnings.simplefilter("ignore", stats.ConstantInputWarning)
        rho = np.array([stats.spearmanr(low[:, r], high[:, r]).statistic
                        for r in range(low.shape[1])])
    return np.nan_to_num(rho, nan=0.0)


# ----------------------------------------------------------------------------- claims
CLAIMS = Claims("budget")
SIGNS_RULE = (
    "per submission and measure (clean, C, C-bar) whose gain over the baseline lies beyond "
    "noise at {low}: +1 if its interval at {high}, on {low}'s test images, lies beyond zero on "
    "the same side, -1 if on the other, 0 if it holds zero; reproduced if every case is +1, "
    "partly if some are, not reproduced if none is and some are -1, within noise otherwise "
    "(every such gain lost in the noise at {high}). Each case is its own 95% interval, with no "
    "correction for their number: the more cases, the stricter 'every'.")
RANK_RULE = (
    "per suite (C, C-bar), Spearman's rank correlation across the submissions of their gains "
    "over the baseline at {low} and at {high} on the same test images, its interval from "
    "bootstrap replicates that draw the images alike and each budget's seeds apart; "
    "reproduced says the two rankings are positively associated, not that they are the same "
    "(rho shows how far): " + ABOVE_ZERO)
COST_RULE = (
    "per compression submission, the change of its clean gain over the baseline (its clean "
    "cost negated) from {low} to {high}, on {low}'s test images: above zero where the cost "
    "shrinks (or a gain grows), below where it grows (or a gain turns into a cost); "
    + ABOVE_ZERO)


def _rule(rule: str, config: BudgetConfig) -> str:
    return f"{rule.format(low=config.low, high=config.high)} {INTERVALS}"


@CLAIMS.claim("gain-signs-survive")
def gain_signs_survive(config: BudgetConfig, a: dict) -> Finding:
    cases = Cases()
    for k, sub in _subs(a):
        for metric in METRICS:
            low = estimate_draws(gain_draws(a, "low", k, metric))
            sign = beyond_noise(low)
            if not sign:
                continue
            high = estimate_draws(gain_draws(a, "shared", k, metric))
            kept = sign * beyond_noise(high)
            cases.signs.append(kept)
            cases.measures.append(measure_row(f"{sub} gain on {SHOWN[metric]} at {config.high}",
                                              high, points=1))
            if kept <= 0:
                cases.parts.append(f"{sub} on {SHOWN[metric]}: {signed_points(low)} at "
                                   f"{config.low}, {signed_points(high)} at {config.high} "
                                   f"({'reversed' if kept < 0 else 'within noise'})")
    if cases.signs:
        cases.parts.insert(0, f"{cases.signs.count(1)} of {len(cases.signs)} differences beyond "
                              f"noise at {config.low} keep their sign beyond noise at "
                              f"{config.high}")
    return cases.finding(f"no gain beyond noise at {config.low}", _rule(SIGNS_RULE, config))


@CLAIMS.claim("ranking-survives")
def ranking_survives(config: BudgetConfig, a: dict) -> Finding:
    cases = Cases()
    if len(_subs(a)) < 3:
        return cases.finding("fewer than three submissions to rank", "needs three or more")
    for metric in ("c", "cbar"):
        e = estimate_draws(rank_draws(a, metric))
        cases.add(f"Spearman rho of the gains on {SHOWN[metric]}, {config.low} vs {config.high}",
                  e, f"on {SHOWN[metric]}: rho {e.value:+.2f} [{e.low:+.2f}, {e.high:+.2f}]",
                  points=len(_subs(a)))
    return cases.finding("", _rule(RANK_RULE, config))


@CLAIMS.claim("compression-clean-cost-shrinks")
def clean_cost_shrinks(config: BudgetConfig, a: dict) -> Finding:
    cases = Cases()
    for k, sub in _subs(a):
        if sub not in config.compression:
            continue
        low, high = gain_draws(a, "low", k, "clean"), gain_draws(a, "shared", k, "clean")
        e = estimate_draws(high - low)
        cases.add(f"{sub} clean gain at {config.high} minus at {config.low}", e,
                  f"{sub}: clean {signed_points(estimate_draws(low))} at {config.low}, "
                  f"{signed_points(estimate_draws(high))} at {config.high}", points=1)
    return cases.finding("no compression submission in both budgets", _rule(COST_RULE, config))


# ----------------------------------------------------------------------------- summary
def _group(config: BudgetConfig, sub: str) -> str:
    return "compression" if sub in config.compression else "other"


def artefact(says_low: str, says_high: str) -> str:
    """Whether the small budget's conclusion is one of its budget: ``yes`` where it found a
    difference beyond noise that the large budget does not (a sign lost or turned); ``hidden``
    where it found a tie and the large budget a difference (a leaderboard reader would have
    read "no effect"); ``no`` where both budgets say the same."""
    if says_low == says_high:
        return "no"
    return "hidden" if says_low == "tied" else "yes"


def gains_table(config: BudgetConfig, a: dict) -> Table:
    """Every submission's gain over the baseline at both budgets, what each says, and where
    the low budget's conclusion does not hold at the high one (a budget artefact)."""
    rows = []
    for k, sub in _subs(a):
        for metric in METRICS:
            low_draws = gain_draws(a, "low", k, metric)
            high_draws = gain_draws(a, "shared", k, metric)
            low, high = estimate_draws(low_draws), estimate_draws(high_draws)
            says_low, says_high = _says(low), _says(high)
            rows.append({"submission": sub, "group": _group(config, sub),
                         "measure": SHOWN[metric], "pick_low": str(a["low_pick"][k]),
                         "pick_high": str(a["high_pick"][k]),
                         **interval_fields("low", low, stem="low"),
                         "says_low": says_low,
                         **interval_fields("high", high, stem="high"),
                         "says_high": says_high,
                         "artefact": artefact(says_low, says_high),
                         **interval_fields("change", estimate_draws(high_draws - low_draws)),
                         **interval_fields("high_all", estimate_draws(
                             gain_draws(a, "high", k, metric)))})
    n_low, n_high = a["low_counts"].shape[-1], a["high_counts"].shape[-1]
    return Table(
        f"Each submission against the baseline at {config.low} and at {config.high}, both at "
        "their held-out BDA picks: accuracy minus the baseline's (points, 95% interval, paired "
        "on the same images and seeds) on the clean test set, the common corruptions and "
        f"C-bar, on the {n_low} test images both budgets evaluated; change: {config.high} "
        f"minus {config.low} on them; artefact: yes where a difference beyond noise at "
        f"{config.low} is not the same at {config.high}, hidden where {config.low} saw a tie "
        f"and {config.high} a difference beyond noise (the small budget missed it); last, "
        f"{config.high}'s gain on all its {n_high} test images (its report's).",
        (("submission", "Submission", "text"), ("group", "Group", "text"),
         ("measure", "On", "text"), ("pick_low", f"Pick {config.low}", "text"),
         ("pick_high", f"Pick {config.high}", "text"),
         *interval_columns("low", f"Δ {config.low}", stem="low"),
         ("says_low", f"At {config.low}", "text"),
         *interval_columns("high", f"Δ {config.high}", stem="high"),
         ("says_high", f"At {config.high}", "text"), ("artefact", "Artefact", "text"),
         *interval_columns("change", "Change"),
         *interval_columns("high_all", f"Δ {config.high}, {n_high} images")), rows)


def accuracy_table(config: BudgetConfig, a: dict) -> Table:
    rows = [{"submission": sub, **{f"{b}_{m}": accuracy_of(a, b, k, m)
                                   for b in ("low", "high") for m in METRICS}}
            for k, sub in enumerate(a["submission"].tolist())]
    return Table(
        f"Accuracy at each budget (seed mean, held-out BDA pick): {config.low} on "
        f"{a['low_counts'].shape[-1]} test images, {config.high} on "
        f"{a['high_counts'].shape[-1]}.",
        (("submission", "Submission", "text"),
         *((f"{b}_{m}", f"{SHOWN[m].capitalize() if m == 'clean' else SHOWN[m]} % "
            f"{getattr(config, b)}", "pct") for b in ("low", "high") for m in METRICS)), rows)


def summarize(config: BudgetConfig, a: dict) -> dict:
    verdicts, measures = CLAIMS.judge(config, a)
    return {"tables": {"accuracy": accuracy_table(config, a), "gains": gains_table(config, a),
                       "measures": measures_table(measures, INTERVALS)},
            "verdicts": verdicts}


@register_study("budget", title="Conclusions across training budgets",
                papers=("this benchmark",), config=BudgetConfig,
                profiles={"ci": BudgetConfig("ci", "cpu"), "cpu": BudgetConfig("cpu", "capacity")},
                summarize=summarize, from_reports=True, claims=CLAIMS,
                description="every gain over the baseline at two training budgets, paired, "
                            "from run reports")
def compute(config: BudgetConfig, ctx: StudyContext) -> dict[str, np.ndarray]:
    if config.submissions[:1] != (BASELINE,):
        raise DataError(f"budget: the submissions must start with {BASELINE}")
    out = {"submission": np.asarray(config.submissions)}
    for budget, profile in (("low", config.low), ("high", config.high)):
        for k, v in budget_outcomes(ctx.reports_root, profile, config.submissions).items():
            out[f"{budget}_{k}"] = v
    if out["low_counts"].shape[-1] > out["high_counts"].shape[-1]:
        raise DataError(f"budget: {config.low} tests {out['low_counts'].shape[-1]} images, "
                        f"{config.high} {out['high_counts'].shape[-1]}: the low budget's test "
                        "images must be among the high one's")
    return out
