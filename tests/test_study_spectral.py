"""Seed 002's spectral measures: the DFT magnitude of a known error lands on its frequency
and band, the stored maps keep the mean with DC at the centre, and the verdicts follow the
numbers they are decided from."""
from __future__ import annotations

import numpy as np
import pytest

from benchmark.cli import main
from benchmark.studies import get_study, verdict_named
from benchmark.studies.spectral import (
    SpectralConfig,
    band_density,
    magnitude,
    shares,
    small_map,
)


def _wave(h: int, w: int, fy: int, fx: int, amp: float) -> np.ndarray:
    y, x = np.meshgrid(np.arange(h), np.arange(w), indexing="ij")
    return amp * np.cos(2 * np.pi * (fy * y / h + fx * x / w))


def test_a_cosine_error_lands_on_its_frequency_and_band():
    h = w = 64
    base = np.full((2, h, w, 3), 128, np.uint8)
    for (fy, fx), band in (((1, 2), 0), ((14, 10), 1), ((30, 28), 2)):
        noisy = (base + _wave(h, w, fy, fx, 40)[None, :, :, None]).round().astype(np.uint8)
        m = magnitude(noisy, base).mean(axis=0)
        peaks = {tuple(int(v) for v in p) for p in np.argwhere(m > 0.5 * m.max())}
        assert peaks == {(fy, fx), ((-fy) % h, (-fx) % w)}
        assert int(np.argmax(shares(band_density(m)))) == band


def test_small_maps_keep_the_mean_and_centre_dc():
    m = np.zeros((64, 64))
    m[0, 0] = 64.0 * 64.0  # DC only
    s = small_map(m, 32)
    assert s.shape == (32, 32) and s.mean() == pytest.approx(m.mean())
    assert np.unravel_index(np.argmax(s), s.shape) == (16, 16)


