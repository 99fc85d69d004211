"""Frequency profile of a corruption: where in the spectrum does (corrupted - clean) live?

Definition (also in the README). For every image, D = corrupted - clean on [0, 1], and its
power spectrum P = |DFT2(D)|^2 / (H W), averaged over channels (Parseval: the mean of P is
the MSE). Each DFT bin has a radial frequency rho = |f| / f_Nyquist in [0, sqrt 2]:

    low  = rho < 1/3        mid  = 1/3 <= rho < 2/3        high = rho >= 2/3 (corners too)

The bands hold very different numbers of bins (high has most), so a band's weight is its
*density*, the mean power per bin, not its total: white noise has equal density everywhere
and comes out flat (1/3, 1/3, 1/3), not "high". ``shares`` are the three densities
normalised to sum to 1; the measured band is the largest share, and a profile whose densest
band is less than twice its sparsest is flagged ``flat``.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np
import torch

BANDS = ("low", "mid", "high")
BAND_EDGES = (1 / 3, 2 / 3)
RADIAL_BINS = 16
FLAT_RATIO = 2.0


@lru_cache(maxsize=64)
def _bin_maps(h: int, w: int) -> tuple[np.ndarray, np.ndarray]:
    fy = np.fft.fftfreq(h)[:, None] / 0.5
    fx = np.fft.fftfreq(w)[None, :] / 0.5
    rho = np.sqrt(fy**2 + fx**2)
    band = np.digitize(rho, BAND_EDGES).ravel()
    radial = np.minimum((rho / np.sqrt(2) * RADIAL_BINS).astype(int), RADIAL_BINS - 1).ravel()
    return band, radial


def band_map(h: int, w: int) -> np.ndarray:
    """(h, w) band index (0 low, 1 mid, 2 high) of each DFT bin, in ``np.fft.fftfreq`` order."""
    return _bin_maps(h, w)[0].reshape(h, w).copy()


@dataclass
class SpectrumAccumulator:
    """Running sums of difference power per band and radial bin, mergeable across workers."""

    band_power: np.ndarray = field(default_factory=lambda: np.zeros(len(BANDS)))
    band_bins: np.ndarray = field(default_factory=lambda: np.zeros(len(BANDS)))
    radial_power: np.ndarray = field(default_factory=lambda: np.zeros(RADIAL_BINS))
    radial_bins: np.ndarray = field(default_factory=lambda: np.zeros(RADIAL_BINS))
    psnr_sum: float = 0.0
    images: int = 0

    def add(self, clean: np.ndarray, corrupted: np.ndarray) -> None:
        """Add a batch of (N, H, W, C) uint8 pairs of one shape."""
        n, h, w, _ = clean.shape
        d = (corrupted.astype(np.float32) - clean.astype(np.float32)) / 255
        spec = torch.fft.fft2(torch.from_numpy(d), dim=(1, 2))  # complex64: 3x numpy's speed
        power = (spec.abs() ** 2).mean(dim=-1).double().numpy() / (h * w)
        total = power.sum(axis=0).ravel()
        band, radial = _bin_maps(h, w)
        self.band_power += np.bincount(band, total, len(BANDS))
        self.band_bins += n * np.bincount(band, minlength=len(BANDS))
        self.radial_power += np.bincount(radial, total, RADIAL_BINS)
        self.radial_bins += n * np.bincount(radial, minlength=RADIAL_BINS)
        mse = np.maximum((d.astype(np.float64) ** 2).mean(axis=(1, 2, 3)), 1e-12)
        self.psnr_sum += float((10 * np.log10(1.0 / mse)).sum())
        self.images += n

    def merge(self, other: SpectrumAccumulator) -> SpectrumAccumulator:
        return SpectrumAccumulator(
            self.band_power + other.band_power, self.band_bins + other.band_bins,
            self.radial_power + other.radial_power, self.radial_bins + other.radial_bins,
            self.psnr_sum + other.psnr_sum, self.images + other.images)

    def profile(self) -> dict:
        density = self.band_power / np.maximum(self.band_bins, 1)
        total = density.sum()
        shares = density / total if total > 0 else np.full(len(BANDS), 1 / len(BANDS))
        radial = self.radial_power / np.maximum(self.radial_bins, 1)
        flat = bool(total == 0 or density.max() < FLAT_RATIO * density.min())
        return {
            "shares": {b: round(float(s), 4) for b, s in zip(BANDS, shares)},
            "band": BANDS[int(np.argmax(shares))],
            "flat": flat,
            "mse": float(self.band_power.sum() / max(self.band_bins.sum(), 1)),
            "psnr": round(self.psnr_sum / max(self.images, 1), 3),
            # every image left exactly as it was (saturate on grey images): no corruption
            "identity": bool(self.images > 0 and not self.band_power.any()),
            "radial_power": [float(f"{v:.4g}") for v in radial],
            "images": self.images,
        }


def combine(profiles_by_severity: dict[int, SpectrumAccumulator]) -> dict:
    """A corruption's profile over all its severities (the sums, then the shares)."""
    acc = SpectrumAccumulator()
    for a in profiles_by_severity.values():
        acc = acc.merge(a)
    return acc.profile()
