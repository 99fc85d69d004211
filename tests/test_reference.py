"""The ImageNet scale against imagecorruptions (the oracle), and the compatibility layer."""
from __future__ import annotations

import numpy as np
import pytest

import corruptions as C
from corruptions import reference
from tests.conftest import natural_crops, psnr

EXACT = ["brightness", "contrast", "saturate", "pixelate", "jpeg_compression"]
# Images per corruption: at least 50; more where single-image PSNR varies a lot (frost picks
# one of five photographs, spatter's mask is often nearly empty), so that the standard error
# of the difference of two means stays well under the 0.5 dB tolerance.
STOCHASTIC = {"gaussian_noise": 64, "shot_noise": 64, "impulse_noise": 64,
              "speckle_noise": 64, "glass_blur": 50, "motion_blur": 200, "snow": 200,
              "frost": 400, "fog": 200, "elastic_transform": 100, "spatter": 500}


def test_compat_layer_repairs_the_three_broken_corruptions():
    package = reference.load()
    img = natural_crops(48, 1)[0]
    for name in ("fog", "glass_blur", "gaussian_blur"):
        out = package.corrupt(img, severity=2, corruption_name=name)
        assert out.shape == img.shape and out.dtype == np.uint8
        assert not np.array_equal(out, img)
    assert not hasattr(np, "float_")  # the patch stays inside the package


def test_reference_backend_is_deterministic_and_keeps_grey():
    images = natural_crops(32, 3)
    a = reference.corrupt(images, "gaussian_noise", 2, seed=3)
    assert np.array_equal(a, reference.corrupt(images, "gaussian_noise", 2, seed=3))
    grey = images[..., :1]
    assert reference.corrupt(grey, "contrast", 2).shape == grey.shape


@pytest.mark.parametrize("name", EXACT)
def test_deterministic_corruptions_match_within_one_grey_level(name):
    images = natural_crops(64, 50)
    for s in C.SEVERITIES:
        ours = C.corrupt(images, name, s, scale="imagenet").astype(int)
        ref = reference.corrupt(images, name, s).astype(int)
        assert np.abs(ours - ref).max() <= 1, (name, s)


@pytest.mark.parametrize("name", sorted(STOCHASTIC))
def test_stochastic_corruptions_match_mean_psnr(name):
    images = natural_crops(64, STOCHASTIC[name], seed=1)
    for s in C.SEVERITIES:
        ours = psnr(C.corrupt(images, name, s, scale="imagenet", seed=11), images).mean()
        ref = psnr(reference.corrupt(images, name, s, seed=11), images).mean()
        assert abs(ours - ref) < 0.5, (name, s, ours, ref)


@pytest.mark.parametrize("name", ["defocus_blur", "zoom_blur", "gaussian_blur"])
def test_deterministic_blurs_match_within_one_grey_level(name):
    images = natural_crops(64, 12)
    for s in C.SEVERITIES:
        ours = C.corrupt(images, name, s, scale="imagenet").astype(int)
        assert np.abs(ours - reference.corrupt(images, name, s).astype(int)).max() <= 1
