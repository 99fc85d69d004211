"""Thesis chapter 3, Figs 3.4 and 3.5: accuracy of classifiers trained on compressed data
against the training data's bit rate and its distortion (PSNR, SSIM), for JPEG, BLS and
BMSHJ, with the model trained on the original data as the reference line.

Everything comes from the run reports of the ``baseline``, ``jpeg_aug``, ``bls_aug`` and
``bmshj_aug`` submissions (``per_param``: each parameter trained on its own, mean over
seeds, accuracy on the clean test set as in the thesis). The verdicts compare families at
equal rate or equal distortion by linear interpolation along each family's curve, inside
the range both families cover; nothing is extrapolated.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import stats

from ..augment.bjontegaard import DEFAULT_FIT, bd
from .base import Claims, Finding, StudyContext, Table, count_verdict, register_study
from .points import gather, rows_of

LEARNED = ("bls", "bmshj")
COMPRESSING = ("jpeg", *LEARNED)


@dataclass(frozen=True)
class CompressedConfig:
    source_profile: str  # the run reports' profile
    submissions: tuple[str, ...] = ("baseline", "jpeg_aug", "bls_aug", "bmshj_aug")


def _curve(a: dict, family: str, x: str) -> tuple[np.ndarray, np.ndarray]:
    """(x, clean accuracy) of one family's points, sorted by x, NaN-free."""
    m = (a["family"] == family) & ~np.isnan(a[x]) & ~np.isnan(a["clean_acc"])
    order = np.argsort(a[x][m], kind="stable")
    return a[x][m][order], a["clean_acc"][m][order]


def at_equal(a: dict, x: str, ref: str, other: str) -> np.ndarray:
    """``other``'s accuracy minus ``ref``'s at each of ``ref``'s points inside ``other``'s
    range of ``x`` (interpolated along ``other``'s curve)."""
    xr, yr = _curve(a, ref, x)
    xo, yo = _curve(a, other, x)
    if len(xo) < 2:
        return np.array([])
    inside = (xr >= xo[0]) & (xr <= xo[-1])
    return np.interp(xr[inside], xo, yo) - yr[inside]


def low_end_gap(a: dict, x: str, low: str, high: str) -> float | None:
    """``low``'s accuracy minus ``high``'s at the lowest ``x`` both families reach."""
    xl, yl = _curve(a, low, x)
    xh, yh = _curve(a, high, x)
    if len(xl) < 2 or len(xh) < 2:
        return None
    start, stop = max(xl[0], xh[0]), min(xl[-1], xh[-1])
    if start > stop:
        return None
    return float(np.interp(start, xl, yl) - np.interp(start, xh, yh))


def log_fit(a: dict, family: str) -> tuple[float, float] | None:
    """(slope b, R^2) of clean accuracy = a + b ln(bpp), least squares."""
    x, y = _curve(a, family, "bpp")
    if len(x) < 3:
        return None
    fit = stats.linregress(np.log(x), y)
    return float(fit.slope), float(fit.rvalue ** 2)


def spearman(a: dict, family: str, x: str) -> float | None:
    xs, ys = _curve(a, family, x)
    if len(xs) < 3:
        return None
    return float(stats.spearmanr(xs, ys).statistic)


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


CLAIMS = Claims()


@CLAIMS.claim("learned-above-jpeg", paper="003 Fig 3.4",
              claim="Classifiers trained on BLS or BMSHJ data are more accurate than on JPEG "
                    "data at every bit rate, the gap largest at low rates.",
              reported="CIFAR-10, VGG11 and ResNet18: learned above JPEG at all rates")
def learned_above_jpeg(config: CompressedConfig, a: dict) -> Finding:
    spread = float(np.nanmean(a["clean_acc_std"][a["family"] != "none"])) if len(a["param"]) else 0.0
    parts, measures, wins, total = [], [], 0, 0
    for f in _learned(a):
        d = at_equal(a, "bpp", "jpeg", f)
        measures.append({"measure": f"{f} - jpeg clean accuracy at JPEG's rates (mean)",
                         "family": f, "points": len(d), "value": float(d.mean()) if len(d) else None})
        wins, total = wins + int((d > 0).sum()), total + len(d)
        if len(d):
            parts.append(f"{f} above JPEG at {int((d > 0).sum())} of {len(d)} JPEG rates in its "
                         f"range (mean {100 * d.mean():+.2f} points)")
    return Finding(
        "; ".join(parts) or "no JPEG rate inside a learned codec's range",
        count_verdict(wins, total),
        f"reproduced if the learned curve is above JPEG at every JPEG rate inside its range, "
        f"partly if at some; the seed spread of one point is {100 * spread:.2f} points",
        tuple(measures))


@CLAIMS.claim("logarithmic-in-rate", paper="003 Fig 3.4",
              claim="Accuracy grows as a logarithmic function of the compression level.",
              reported="stated from the curves, after [11]")
