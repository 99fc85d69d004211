"""Thesis chapter 3, Figs 3.4 and 3.5: accuracy of classifiers trained on compressed data
against the training data's bit rate and its distortion (PSNR, SSIM), for JPEG, BLS and
BMSHJ, with the model trained on the original data as the reference line.

Everything comes from the run reports of the ``baseline``, ``jpeg_aug``, ``bls_aug`` and
``bmshj_aug`` submissions (``per_param``: each parameter trained on its own, mean over
seeds, accuracy on the clean test set as in the thesis). The verdicts compare families at
equal rate or equal distortion by linear interpolation along each family's curve, inside
the range both families cover; nothing is extrapolated. Each measure has the leaderboard's
95% interval (``scoring.statistics``): the reports' per-image clean outcomes resampled over
training seeds and test images, every point on the same draws, so that differences between
families are paired; a claim is reproduced only where its intervals exclude zero in the
claimed direction.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import stats

from ..codecs.bjontegaard import DEFAULT_FIT, bd
from ..scoring.statistics import beyond_noise
from .base import Claims, Finding, StudyContext, Table, register_study
from .intervals import (
    ABOVE_MARGIN,
    ABOVE_ZERO,
    BOOT,
    Cases,
    estimate,
    measure_row,
    measures_table,
    signed_points,
)
from .points import accuracy_replicates, clean_outcomes, gather, rows_of

LEARNED = ("bls", "bmshj")
COMPRESSING = ("jpeg", *LEARNED)


@dataclass(frozen=True)
class CompressedConfig:
    source_profile: str  # the run reports' profile
    submissions: tuple[str, ...] = ("baseline", "jpeg_aug", "bls_aug", "bmshj_aug")


MARGIN = 0.01  # "as accurate as": a non-inferiority margin of one point, fixed in advance


def _curve(a: dict, family: str, x: str) -> tuple[np.ndarray, np.ndarray]:
    """(x, entry indices) of one family's points, sorted by x, NaN-free."""
    m = np.flatnonzero((a["family"] == family) & ~np.isnan(a[x]) & ~np.isnan(a["clean_acc"]))
    order = np.argsort(a[x][m], kind="stable")
    return a[x][m][order], m[order]


def _interpolation(at: np.ndarray, xs: np.ndarray) -> np.ndarray:
    """(len(at), len(xs)): linear interpolation along ``xs`` as a matrix, so that it applies
    to an accuracy and to each of its replicates alike."""
    return np.stack([np.interp(at, xs, e) for e in np.eye(len(xs))], axis=-1)


def rates_inside(a: dict, x: str, ref: str, other: str) -> np.ndarray:
    """``ref``'s values of ``x`` inside ``other``'s range (where ``at_equal`` compares)."""
    xr, _ = _curve(a, ref, x)
    xo, _ = _curve(a, other, x)
    return xr[(xr >= xo[0]) & (xr <= xo[-1])] if len(xo) >= 2 else xr[:0]


def at_equal(a: dict, x: str, ref: str, other: str, values: np.ndarray | None = None) -> np.ndarray:
    """``other``'s accuracy minus ``ref``'s at each of ``ref``'s points inside ``other``'s
    range of ``x`` (interpolated along ``other``'s curve); of ``values`` (entries, ...)
    instead of the clean accuracy when given (its replicates)."""
    values = a["clean_acc"] if values is None else values
    xr, ir = _curve(a, ref, x)
    xo, io = _curve(a, other, x)
    if len(xo) < 2:
        return np.empty((0, *values.shape[1:]))
    inside = (xr >= xo[0]) & (xr <= xo[-1])
    return _interpolation(xr[inside], xo) @ values[io] - values[ir[inside]]


def low_end_gap(a: dict, x: str, low: str, high: str, values: np.ndarray | None = None):
    """``low``'s accuracy minus ``high``'s at the lowest ``x`` both families reach (of
    ``values`` when given); None without a common range."""
    values = a["clean_acc"] if values is None else values
    xl, il = _curve(a, low, x)
    xh, ih = _curve(a, high, x)
    if len(xl) < 2 or len(xh) < 2:
        return None
    start, stop = max(xl[0], xh[0]), min(xl[-1], xh[-1])
    if start > stop:
        return None
    at = np.array([start])
    gap = _interpolation(at, xl) @ values[il] - _interpolation(at, xh) @ values[ih]
    return float(gap[0]) if gap.ndim == 1 else gap[0]


def log_fit(a: dict, family: str) -> tuple[float, float] | None:
    """(slope b, R^2) of clean accuracy = a + b ln(bpp), least squares."""
    x, idx = _curve(a, family, "bpp")
    if len(x) < 3:
        return None
    fit = stats.linregress(np.log(x), a["clean_acc"][idx])
    return float(fit.slope), float(fit.rvalue ** 2)


