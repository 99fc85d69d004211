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
from .base import StudyContext, Table, Verdict, register_study
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


def _count_verdict(passed: int, total: int) -> str:
    if total == 0:
        return "not testable here"
    return "reproduced" if passed == total else "partly" if passed else "not reproduced"


def summarize(config: CompressedConfig, a: dict) -> dict:
    families = [f for f in COMPRESSING if (a["family"] == f).any()]
    learned = [f for f in LEARNED if f in families]
    base = a["clean_acc"][a["family"] == "none"]
    base_std = a["clean_acc_std"][a["family"] == "none"]
    spread = float(np.nanmean(a["clean_acc_std"][a["family"] != "none"])) if len(a["param"]) else 0.0
    measures, verdicts = [], []

    # Fig 3.4: learned codecs above JPEG at every rate
    parts, wins, total = [], 0, 0
    for f in learned:
        d = at_equal(a, "bpp", "jpeg", f)
        measures.append({"measure": f"{f} - jpeg clean accuracy at JPEG's rates (mean)",
                         "family": f, "points": len(d), "value": float(d.mean()) if len(d) else None})
        wins, total = wins + int((d > 0).sum()), total + len(d)
        if len(d):
            parts.append(f"{f} above JPEG at {int((d > 0).sum())} of {len(d)} JPEG rates in its "
                         f"range (mean {100 * d.mean():+.2f} points)")
    verdicts.append(Verdict(
        "003 Fig 3.4", "Classifiers trained on BLS or BMSHJ data are more accurate than on JPEG "
        "data at every bit rate, the gap largest at low rates.",
        "CIFAR-10, VGG11 and ResNet18: learned above JPEG at all rates",
        "; ".join(parts) or "no JPEG rate inside a learned codec's range",
        _count_verdict(wins, total),
        f"reproduced if the learned curve is above JPEG at every JPEG rate inside its range, "
        f"partly if at some; the seed spread of one point is {100 * spread:.2f} points"))

    # Fig 3.4 (citing [11]): accuracy logarithmic in the rate
    good, parts = 0, []
    for f in families:
        fit = log_fit(a, f)
        if fit is None:
            continue
        measures += [{"measure": f"{f} slope of clean accuracy in ln(bpp)", "family": f,
                      "points": int((a["family"] == f).sum()), "value": fit[0]},
                     {"measure": f"{f} R^2 of the fit", "family": f,
                      "points": int((a["family"] == f).sum()), "value": fit[1]}]
        good += fit[0] > 0 and fit[1] >= 0.5
        parts.append(f"{f}: slope {100 * fit[0]:+.2f} points per ln(bpp), R^2 {fit[1]:.2f}")
    verdicts.append(Verdict(
        "003 Fig 3.4", "Accuracy grows as a logarithmic function of the compression level.",
        "stated from the curves, after [11]", "; ".join(parts) or "no family with 3 rates",
        _count_verdict(good, len(parts)),
        "reproduced if accuracy = a + b ln(bpp) fits every family with b > 0 and R^2 >= 0.5, "
        "partly if some"))

    # Fig 3.5: accuracy correlates with PSNR and SSIM
    good, parts = 0, []
    for f in families:
        for x in ("psnr", "ssim"):
            rho = spearman(a, f, x)
            if rho is None:
                continue
            measures.append({"measure": f"{f} Spearman rho of clean accuracy and {x}",
                             "family": f, "points": int((a["family"] == f).sum()), "value": rho})
            good += rho > 0
            parts.append(f"{f} {x} rho {rho:+.2f}")
    verdicts.append(Verdict(
        "003 Fig 3.5", "Accuracy is positively correlated with the training data's PSNR and SSIM.",
        "positive for JPEG, BLS, BMSHJ", "; ".join(parts) or "too few points",
        _count_verdict(good, len(parts)),
        "reproduced if Spearman's rho > 0 for every family and metric, partly if for some"))

    # Fig 3.5: at low quality JPEG is the more accurate for a given distortion
    good, parts = 0, []
    for f in learned:
        for x in ("psnr", "ssim"):
            gap = low_end_gap(a, x, "jpeg", f)
            if gap is None:
                continue
            measures.append({"measure": f"jpeg - {f} clean accuracy at the lowest common {x}",
                             "family": f, "points": None, "value": gap})
            good += gap > 0
            parts.append(f"JPEG {'above' if gap > 0 else 'below'} {f} at the lowest common "
                         f"{x} ({100 * gap:+.2f} points)")
    verdicts.append(Verdict(
        "003 Fig 3.5", "For a given low PSNR or SSIM, JPEG-trained models are more accurate "
        "than BLS/BMSHJ-trained ones; at high quality they are alike.",
        "JPEG above at low quality (CIFAR-10)", "; ".join(parts) or "no common range",
        _count_verdict(good, len(parts)),
        "reproduced if JPEG is above each learned codec at the lowest PSNR and SSIM both "
        "reach, partly if for some"))

    # Fig 3.4: compressed data reaches the original data's accuracy
    good, parts = 0, []
    if len(base):
        for f in families:
            best = float(np.nanmax(a["clean_acc"][a["family"] == f]))
            measures.append({"measure": f"{f} best clean accuracy minus the original data's",
                             "family": f, "points": int((a["family"] == f).sum()),
                             "value": best - float(base[0])})
            good += best >= base[0] - base_std[0]
            parts.append(f"{f} best {100 * best:.2f}% vs original {100 * base[0]:.2f}%")
    verdicts.append(Verdict(
        "003 Fig 3.4", "At the higher rates, models trained on compressed data are as accurate "
        "as (ResNet18: equal or better than) the model trained on the original data.",
        "ResNet18 equal or above; VGG11 slightly below",
        "; ".join(parts) or "no baseline report", _count_verdict(good, len(parts)),
        "reproduced if every family's best parameter is within one seed std of the original "
        "or above it, partly if some"))

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
               [rd_delta(a, f) for f in learned if "jpeg" in families])
    table = Table("The measures behind the verdicts.",
                  (("measure", "Measure", "text"), ("points", "Points", "int"),
                   ("value", "Value", "num")),
                  [{k: m[k] for k in ("measure", "points", "value")} for m in measures])
    return {"tables": {"points": points, "rd": rd, "measures": table}, "verdicts": verdicts}


@register_study("compressed-training", title="Training on compressed data (thesis Figs 3.4, 3.5)",
                papers=("003 Fig 3.4", "003 Fig 3.5"), config=CompressedConfig,
                profiles={"ci": CompressedConfig("ci"), "cpu": CompressedConfig("cpu")},
                summarize=summarize,
                description="accuracy against training-data bpp, PSNR and SSIM, from run reports")
def compute(config: CompressedConfig, ctx: StudyContext) -> dict[str, np.ndarray]:
    return gather(ctx.reports_root, config.source_profile, config.submissions)