def logarithmic_in_rate(config: CompressedConfig, a: dict) -> Finding:
    good, parts, measures = 0, [], []
    for f in _families(a):
        fit = log_fit(a, f)
        if fit is None:
            continue
        measures += [{"measure": f"{f} slope of clean accuracy in ln(bpp)", "family": f,
                      "points": int((a["family"] == f).sum()), "value": fit[0]},
                     {"measure": f"{f} R^2 of the fit", "family": f,
                      "points": int((a["family"] == f).sum()), "value": fit[1]}]
        good += fit[0] > 0 and fit[1] >= 0.5
        parts.append(f"{f}: slope {100 * fit[0]:+.2f} points per ln(bpp), R^2 {fit[1]:.2f}")
    return Finding(
        "; ".join(parts) or "no family with 3 rates", count_verdict(good, len(parts)),
        "reproduced if accuracy = a + b ln(bpp) fits every family with b > 0 and R^2 >= 0.5, "
        "partly if some", tuple(measures))


@CLAIMS.claim("correlated-with-quality", paper="003 Fig 3.5",
              claim="Accuracy is positively correlated with the training data's PSNR and SSIM.",
              reported="positive for JPEG, BLS, BMSHJ")
def correlated_with_quality(config: CompressedConfig, a: dict) -> Finding:
    good, parts, measures = 0, [], []
    for f in _families(a):
        for x in ("psnr", "ssim"):
            rho = spearman(a, f, x)
            if rho is None:
                continue
            measures.append({"measure": f"{f} Spearman rho of clean accuracy and {x}",
                             "family": f, "points": int((a["family"] == f).sum()), "value": rho})
            good += rho > 0
            parts.append(f"{f} {x} rho {rho:+.2f}")
    return Finding(
        "; ".join(parts) or "too few points", count_verdict(good, len(parts)),
        "reproduced if Spearman's rho > 0 for every family and metric, partly if for some",
        tuple(measures))


@CLAIMS.claim("jpeg-ahead-at-low-quality", paper="003 Fig 3.5",
              claim="For a given low PSNR or SSIM, JPEG-trained models are more accurate than "
                    "BLS/BMSHJ-trained ones; at high quality they are alike.",
              reported="JPEG above at low quality (CIFAR-10)")
def jpeg_ahead_at_low_quality(config: CompressedConfig, a: dict) -> Finding:
    good, parts, measures = 0, [], []
    for f in _learned(a):
        for x in ("psnr", "ssim"):
            gap = low_end_gap(a, x, "jpeg", f)
            if gap is None:
                continue
            measures.append({"measure": f"jpeg - {f} clean accuracy at the lowest common {x}",
                             "family": f, "points": None, "value": gap})
            good += gap > 0
            parts.append(f"JPEG {'above' if gap > 0 else 'below'} {f} at the lowest common "
                         f"{x} ({100 * gap:+.2f} points)")
    return Finding(
        "; ".join(parts) or "no common range", count_verdict(good, len(parts)),
        "reproduced if JPEG is above each learned codec at the lowest PSNR and SSIM both "
        "reach, partly if for some", tuple(measures))


@CLAIMS.claim("as-accurate-as-original", paper="003 Fig 3.4",
              claim="At the higher rates, models trained on compressed data are as accurate "
                    "as (ResNet18: equal or better than) the model trained on the original data.",
              reported="ResNet18 equal or above; VGG11 slightly below")
def as_accurate_as_original(config: CompressedConfig, a: dict) -> Finding:
    base = a["clean_acc"][a["family"] == "none"]
    base_std = a["clean_acc_std"][a["family"] == "none"]
    good, parts, measures = 0, [], []
    if len(base):
        for f in _families(a):
            best = float(np.nanmax(a["clean_acc"][a["family"] == f]))
            measures.append({"measure": f"{f} best clean accuracy minus the original data's",
                             "family": f, "points": int((a["family"] == f).sum()),
                             "value": best - float(base[0])})
            good += best >= base[0] - base_std[0]
            parts.append(f"{f} best {100 * best:.2f}% vs original {100 * base[0]:.2f}%")
    return Finding(
        "; ".join(parts) or "no baseline report", count_verdict(good, len(parts)),
        "reproduced if every family's best parameter is within one seed std of the original "
        "or above it, partly if some", tuple(measures))


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
    table = Table("The measures behind the verdicts.",
                  (("measure", "Measure", "text"), ("points", "Points", "int"),
                   ("value", "Value", "num")),
                  [{k: m[k] for k in ("measure", "points", "value")} for m in measures])
    return {"tables": {"points": points, "rd": rd, "measures": table}, "verdicts": verdicts}


@register_study("compressed-training", title="Training on compressed data (thesis Figs 3.4, 3.5)",
                papers=("003 Fig 3.4", "003 Fig 3.5"), config=CompressedConfig,
                profiles={"ci": CompressedConfig("ci"), "cpu": CompressedConfig("cpu")},
                summarize=summarize, claims=CLAIMS,
                description="accuracy against training-data bpp, PSNR and SSIM, from run reports")
def compute(config: CompressedConfig, ctx: StudyContext) -> dict[str, np.ndarray]:
    return gather(ctx.reports_root, config.source_profile, config.submissions)