def slope_replicates(a: dict, family: str, reps: np.ndarray) -> np.ndarray:
    """The least-squares slope in ln(bpp) of each replicate: linear in the accuracies."""
    x, idx = _curve(a, family, "bpp")
    lx = np.log(x) - np.log(x).mean()
    return (lx / (lx ** 2).sum()) @ reps[idx]


def spearman(a: dict, family: str, x: str, reps: np.ndarray | None = None):
    """Spearman's rho of clean accuracy and ``x`` over the family's points (per replicate
    when ``reps`` is given); None under 3 points."""
    xs, idx = _curve(a, family, x)
    if len(xs) < 3:
        return None
    if reps is None:
        return float(stats.spearmanr(xs, a["clean_acc"][idx]).statistic)
    rx = stats.rankdata(xs)
    ry = stats.rankdata(reps[idx], axis=0)
    rx, ry = rx - rx.mean(), ry - ry.mean(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):  # a replicate of equal accuracies
        rho = (rx @ ry) / np.sqrt((rx ** 2).sum() * (ry ** 2).sum(axis=0))
    return np.nan_to_num(rho)


INTERVALS = ("95% intervals: two-level bootstrap over the training seeds and the test images "
             "(every point on the same draws, so differences are paired)")


def rd_delta(a: dict, family: str) -> dict:
    """BD-PSNR and BD-rate of ``family``'s training-data points against JPEG's."""
    def pts(f):
        m = (a["family"] == f) & ~np.isnan(a["bpp"]) & ~np.isnan(a["psnr"])
        return a["bpp"][m], a["psnr"][m]
    r = bd(*pts("jpeg"), *pts(family))
    lo, hi = r.bpp_range or (None, None)
    return {"family": family, "bd_psnr_db": r.psnr_db, "bd_rate_pct": r.rate_pct,
            "bpp_from": lo, "bpp_to": hi}


def _families(a: dict) -> list[str]:
    return [f for f in COMPRESSING if (a["family"] == f).any()]


def _learned(a: dict) -> list[str]:
    return [f for f in LEARNED if f in _families(a)]


CLAIMS = Claims("compressed-training")


@CLAIMS.claim("learned-above-jpeg")
def learned_above_jpeg(config: CompressedConfig, a: dict) -> Finding:
    reps = accuracy_replicates(a, BOOT)
    cases = Cases()
    for f in _learned(a):
        d, dr = at_equal(a, "bpp", "jpeg", f), at_equal(a, "bpp", "jpeg", f, reps)
        if not len(d):
            continue
        rates = rates_inside(a, "bpp", "jpeg", f)
        est = [estimate(v, r) for v, r in zip(d, dr)]
        mean = estimate(float(d.mean()), dr.mean(axis=0))
        cases.measures.append(measure_row(f"{f} - jpeg clean accuracy at JPEG's rates (mean)", mean,
                                          family=f, points=len(d)))
        cases.measures += [measure_row(f"{f} - jpeg clean accuracy at {x:.3f} bpp", e, family=f,
                                       points=1) for x, e in zip(rates, est)]
        s = [beyond_noise(e) for e in est]
        cases.signs += s
        cases.parts.append(f"{f} above JPEG beyond noise at {s.count(1)} of {len(s)} JPEG rates in "
                           f"its range, below at {s.count(-1)} (mean {signed_points(mean)} points)")
    return cases.finding(
        "no JPEG rate inside a learned codec's range",
        "per JPEG rate inside the learned codec's range, the learned minus JPEG clean accuracy "
        f"(interpolated along the learned curve): {ABOVE_ZERO} {INTERVALS}")


@CLAIMS.claim("logarithmic-in-rate")
def logarithmic_in_rate(config: CompressedConfig, a: dict) -> Finding:
    reps = accuracy_replicates(a, BOOT)
    cases = Cases()
    for f in _families(a):
        fit = log_fit(a, f)
        if fit is None:
            continue
        n = int((a["family"] == f).sum())
        slope = estimate(fit[0], slope_replicates(a, f, reps))
        cases.measures += [measure_row(f"{f} slope of clean accuracy in ln(bpp)", slope, family=f,
                                       points=n),
                           {"measure": f"{f} R^2 of the fit", "family": f, "points": n,
                            "value": fit[1], "low": None, "high": None}]
        sign = beyond_noise(slope)
        cases.signs.append(-1 if sign > 0 and fit[1] < 0.5 else sign)
        cases.parts.append(f"{f}: slope {signed_points(slope)} points per ln(bpp), "
                           f"R^2 {fit[1]:.2f}")
    return cases.finding(
        "no family with 3 rates",
        "per family, the least-squares slope b of accuracy = a + b ln(bpp): reproduced if every "
        "family's 95% interval of b lies above zero with R^2 >= 0.5 (a growth that is not "
        "logarithmic counts against), partly if some, within noise if every interval holds "
        f"zero. {INTERVALS}")