def _per_image(a: dict, n: int = 4, spread: float = 0.0) -> dict:
    """The study's per-image arrays from per-setting values: ``n`` images alike, or, with
    ``spread``, the last (learned) setting's high-band measures ``1 + spread`` times the
    value on half of them and ``1 - spread`` times on the other half (the mean kept, the
    images disagreeing)."""
    tilt = np.where(np.arange(n) < n // 2, 1 + spread, 1 - spread)
    out = {k: a[k] for k in ("setting", "corruption", "n_images")}
    for k in ("bpp_clean", "bpp", "d_mse", "g_mse", "r_mse", "input_mse"):
        out[k] = np.repeat(a[k][..., None], n, axis=-1)
    out["d_band"] = np.repeat(a["d_band"][:, None], n, axis=1)
    out["d_band"][-1, :, 2] *= tilt
    out["g_mse"][-1, 2] *= tilt  # gaussian_noise, the high group
    out["r_mse"][-1, 2] *= tilt[::-1]
    return out


def _arrays(d_high: tuple[float, float], g_high: float, r_high: tuple[float, float],
            spread: float = 0.0) -> dict:
    """Two settings (jpeg:10, bls:0.01), three corruptions (one per published group)."""
    corr = np.array(["fog", "defocus_blur", "gaussian_noise"])
    d_band = np.array([[0.5, 0.3, 0.0], [0.2, 0.3, 0.0]])
    d_band[:, 2] = d_high
    d_mse = np.array([1e-3, 1e-3])
    g_mse = np.array([[2e-3, 2e-3, 2e-3], [1e-3, 1e-3, g_high * 1e-3]])
    input_mse = np.array([1e-2, 1e-2, 1e-2])
    r_mse = np.array([[1e-2, 1e-2, 1e-2 / 10 ** (r_high[0] / 10)],
                      [1e-2, 1e-2, 1e-2 / 10 ** (r_high[1] / 10)]])
    return _per_image({"setting": np.array(["jpeg:10", "bls:0.01"]), "corruption": corr,
                       "n_images": np.array([4]), "bpp_clean": np.array([0.5, 0.4]),
                       "bpp": np.full((2, 3), 0.5), "d_band": d_band, "d_mse": d_mse,
                       "g_mse": g_mse, "r_mse": r_mse, "input_mse": input_mse}, spread=spread)


def test_the_verdicts_follow_the_numbers():
    study = get_study("spectral")
    config = study.profile("ci")
    good = study.summarize(config, _arrays(d_high=(0.1, 0.9), g_high=3.0, r_high=(1.0, 2.5)))
    assert [v.verdict for v in good["verdicts"]] == ["reproduced"] * 3
    row = good["tables"]["corrupted"].rows[1]
    assert row["r_high"] == pytest.approx(2.5) and row["g_high"] == pytest.approx(3.0)
    bad = study.summarize(config, _arrays(d_high=(0.9, 0.1), g_high=0.5, r_high=(2.5, 1.0)))
    assert [v.verdict for v in bad["verdicts"]] == ["not reproduced"] * 3
    assert isinstance(config, SpectralConfig)


def test_images_that_disagree_leave_the_verdicts_within_noise():
    """The same means as a reproducing case, but half the images say the opposite: every
    interval holds zero, and the measures table shows why."""
    study = get_study("spectral")
    config = study.profile("ci")
    a = _arrays(d_high=(0.3, 0.36), g_high=1.1, r_high=(1.0, 1.1), spread=0.9)
    out = study.summarize(config, a)
    high = {v.name: v.verdict for v in out["verdicts"]}
    assert high["generalise-to-low-mid"] == high["denoise-high-better"] == "within noise"
    rows = {r["measure"]: r for r in out["tables"]["measures"].rows}
    d = rows["bls:0.01 minus jpeg:10 high-band share of D"]
    assert d["low"] < 0 < d["high"] and d["low"] < d["value"] < d["high"]
    r = rows["bls:0.01 minus jpeg:10 R on the high group (dB)"]
    assert r["low"] < 0 < r["high"]
    # alike images: the same means, zero-width intervals, every case decided
    same = study.summarize(config, _arrays(d_high=(0.3, 0.36), g_high=1.1, r_high=(1.0, 1.1)))
    rows = {r["measure"]: r for r in same["tables"]["measures"].rows}
    e = rows["bls:0.01 minus jpeg:10 high-band share of D"]
    assert e["low"] == pytest.approx(e["high"]) == pytest.approx(d["value"])
    assert {v.name: v.verdict for v in same["verdicts"]}["denoise-high-better"] == "reproduced"


def test_the_verdicts_are_against_jpeg2000_with_jpeg_beside():
    """Seed 002's classical codec is JPEG 2000: the learned codec beats it on D and R here
    but loses to JPEG, and the verdicts follow JPEG 2000 while saying what JPEG gives."""
    a = _arrays(d_high=(0.1, 0.9), g_high=3.0, r_high=(1.0, 2.5))
    j = _arrays(d_high=(0.95, 0.9), g_high=3.0, r_high=(3.0, 2.5))  # a JPEG that wins
    three = {"setting": np.array(["jpeg2000:0.5", "jpeg:10", "bls:0.01"]),
             "corruption": a["corruption"], "n_images": a["n_images"],
             "input_mse": a["input_mse"]}
    for k in ("bpp_clean", "bpp", "d_band", "d_mse", "g_mse", "r_mse"):
        three[k] = np.concatenate([a[k][:1], j[k][:1], a[k][1:]])
    study = get_study("spectral")
    out = study.summarize(study.profile("ci"), three)["verdicts"]
    assert [v.verdict for v in out] == ["reproduced"] * 3
    d = verdict_named({"verdicts": out}, "error-in-high-band")
    r = verdict_named({"verdicts": out}, "denoise-high-better")
    assert d.measured.startswith("against JPEG 2000:") and "against JPEG:" in d.measured
    assert "(would be partly)" in d.measured and "(would be not reproduced)" in r.measured
    assert "JPEG 2000, the seed's classical codec" in d.rule
    # without JPEG 2000 the verdict falls back to JPEG, and says so
    two = study.summarize(study.profile("ci"), _arrays(d_high=(0.1, 0.9), g_high=3.0,
                                                       r_high=(1.0, 2.5)))["verdicts"]
    assert "JPEG 2000 was not measured" in two[0].rule and two[0].measured.startswith("against JPEG:")


def test_the_high_band_pairs_are_rate_matched():
    """A learned setting is held against the JPEG 2000 setting nearest in clean bpp only: a
    JPEG 2000 setting at eight times the rate, with a larger high-band share, is no pair."""
    a = _arrays(d_high=(0.1, 0.9), g_high=3.0, r_high=(1.0, 2.5))
    far = _arrays(d_high=(0.99, 0.9), g_high=3.0, r_high=(1.0, 2.5))
    three = {"setting": np.array(["jpeg2000:0.5", "jpeg2000:4", "bls:0.01"]),
             "corruption": a["corruption"], "n_images": a["n_images"],
             "input_mse": a["input_mse"]}
    for k in ("bpp_clean", "bpp", "d_band", "d_mse", "g_mse", "r_mse"):
        three[k] = np.concatenate([a[k][:1], far[k][:1], a[k][1:]])
    three["bpp_clean"] = three["bpp_clean"] * np.array([[1.0], [8.0], [1.0]])  # 0.5, 4, 0.4
    study = get_study("spectral")
    out = study.summarize(study.profile("ci"), three)
    pairs = [r["measure"] for r in out["tables"]["measures"].rows if "minus jpeg2000" in r["measure"]
             and "share" in r["measure"]]
    assert pairs == ["bls:0.01 minus jpeg2000:0.5 high-band share of D"]
    assert "above classical at the nearest rate beyond noise in 1 of 1" in verdict_named(
        out, "error-in-high-band").measured


def test_the_command_refuses_unknown_codecs_in_one_line(tmp_path, capsys):
    code = main(["spectral", "--profile", "ci", "--codecs", "jpeg,nope",
                 "--reports", str(tmp_path / "r"), "--data-root", str(tmp_path / "d")])
    assert code == 2 and "nope" in capsys.readouterr().err
    assert not (tmp_path / "r").exists()
