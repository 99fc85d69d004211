"""Seed 001's learned DCT band weights: the band partition, the weighting, that only the
learned arm moves its weights, and verdicts that follow the numbers."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from tests.made_outcomes import outcomes

from benchmark.studies import verdict_named
from benchmark.studies.band_weights import (
    BandWeighting,
    BandWeightsConfig,
    band_masks,
    summarize,
    train_arm,
)


def test_the_bands_partition_the_coefficients_by_distance_from_dc():
    masks = band_masks(28, 8).numpy()
    assert masks.shape == (8, 784)
    np.testing.assert_array_equal(masks.sum(0), np.ones(784))  # each coefficient in one band
    assert masks[0, 0] == 1 and masks[7, 783] == 1  # DC in band 1, the far corner in band 8
    d = np.sqrt(np.add.outer(np.arange(28) ** 2, np.arange(28) ** 2)).ravel()
    for k in range(7):  # every coefficient of band k is nearer DC than any of band k + 1
        assert d[masks[k] == 1].max() < d[masks[k + 1] == 1].min()


def test_uniform_weighting_scales_by_one_eighth_and_only_learned_weights_move():
    x = torch.randn(4, 784)
    assert torch.allclose(BandWeighting(False)(x), x / 8)
    rng = np.random.default_rng(0)
    x, y = torch.from_numpy(rng.normal(size=(256, 784)).astype(np.float32)), torch.from_numpy(rng.integers(0, 10, 256))
    cfg = BandWeightsConfig(train_images=256, test_images=256, epochs=2, seeds=(0,))
    _, learned, _ = train_arm(cfg, True, 0, (x, y), (x, y))
    _, uniform, _ = train_arm(cfg, False, 0, (x, y), (x, y))
    assert learned.shape == (3, 8) and np.abs(learned[-1] - learned[0]).max() > 1e-4
    np.testing.assert_array_equal(uniform, np.full((3, 8), 1 / 8, np.float32))
    np.testing.assert_allclose(learned.sum(1), 1, rtol=1e-6)


CELLS = [("clean", 0), ("gaussian_noise", 1), ("fog", 1)]


def _arrays(learned: list[float], uniform: list[float], final: list[float],
            option: tuple[float, float] = (0.81, 0.81), images: int = 1000,
            shuffled: bool = False) -> dict:
    """Per-seed accuracies of the two arms made into outcomes (nested unless shuffled); the
    option runs' clean accuracies (their corrupt ones 0.1 lower)."""
    seeds = len(learned)
    w = np.full((2, seeds, 3, 8), 1 / 8)
    w[0, :, -1] = final
    arms = np.stack([np.concatenate([outcomes([acc], images, 1, shuffled, draw=10 * arm + s)
                                     for s, acc in enumerate(accs)], axis=1)[0]
                     for arm, accs in enumerate((learned, uniform))])
    option_outcomes = np.stack([np.stack([outcomes([acc if c == "clean" else acc - 0.1], images,
                                                   seeds, shuffled, draw=10 * arm + k)[0]
                                          for k, (c, _) in enumerate(CELLS)], axis=1)
                                for arm, acc in enumerate(option)])
    return {"outcomes": arms, "seeds": np.arange(seeds), "weights": w,
            "n_test": np.array([images]), "loss": np.zeros((2, seeds, 2)),
            "option_outcomes": option_outcomes,
            "option_corruption": np.array([c for c, _ in CELLS]),
            "option_severity": np.array([v for _, v in CELLS]),
            "option_submission": np.array(["band_weights", "band_uniform"]),
            "option_seeds": np.arange(seeds)}


def test_verdicts_follow_the_numbers():
    cfg = BandWeightsConfig(train_images=1, test_images=1000, epochs=2, seeds=(0, 1, 2))
    peaked = [0.5] + [0.5 / 7] * 7
    s = summarize(cfg, _arrays([0.900, 0.905, 0.910], [0.880, 0.886, 0.890], peaked, (0.85, 0.81)))
    assert {v.name: v.verdict for v in s["verdicts"]} == {
        "learned-beat-uniform": "reproduced", "learned-beat-uniform-as-option": "reproduced",
        "weights-single-out-bands": "reproduced"}
    assert s["tables"]["accuracy"].rows[0]["accuracy"] == pytest.approx(0.905)
    assert s["tables"]["option"].rows[1]["clean"] == pytest.approx(0.81)
    assert s["tables"]["option"].rows[1]["corrupt"] == pytest.approx(0.71)
    s = summarize(cfg, _arrays([0.880, 0.895, 0.905], [0.880, 0.895, 0.905], [1 / 8] * 8))
    assert {v.name: v.verdict for v in s["verdicts"]} == {
        "learned-beat-uniform": "within noise", "learned-beat-uniform-as-option": "within noise",
        "weights-single-out-bands": "not reproduced"}
    s = summarize(cfg, _arrays([0.880, 0.885, 0.890], [0.890, 0.895, 0.900], peaked))
    assert verdict_named(s, "learned-beat-uniform").verdict == "not reproduced"


def test_a_gain_inside_the_noise_is_said_so():
    """A point's gain on 300 images each arm gets right independently is noise."""
    cfg = BandWeightsConfig(train_images=1, test_images=300, epochs=2, seeds=(0, 1, 2))
    s = summarize(cfg, _arrays([0.90] * 3, [0.89] * 3, [1 / 8] * 8, (0.82, 0.81), images=300,
                               shuffled=True))
    assert verdict_named(s, "learned-beat-uniform").verdict == "within noise"
    assert verdict_named(s, "learned-beat-uniform-as-option").verdict == "within noise"