@CLAIMS.claim("correlated-with-quality")
def correlated_with_quality(config: CompressedConfig, a: dict) -> Finding:
    reps = accuracy_replicates(a, BOOT)
    cases = Cases()
    for f in _families(a):
        for x in ("psnr", "ssim"):
            rho = spearman(a, f, x)
            if rho is None:
                continue
            e = estimate(rho, spearman(a, f, x, reps))
            cases.add(f"{f} Spearman rho of clean accuracy and {x}", e,
                      f"{f} {x} rho {e.value:+.2f} [{e.low:+.2f}, {e.high:+.2f}]",
                      family=f, points=int((a["family"] == f).sum()))
    return cases.finding(
        "too few points",
        "reproduced if the 95% interval of Spearman's rho lies above zero for every family and "
        "metric, partly if for some, not reproduced if for none and some lie below, within "
        f"noise if all hold zero. {INTERVALS}")


@CLAIMS.claim("jpeg-ahead-at-low-quality")
def jpeg_ahead_at_low_quality(config: CompressedConfig, a: dict) -> Finding:
    reps = accuracy_replicates(a, BOOT)
    cases = Cases()
    for f in _learned(a):
        for x in ("psnr", "ssim"):
            gap = low_end_gap(a, x, "jpeg", f)
            if gap is None:
                continue
            e = estimate(gap, low_end_gap(a, x, "jpeg", f, reps))
            cases.add(f"jpeg - {f} clean accuracy at the lowest common {x}", e,
                      f"JPEG minus {f} at the lowest common {x}: {signed_points(e)} points",
                      family=f, points=None)
    return cases.finding(
        "no common range",
        "JPEG minus each learned codec's clean accuracy at the lowest PSNR and SSIM both reach: "
        f"{ABOVE_ZERO} {INTERVALS}")


@CLAIMS.claim("as-accurate-as-original")
def as_accurate_as_original(config: CompressedConfig, a: dict) -> Finding:
    base = np.flatnonzero(a["family"] == "none")
    cases = Cases()
    if len(base):
        reps = accuracy_replicates(a, BOOT)
        for f in _families(a):
            rates, idx = _curve(a, f, "bpp")
            top = idx[-1]  # the family's highest rate: its least compressed training data
            e = estimate(float(a["clean_acc"][top] - a["clean_acc"][base[0]]),
                          reps[top] - reps[base[0]])
            cases.add(f"{f} at its highest rate minus the original data's clean accuracy", e,
                      f"{f} at {rates[-1]:.2f} bpp ({a['param'][top]}) minus the original: "
                      f"{signed_points(e)} points", -MARGIN, family=f, points=1)
    return cases.finding(
        "no baseline report",
        f"non-inferiority with a margin of {100 * MARGIN:.0f} point, fixed in advance: each "
        f"family at its highest rate minus the original data's clean accuracy; {ABOVE_MARGIN} "
        + INTERVALS)


def summarize(config: CompressedConfig, a: dict) -> dict:
    verdicts, measures = CLAIMS.judge(config, a)
    points = Table("Each parameter trained on its own: training-data rate and distortion, "
                   "clean and corrupt test accuracy (mean over seeds).",
                   (("family", "Family", "text"), ("param", "Parameter", "text"),
                    ("bpp", "bpp", "bpp"), ("psnr", "PSNR dB", "num"), ("ssim", "SSIM", "num"),
                    ("clean_acc", "Clean %", "pct"), ("clean_acc_std", "± std", "pct"),
                    ("corrupt_acc", "Corrupt %", "pct")),
                   rows_of(a))
    rd = Table("Rate-distortion of the training data: Bjøntegaard deltas of each learned "
               f"codec against JPEG on the same images ({DEFAULT_FIT} fit of PSNR over log10 "
               "bpp, overlapping range). Below zero, the learned codec is not yet the one the "
               "thesis trained on.",
               (("family", "Family", "text"), ("bd_psnr_db", "BD-PSNR dB", "num"),
                ("bd_rate_pct", "BD-rate %", "num"), ("bpp_from", "from bpp", "bpp"),
                ("bpp_to", "to bpp", "bpp")),
               [rd_delta(a, f) for f in _learned(a) if "jpeg" in _families(a)])
    table = measures_table(measures, "two-level bootstrap over training seeds and test "
                                     "images, paired")
    return {"tables": {"points": points, "rd": rd, "measures": table}, "verdicts": verdicts}


@register_study("compressed-training", title="Training on compressed data (thesis Figs 3.4, 3.5)",
                papers=("003 Fig 3.4", "003 Fig 3.5"), config=CompressedConfig,
                profiles={"ci": CompressedConfig("ci"), "cpu": CompressedConfig("cpu")},
                summarize=summarize, from_reports=True, claims=CLAIMS,
                description="accuracy against training-data bpp, PSNR and SSIM, from run reports")
def compute(config: CompressedConfig, ctx: StudyContext) -> dict[str, np.ndarray]:
    return {**gather(ctx.reports_root, config.source_profile, config.submissions),
            **clean_outcomes(ctx.reports_root, config.source_profile, config.submissions)}
