"""Frequency profiles: bands weighted by density, so white noise is flat."""
from __future__ import annotations

import numpy as np
import pytest

from corruptions.spectrum import SpectrumAccumulator, combine


def _profile(diff: np.ndarray) -> dict:
    clean = np.full(diff.shape, 128, np.uint8)
    acc = SpectrumAccumulator()
    acc.add(clean, (clean.astype(int) + diff).clip(0, 255).astype(np.uint8))
    return acc.profile()


def test_white_noise_is_flat_not_high():
    rng = np.random.default_rng(0)
    p = _profile(rng.integers(-20, 21, size=(64, 32, 32, 3)))
    assert p["flat"]
    assert all(abs(v - 1 / 3) < 0.03 for v in p["shares"].values())


def test_smooth_difference_is_low_and_checkerboard_is_high():
    yy, xx = np.mgrid[:32, :32]
    smooth = np.round(30 * np.sin(2 * np.pi * xx / 32))[None, ..., None].repeat(4, 0)
    p = _profile(smooth.astype(int))
    assert p["band"] == "low" and not p["flat"] and p["shares"]["low"] > 0.9
    checker = (20 * (-1) ** (yy + xx))[None, ..., None].repeat(4, 0)
    assert _profile(checker)["band"] == "high"


def test_parseval_and_psnr():
    rng = np.random.default_rng(1)
    diff = rng.integers(-10, 11, size=(8, 28, 36, 1))
    p = _profile(diff)
    mse = ((diff / 255.0) ** 2).mean()
    assert p["mse"] == pytest.approx(mse, rel=1e-4)
    assert p["psnr"] == pytest.approx(10 * np.log10(1 / mse), abs=0.2)


def test_merge_equals_one_pass_and_mixed_sizes():
    rng = np.random.default_rng(2)
    a = rng.integers(0, 256, (5, 32, 32, 3), dtype=np.uint8)
    b = rng.integers(0, 256, (5, 32, 32, 3), dtype=np.uint8)
    whole, left, right = SpectrumAccumulator(), SpectrumAccumulator(), SpectrumAccumulator()
    whole.add(a, b)
    left.add(a[:2], b[:2])
    right.add(a[2:], b[2:])
    one, two = whole.profile(), left.merge(right).profile()
    assert one.pop("mse") == pytest.approx(two.pop("mse"))
    assert one == two
    big = SpectrumAccumulator()
    big.add(rng.integers(0, 256, (1, 48, 40, 3), dtype=np.uint8),
            rng.integers(0, 256, (1, 48, 40, 3), dtype=np.uint8))
    both = combine({1: whole, 2: big})
    assert both["images"] == 6 and abs(sum(both["shares"].values()) - 1) < 1e-3
