"""Bjøntegaard deltas: how far apart two rate-distortion curves are, on average.

BD-PSNR is the mean vertical gap (dB) between the curves over the rate range both cover;
BD-rate the mean horizontal gap, as the percentage of extra (negative: saved) rate the test
codec needs for the same PSNR over the PSNR range both cover (Bjøntegaard, VCEG-M33, 2001).
Rates enter as log10(bpp), so the average is over orders of magnitude of rate.

Two fits of each curve:
- ``cubic``: a least-squares cubic polynomial through all points, integrated exactly: the
  original method, what the codec anchors (and most learned-compression papers) quote;
- ``pchip``: the piecewise cubic Hermite interpolant (monotone, through every point), the
  later VCEG/JVET recommendation, which does not overshoot on curves of few or uneven points.

Pure functions: ``bench rd``, the codec zoo's table, the leaderboard and ``bench verify``
all compute the same numbers from the same points.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy.interpolate import PchipInterpolator

FITS = ("cubic", "pchip")
DEFAULT_FIT = "cubic"


@dataclass(frozen=True)
class BDResult:
    """One test curve against a reference curve. ``psnr_db`` / ``rate_pct`` are None when
    the curves share no range (or a curve has too few points to fit)."""

    psnr_db: float | None
    rate_pct: float | None
    fit: str
    bpp_range: tuple[float, float] | None  # the overlapping rate range (bpp)
    psnr_range: tuple[float, float] | None  # the overlapping PSNR range (dB)

    def as_dict(self) -> dict:
        return {"bd_psnr_db": self.psnr_db, "bd_rate_pct": self.rate_pct, "fit": self.fit,
                "bpp_range": list(self.bpp_range) if self.bpp_range else None,
                "psnr_range": list(self.psnr_range) if self.psnr_range else None}


def _clean(x: Sequence[float], y: Sequence[float]) -> tuple[np.ndarray, np.ndarray]:
    """Points sorted by x, non-finite ones dropped; a repeated x keeps the mean of its ys
    (PCHIP needs strictly increasing abscissae)."""
    x, y = np.asarray(x, np.float64), np.asarray(y, np.float64)
    ok = np.isfinite(x) & np.isfinite(y)
    x, y = x[ok], y[ok]
    ux, inv = np.unique(x, return_inverse=True)
    uy = np.bincount(inv, weights=y) / np.bincount(inv)
    return ux, uy


def _mean_over(x: np.ndarray, y: np.ndarray, lo: float, hi: float, fit: str) -> float:
    """Mean of the fitted y(x) over [lo, hi]."""
    if fit == "cubic":
        poly = np.polyint(np.polyfit(x, y, min(3, len(x) - 1)))
        return float((np.polyval(poly, hi) - np.polyval(poly, lo)) / (hi - lo))
    if fit == "pchip":
        return float(PchipInterpolator(x, y).integrate(lo, hi) / (hi - lo))
    raise ValueError(f"unknown Bjøntegaard fit {fit!r} (one of {', '.join(FITS)})")


def _gap(xa, ya, xb, yb, fit: str) -> tuple[float | None, tuple[float, float] | None]:
    """Mean of (curve b - curve a) over the x range both cover."""
    (xa, ya), (xb, yb) = _clean(xa, ya), _clean(xb, yb)
    if len(xa) < 2 or len(xb) < 2:
        return None, None
    lo, hi = max(xa.min(), xb.min()), min(xa.max(), xb.max())
    if not hi > lo:
        return None, None
    return _mean_over(xb, yb, lo, hi, fit) - _mean_over(xa, ya, lo, hi, fit), (lo, hi)


def bd(ref_bpp: Sequence[float], ref_psnr: Sequence[float], test_bpp: Sequence[float],
       test_psnr: Sequence[float], fit: str = DEFAULT_FIT) -> BDResult:
    """BD-PSNR (dB, positive: test better) and BD-rate (%, negative: test needs fewer bits)
    of the test curve against the reference curve."""
    if fit not in FITS:
        raise ValueError(f"unknown Bjøntegaard fit {fit!r} (one of {', '.join(FITS)})")
    ref_bpp, test_bpp = (np.asarray(b, np.float64) for b in (ref_bpp, test_bpp))
    with np.errstate(divide="ignore", invalid="ignore"):
        lr_ref, lr_test = np.log10(ref_bpp), np.log10(test_bpp)
    dpsnr, lrange = _gap(lr_ref, ref_psnr, lr_test, test_psnr, fit)
    dlog, prange = _gap(ref_psnr, lr_ref, test_psnr, lr_test, fit)
    return BDResult(
        psnr_db=dpsnr, rate_pct=None if dlog is None else float((10**dlog - 1) * 100), fit=fit,
        bpp_range=None if lrange is None else (float(10 ** lrange[0]), float(10 ** lrange[1])),
        psnr_range=None if prange is None else (float(prange[0]), float(prange[1])))


def bd_table(curves: dict[str, tuple[Sequence[float], Sequence[float]]], reference: str,
             fit: str = DEFAULT_FIT) -> dict[str, BDResult]:
    """Every curve (name -> (bpp, psnr)) against ``curves[reference]``, the reference left out."""
    ref = curves[reference]
    return {name: bd(*ref, *c, fit=fit) for name, c in curves.items() if name != reference}
