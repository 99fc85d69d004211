"""Seed 001's learned DCT band weights: the band partition, the weighting, that only the
learned arm moves its weights, and verdicts that follow the numbers."""
from __future__ import annotations

import numpy as np
import pytest
import torch

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


def _arrays(learned: list[int], uniform: list[int], final: list[float],
            option: tuple[list[float], list[float]] = ([0.80, 0.81, 0.82], [0.80, 0.81, 0.82])
            ) -> dict:
    w = np.full((2, len(learned), 3, 8), 1 / 8)
    w[0, :, -1] = final
    return {"correct": np.array([learned, uniform]), "weights": w, "n_test": np.array([1000]),
            "loss": np.zeros((2, len(learned), 2)), "option_clean": np.array(option),
            "option_corrupt": np.array(option) - 0.1,
            "option_submission": np.array(["band_weights", "band_uniform"]),
            "option_seeds": np.array([0, 1, 2])}


def test_verdicts_follow_the_numbers():
    cfg = BandWeightsConfig(train_images=1, test_images=1000, epochs=2, seeds=(0, 1, 2))
    peaked = [0.5] + [0.5 / 7] * 7
    s = summarize(cfg, _arrays([900, 905, 910], [880, 886, 890], peaked,
                               ([0.84, 0.85, 0.86], [0.80, 0.81, 0.82])))
    assert {v.name: v.verdict for v in s["verdicts"]} == {
        "learned-beat-uniform": "reproduced", "learned-beat-uniform-as-option": "reproduced",
        "weights-single-out-bands": "reproduced"}
    assert s["tables"]["accuracy"].rows[0]["accuracy"] == pytest.approx(0.905)
    assert s["tables"]["option"].rows[1]["clean"] == pytest.approx(0.81)
    s = summarize(cfg, _arrays([890, 895, 905], [880, 899, 904], [1 / 8] * 8))
    assert {v.name: v.verdict for v in s["verdicts"]} == {
        "learned-beat-uniform": "partly", "learned-beat-uniform-as-option": "not reproduced",
        "weights-single-out-bands": "not reproduced"}
    s = summarize(cfg, _arrays([880, 885, 890], [890, 895, 900], peaked))
    assert verdict_named(s, "learned-beat-uniform").verdict == "not reproduced"
