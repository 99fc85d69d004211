"""Bjøntegaard deltas on curves whose answers are known in closed form, and on the
published Kodak anchors."""
from __future__ import annotations

import numpy as np
import pytest

from benchmark.augment.anchors import KODAK
from benchmark.codecs.bjontegaard import FITS, bd, bd_table

BPP = [0.25, 0.5, 1.0, 2.0, 4.0]
PSNR = [26.0, 29.5, 32.0, 34.0, 35.5]


@pytest.mark.parametrize("fit", FITS)
def test_a_curve_against_itself_is_zero(fit):
    r = bd(BPP, PSNR, BPP, PSNR, fit)
    assert r.psnr_db == pytest.approx(0, abs=1e-12) and r.rate_pct == pytest.approx(0, abs=1e-9)
    assert r.bpp_range == pytest.approx((0.25, 4.0)) and r.psnr_range == pytest.approx((26.0, 35.5))


@pytest.mark.parametrize("fit", FITS)
def test_a_constant_psnr_gain_is_the_bd_psnr(fit):
    r = bd(BPP, PSNR, BPP, np.add(PSNR, 1.5), fit)
    assert r.psnr_db == pytest.approx(1.5, abs=1e-9)
    assert r.rate_pct < 0  # the better codec needs fewer bits


@pytest.mark.parametrize("fit", FITS)
def test_half_the_rate_at_every_psnr_is_minus_50_percent(fit):
    r = bd(BPP, PSNR, np.divide(BPP, 2), PSNR, fit)
    assert r.rate_pct == pytest.approx(-50.0, abs=1e-6)
    # the overlap in rate is [0.25, 2]: the BD-PSNR is the mean gain over it, positive
    assert r.bpp_range == pytest.approx((0.25, 2.0)) and r.psnr_db > 0


def test_linear_in_log_rate_has_a_closed_form():
    """PSNR = a + b log10(bpp) for both, test shifted by d in log-rate: BD-PSNR = b d."""
    bpp = np.logspace(-1, 0.5, 6)
    ref = 30 + 6 * np.log10(bpp)
    test = 30 + 6 * (np.log10(bpp) + 0.2)
    for fit in FITS:
        r = bd(bpp, ref, bpp, test, fit)
        assert r.psnr_db == pytest.approx(1.2, abs=1e-9)
        assert r.rate_pct == pytest.approx((10**-0.2 - 1) * 100, abs=1e-6)


def test_curves_that_do_not_overlap_have_no_delta():
    r = bd([0.1, 0.2, 0.3, 0.4], [20, 21, 22, 23], [1, 2, 3, 4], [40, 41, 42, 43])
    assert r.psnr_db is None and r.rate_pct is None and r.bpp_range is None


def test_unsorted_points_and_unknown_fits():
    order = [3, 0, 4, 1, 2]
    a = bd(BPP, PSNR, np.take(BPP, order), np.take(np.add(PSNR, 1), order))
    assert a.psnr_db == pytest.approx(1.0, abs=1e-9)
    with pytest.raises(ValueError, match="fit"):
        bd(BPP, PSNR, BPP, PSNR, "spline")


def test_the_published_factorized_model_is_3_2_db_over_jpeg_on_kodak():
    """The reference note: bmshj2018-factorized is about +3.2 dB BD-PSNR over Pillow's JPEG."""
    jpeg = ([0.221, 0.327, 0.423, 0.508, 0.588, 0.660, 0.729, 0.786, 0.850, 0.906, 0.964, 1.037,
             1.127, 1.240, 1.369, 1.572, 1.859, 2.350, 3.401],
            [23.78, 26.58, 28.04, 29.04, 29.78, 30.38, 30.90, 31.31, 31.70, 32.06, 32.40, 32.79,
             33.23, 33.79, 34.39, 35.24, 36.33, 37.91, 40.56])
    table = bd_table({"jpeg": jpeg, **{c.name: (c.bpp, c.psnr) for c in KODAK}}, "jpeg")
    factorized, hyper = (table[c.name] for c in KODAK)
    assert factorized.psnr_db == pytest.approx(3.2, abs=0.1)
    assert hyper.psnr_db > factorized.psnr_db


def test_kodak_curves_anchor_the_photos_test_split_too():
    """``photos`` is measured on kodim13-24, so its plots carry the Kodak curves."""
    from benchmark.augment.anchors import published_curves

    assert published_curves("photos") == published_curves("kodak") == KODAK
    assert published_curves("fashion-mnist") == ()
