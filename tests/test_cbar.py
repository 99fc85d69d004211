"""CIFAR-10-C-bar: held to the reference code's statistics (tests/expected/cbar_reference.json),
deterministic per image, grey images handled."""
import json
from pathlib import Path

import numpy as np
import pytest
import torch

from corruptions import engine, registry, tables
from corruptions.catalogue import cbar
from tests.conftest import natural_crops, psnr

EXPECTED = json.loads((Path(__file__).parent / "expected" / "cbar_reference.json").read_text())
CBAR = registry.names("cbar")


def test_the_suite_is_the_published_ten_and_the_default_stays_the_c_one():
    assert CBAR == sorted(EXPECTED["corruptions"]) == sorted(tables.CBAR)
    assert len(registry.names("all")) == 19 and not set(CBAR) & set(registry.names("all"))
    assert registry.parse_names("cbar") == CBAR
    for name in CBAR:  # the levels are the reference's
        assert [r["level"] for r in EXPECTED["corruptions"][name]] == tables.CBAR[name]


@pytest.fixture(scope="module")
def crops() -> np.ndarray:
    return natural_crops(32, 200, downscale=4, seed=0)  # the oracle's images


@pytest.mark.parametrize("name", CBAR)
def test_mean_psnr_within_one_db_of_the_reference(name, crops):
    for row in EXPECTED["corruptions"][name]:
        out = engine.corrupt(crops, name, row["severity"], seed=0)
        p = psnr(out, crops)
        changed = p < 99
        ours = p[changed].mean()
        assert abs(ours - row["psnr_mean"]) < 1.0, (name, row["severity"], ours, row)
        # the images it leaves untouched (checkerboard cells that all drew "keep")
        assert abs((~changed).sum() - row["unchanged"]) <= max(10, row["unchanged"] // 2)


@pytest.mark.parametrize("name", CBAR)
def test_an_image_does_not_depend_on_its_batch(name, crops):
    images = crops[:12]
    whole = engine.corrupt(images, name, 4, seed=3, indices=range(12))
    parts = np.concatenate([engine.corrupt(images[:5], name, 4, seed=3, indices=range(5)),
                            engine.corrupt(images[5:], name, 4, seed=3, indices=range(5, 12))])
    np.testing.assert_array_equal(whole, parts)
    other = engine.corrupt(images, name, 4, seed=4, indices=range(12))
    assert name == "circular_motion_blur" or not np.array_equal(whole, other)


@pytest.mark.parametrize("name", CBAR)
def test_grey_images_stay_grey_and_are_corrupted(name, crops):
    grey = crops[:8].mean(axis=-1, keepdims=True).astype(np.uint8)
    for severity in (1, 5):
        out = engine.corrupt(grey, name, severity, seed=0)
        assert out.shape == grey.shape and out.dtype == np.uint8
        assert not np.array_equal(out, grey), (name, severity)  # none is the identity on grey


def test_chromatic_aberration_on_grey_is_the_mean_of_the_three_zooms(crops):
    grey = crops[:4].mean(axis=-1, keepdims=True).astype(np.uint8)
    colour = np.repeat(grey, 3, axis=-1)
    out = engine.corrupt(grey, "transverse_chromatic_abberation", 5).astype(float)
    zooms = engine.corrupt(colour, "transverse_chromatic_abberation", 5).astype(float)
    assert np.abs(out[..., 0] - zooms.mean(-1)).max() <= 1.0  # each rounded on its own


def test_the_rotation_blur_is_one_operator_at_every_size():
    x = torch.rand(2, 3, 20, 26, dtype=torch.float64)
    m = cbar._rotation_blur_matrix(20, 26, 7.8)
    dense = (x.reshape(2, 3, -1) @ m.T).reshape(x.shape)
    torch.testing.assert_close(cbar._rotation_blur(x, 7.8), dense)
