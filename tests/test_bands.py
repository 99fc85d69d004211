"""Seed 001's learned band weights as a model option: the orthonormal DCT and the radial
bands, the uniform arm as X/8, the trainer's second optimizer and reconstruction term, the
weights' evolution in the history, and a resumed run equal to an uninterrupted one."""
from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch
from torch import nn

from benchmark.models import create_model
from benchmark.models.bands import BandConfig, BandWeighted, dct_matrix, radial_masks
from benchmark.pipeline.train import (
    TrainConfig,
    band_weights,
    build_classifier,
    train_classifier,
)

RECIPE = TrainConfig(epochs=2, batch_size=64, crop_padding=0, flip=False)


def test_the_dct_is_orthonormal_and_the_bands_partition_by_distance():
    d = dct_matrix(28)
    torch.testing.assert_close(d @ d.T, torch.eye(28), atol=1e-5, rtol=0)
    m = radial_masks(28, 28, 8)
    assert m.shape == (8, 28, 28) and torch.equal(m.sum(0), torch.ones(28, 28))
    assert m[0, 0, 0] == 1 and m[7, 27, 27] == 1  # DC in the first band, the far corner last
    band = m.argmax(0).numpy()
    dist = np.hypot(*np.meshgrid(np.arange(28), np.arange(28), indexing="ij"))
    order = np.argsort(dist.ravel(), kind="stable")
    assert np.all(np.diff(band.ravel()[order]) >= 0)  # bands grow with the distance from DC


def test_uniform_weights_pass_x_over_8_and_learned_ones_start_there():
    x = torch.rand(3, 2, 16, 16)
    for learned in (False, True):
        front = BandWeighted(nn.Identity(), BandConfig(learned=learned), 16).train()
        torch.testing.assert_close(front(x), x / 8, atol=1e-5, rtol=0)
        torch.testing.assert_close(front.aux_loss(), 0.1 * ((x - x / 8) ** 2).mean(), atol=1e-6, rtol=0)
    assert not BandWeighted(nn.Identity(), BandConfig(learned=False), 16).logits.requires_grad


def _train(images, labels, bands, epochs=2, checkpoint=None):
    torch.manual_seed(0)
    model = build_classifier("small_cnn", images, 10, bands=bands)
    return train_classifier(model, images, labels, dataclasses.replace(RECIPE, epochs=epochs),
                            seed=0, checkpoint=checkpoint, progress=False)


@pytest.fixture(scope="module")
def data():
    from benchmark.datasets import load_dataset
    ds = load_dataset("fashion-mnist", "train").head(256)
    return ds.images, ds.labels


def test_learned_weights_move_under_their_own_adam_and_uniform_ones_do_not(data):
    learned, hist = _train(*data, BandConfig())
    w = np.array([h["band_weights"] for h in hist])
    assert w.shape == (2, 8) and np.allclose(w.sum(1), 1)
    assert np.abs(w[-1] - 1 / 8).max() > 1e-4  # moved from uniform
    uniform, hist_u = _train(*data, BandConfig(learned=False))
    assert np.allclose([h["band_weights"] for h in hist_u], 1 / 8)
    # the reconstruction term is in the loss: a larger lambda gives a larger first loss
    _, heavy = _train(*data, BandConfig(learned=False, lmbda=10.0), epochs=1)
    assert heavy[0]["loss"] > hist_u[0]["loss"] + 0.1
    assert band_weights(create_model("small_cnn", 1, 10, 28)) is None


def test_a_resumed_band_run_equals_an_uninterrupted_one(data, tmp_path):
    whole, hist = _train(*data, BandConfig())
    _train(*data, BandConfig(), epochs=1, checkpoint=tmp_path / "ck.pt")
    resumed, hist_r = _train(*data, BandConfig(), epochs=2, checkpoint=tmp_path / "ck.pt")
    for (k, a), b in zip(whole.state_dict().items(), resumed.state_dict().values()):
        assert torch.equal(a, b), k
    assert [h["band_weights"] for h in hist] == [h["band_weights"] for h in hist_r]
