"""Seed 000's DCT-coefficient learner: the transform, the network's shapes, one real
training step on real images, and verdicts that follow the numbers."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy.fft import idctn

from tests.made_outcomes import outcomes

from benchmark.studies.dct_noise import (
    DctNoiseConfig,
    coefficients,
    conv1d_net,
    summarize,
    train_one,
)


def test_coefficients_are_the_orthonormal_dct_of_centred_images(fashion_images):
    images = fashion_images[:5]
    full = coefficients(images, 28)
    x = images[..., 0].astype(np.float64) / 255 - 0.5
    # orthonormal: energy kept, and the inverse gives the image back
    np.testing.assert_allclose((full.astype(np.float64) ** 2).sum(1), (x ** 2).sum((1, 2)), rtol=1e-5)
    back = idctn(full.reshape(5, 28, 28).astype(np.float64), axes=(1, 2), norm="ortho")
    np.testing.assert_allclose(back, x, atol=1e-5)
    # the 8 x 8 mask is the top-left corner, row by row
    np.testing.assert_array_equal(coefficients(images, 8), full.reshape(5, 28, 28)[:, :8, :8].reshape(5, 64))


@pytest.mark.parametrize("m", [8, 16, 28])
def test_the_papers_network_takes_m_squared_coefficients(m):
    net = conv1d_net(m)
    assert net(torch.zeros(3, m * m)).shape == (3, 10)
    fc = [layer for layer in net if isinstance(layer, torch.nn.Linear)][0]
    assert fc.in_features == 32 * (m * m // 4)  # the paper's 32 (M^2 / 4)


def test_training_learns_and_is_deterministic():
    from benchmark.datasets import load_dataset

    ds = load_dataset("fashion-mnist", "train", None).head(2100)
    x = torch.from_numpy(coefficients(np.asarray(ds.images), 8))
    y = torch.from_numpy(np.asarray(ds.labels, np.int64))
    cfg = DctNoiseConfig(train_images=2000, test_images=100, epochs=6, seeds=(0,))
    train, test = (x[:2000], y[:2000]), (x[2000:], y[2000:])
    clean, noisy, losses = train_one(cfg, 8, 0.1, 0, train, test)
    again = train_one(cfg, 8, 0.1, 0, train, test)
    np.testing.assert_array_equal(clean, again[0])
    np.testing.assert_array_equal(noisy, again[1])
    assert losses == again[2]
    assert clean.shape == (100,) and clean.dtype == bool
    assert losses[-1] < losses[0] and clean.sum() > 30  # well above chance (10 of 100)


def _arrays(acc: dict[str, float], twin: dict[str, float], images: int = 1000,
            shuffled: bool = False) -> dict:
    """A study's arrays with made outcomes: noisy accuracy one point lower per setting."""
    settings = list(acc)
    return {"setting": np.array(settings), "n_test": np.array([images]), "seeds": np.array([0, 1]),
            "clean_outcomes": outcomes(list(acc.values()), images, shuffled=shuffled),
            "noisy_outcomes": outcomes([acc[s] - 0.01 * i for i, s in enumerate(settings)],
                                       images, shuffled=shuffled),
            "loss": np.zeros((len(settings), 2, 1)), "twin_param": np.array(list(twin)),
            "twin_outcomes": outcomes(list(twin.values()), images, shuffled=shuffled),
            "twin_seeds": np.array([0, 1])}


CFG = DctNoiseConfig(train_images=1, test_images=1, epochs=1, seeds=(0, 1))


def test_verdicts_follow_the_numbers():
    collapse = _arrays({"28:0": 0.9, "8:0": 0.45, "8:0.1": 0.45, "8:0.2": 0.45, "16:0": 0.9,
                        "16:0.1": 0.9, "16:0.2": 0.9}, {"8": 0.5, "16": 0.88})
    v = {x.name: x.verdict for x in summarize(CFG, collapse)["verdicts"]}
    # 8x8 -45 points, 16x16 holds; noisy 8x8 falls a point a step (nested: beyond noise)
    assert v["threshold-8-vs-16"] == v["noise-lowers-8"] == "reproduced"
    assert v["threshold-in-image-domain"] == "reproduced"
    assert v["noise-lowers-8-in-image-domain"] == "not testable here"  # no noisy twin params
    holds = _arrays({"28:0": 0.9, "8:0": 0.86, "8:0.1": 0.86, "8:0.2": 0.86, "16:0": 0.9,
                     "16:0.1": 0.9, "16:0.2": 0.9}, {"8": 0.88, "16": 0.88})
    v = {x.name: x.verdict for x in summarize(CFG, holds)["verdicts"]}
    # 8x8 loses 4 points for certain, but no collapse: partly; the twin loses nothing
    assert v["threshold-8-vs-16"] == "partly" and v["threshold-in-image-domain"] == "not reproduced"


def test_falls_inside_the_noise_are_said_so():
    """One point per step of sigma on 300 images each setting gets right independently."""
    noisy = _arrays({"28:0": 0.9, "8:0": 0.45, "8:0.1": 0.45, "8:0.2": 0.45}, {"8": 0.5},
                    images=300, shuffled=True)
    v = {x.name: x.verdict for x in summarize(CFG, noisy)["verdicts"]}
    assert v["noise-lowers-8"] == "within noise"
