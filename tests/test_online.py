"""The online augmentation stage and the reference recipes, held to torchvision.

torchvision's ``_apply_op`` is the definition of every operation, and its AugMix forward of
the mixing: the batched versions must give, image by image, exactly what torchvision gives
for the same drawn parameters. The draws must follow torchvision's distributions (its
operation tables), depend on (seed, epoch, image index) only, and training with the stage
must resume bit for bit.
"""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from torchvision.transforms import InterpolationMode
from torchvision.transforms.autoaugment import _apply_op

from benchmark.augment import get_family
from benchmark.augment.online import Draws, epoch_generator, recipe_of, to_nchw
from benchmark.augment.ops import AFFINE, OPS, affine, apply_op
from benchmark.augment.recipes import AUGMIX_DEPTH, AUGMIX_WIDTH, RANDAUGMENT_OPS
from benchmark.pipeline.train import TrainConfig, build_classifier, jensen_shannon, train_classifier
from corruptions.errors import BenchError

RECIPES = [("augmix", 3), ("augmix", 10), ("trivialaugment", 31), ("randaugment", 9),
           ("randaugment", 30), ("autoaugment", "cifar10"), ("autoaugment", "imagenet")]


def _magnitudes(op: str, n: int, rng: np.random.Generator) -> list[float]:
    if op == "Posterize":
        return rng.integers(0, 9, n).astype(float).tolist()
    if op == "Solarize":
        return rng.uniform(0, 255, n).tolist()
    if op.startswith("Translate"):
        return rng.uniform(-20, 20, n).tolist()
    if op == "Rotate":
        return rng.uniform(-135, 135, n).tolist()
    return rng.uniform(-0.99, 0.99, n).tolist()


@pytest.fixture(scope="module")
def fashion():
    from benchmark.datasets import load_dataset
    return load_dataset("fashion-mnist", "train").images[:192]


@pytest.fixture(scope="module")
def images(fashion):
    grey = to_nchw(fashion[:48])
    rng = np.random.default_rng(1)
    colour = torch.from_numpy(rng.integers(0, 256, (48, 3, 30, 26), dtype=np.uint8))
    return {"grey": grey, "colour": colour}


@pytest.mark.parametrize("interpolation", [InterpolationMode.NEAREST, InterpolationMode.BILINEAR])
@pytest.mark.parametrize("kind", ["grey", "colour"])
def test_every_operation_is_torchvisions_image_by_image(images, kind, interpolation):
    x = images[kind]
    rng = np.random.default_rng(0)
    for op in OPS:
        mags = _magnitudes(op, len(x), rng)
        got = apply_op(x, op, mags, interpolation)
        want = torch.stack([_apply_op(x[i:i + 1], op, mags[i], interpolation, None)[0]
                            for i in range(len(x))])
        assert torch.equal(got, want), op


def test_one_resampling_pass_serves_every_geometric_operation(images):
    x = images["colour"]
    rng = np.random.default_rng(2)
    ops = [AFFINE[k] for k in rng.integers(0, len(AFFINE), len(x))]
    mags = [_magnitudes(op, 1, rng)[0] for op in ops]
    got = affine(x, ops, mags, InterpolationMode.BILINEAR)
    want = torch.stack([_apply_op(x[i:i + 1], op, m, InterpolationMode.BILINEAR, None)[0]
                        for i, (op, m) in enumerate(zip(ops, mags))])
    assert torch.equal(got, want)


def _reference(x: torch.Tensor, draws: Draws, interpolation) -> torch.Tensor:
    """torchvision's composition for one image at a time: each chain through ``_apply_op``
    step by step, then AugMix's mixing as its forward writes it."""
    out = []
    for i in range(len(x)):
        img = x[i:i + 1]
        chains = []
        for c in range(draws.ops.shape[1]):
            aug = img
            for s in range(draws.ops.shape[2]):
                op = draws.ops[i, c, s]
                if op >= 0:
                    aug = _apply_op(aug, OPS[op], float(draws.magnitudes[i, c, s]),
                                    interpolation, None)
            chains.append(aug)
        if draws.weights is None:
            out.append(chains[0][0])
            continue
        w = torch.from_numpy(draws.weights[i])
        mix = w[0] * img
        for c, aug in enumerate(chains):
            mix.add_(w[c + 1] * aug)
        out.append(mix.to(img.dtype)[0])
    return torch.stack(out)


@pytest.mark.parametrize("family,value", RECIPES)
@pytest.mark.parametrize("kind", ["grey", "colour"])
def test_each_recipe_applies_its_draws_as_torchvision_would(images, family, value, kind):
    x = images[kind]
    recipe = recipe_of(get_family(family), value)
    draws = recipe.draw(epoch_generator(0, 3), len(x), tuple(x.shape[-2:]))
    assert torch.equal(recipe.apply(x, draws), _reference(x, draws, recipe.interpolation))


def _op_names(draws: Draws) -> set[str]:
    return {OPS[k] for k in np.unique(draws.ops) if k >= 0}


def test_draws_follow_torchvisions_tables():
    size = (28, 28)
    n = 4000
    rng = epoch_generator(5, 0)
    aug = recipe_of(get_family("augmix"), 3).draw(rng, n, size)
    # the paper's CIFAR set: no operation that overlaps CIFAR-10-C's corruptions
    assert _op_names(aug) == {"ShearX", "ShearY", "TranslateX", "TranslateY", "Rotate",
                              "Posterize", "Solarize", "AutoContrast", "Equalize"}
    depth = (aug.ops >= 0).sum(2)
    assert aug.ops.shape == (n, AUGMIX_WIDTH, AUGMIX_DEPTH)
    assert set(np.unique(depth)) == {1, 2, 3}
    assert ((aug.ops >= 0)[..., 1:] <= (aug.ops >= 0)[..., :-1]).all()  # chains start at 0
    assert aug.weights.dtype == np.float32 and np.allclose(aug.weights.sum(1), 1, atol=1e-5)
    # severity 3: rotations from the first three of torchvision's ten bins, both signs
    rot = np.abs(aug.magnitudes[aug.ops == OPS.index("Rotate")])
    assert set(np.round(np.unique(rot), 4)) == set(np.round(np.linspace(0, 30, 10)[:3], 4))
    turned = aug.magnitudes[aug.ops == OPS.index("Rotate")]
    assert (turned[turned != 0] < 0).mean() == pytest.approx(0.5, abs=0.05)

    ta = recipe_of(get_family("trivialaugment"), 31).draw(rng, n, size)
    counts = np.bincount(ta.ops.ravel(), minlength=len(OPS))
    assert _op_names(ta) == set(OPS) - {"Invert"}
    assert counts[counts > 0].min() > 0.6 * n / 14  # uniform over the 14 operations
    ra = recipe_of(get_family("randaugment"), 9).draw(rng, n, size)
    assert ra.ops.shape == (n, 1, RANDAUGMENT_OPS)
    rot = np.abs(ra.magnitudes[ra.ops == OPS.index("Rotate")])
    assert np.allclose(rot, float(torch.linspace(0, 30, 31)[9]))  # M = 9 of 31 bins
    aa = recipe_of(get_family("autoaugment"), "cifar10").draw(rng, n, size)
    # every sub-policy's op runs with its probability: Invert only in (0.1, 0.0, 0.1) ones
    assert 0 < (aa.ops == OPS.index("Invert")).mean() < 0.01


def test_an_epochs_draws_depend_on_seed_epoch_and_index_only():
    recipe = recipe_of(get_family("augmix"), 3)
    a = recipe.draw(epoch_generator(0, 1), 64, (28, 28))
    b = recipe.draw(epoch_generator(0, 1), 64, (28, 28))
    c = recipe.draw(epoch_generator(0, 2), 64, (28, 28))
    d = recipe.draw(epoch_generator(0, 1, view=1), 64, (28, 28))
    assert np.array_equal(a.ops, b.ops) and np.array_equal(a.weights, b.weights)
    assert not np.array_equal(a.ops, c.ops) and not np.array_equal(a.ops, d.ops)
    idx = np.array([5, 3, 60])
    assert np.array_equal(a.take(idx).magnitudes, a.magnitudes[idx])


def test_the_precomputed_form_is_one_draw_per_image_from_its_own_stream(fashion):
    from corruptions.rng import image_rngs
    fam = get_family("trivialaugment")
    assert fam.kind == "online" and get_family("jpeg").kind == "precomputed"
    x = fashion[:40]
    whole = fam.fn(x, 31, image_rngs(0, "augment:trivialaugment", 0, range(40))).images
    part = fam.fn(x[10:20], 31, image_rngs(0, "augment:trivialaugment", 0, range(10, 20))).images
    assert whole.shape == x.shape and whole.dtype == np.uint8
    assert np.array_equal(whole[10:20], part)
    assert (whole != x).any()


def test_the_consistency_term_is_zero_only_for_agreeing_views():
    z = torch.randn(8, 10)
    assert float(jensen_shannon([z, z, z])) == pytest.approx(0, abs=1e-6)
    assert float(jensen_shannon([z, z + torch.randn(8, 10), z])) > 1e-3
    assert float(jensen_shannon([z, -z, z])) <= math.log(3)


def _train(images, labels, cfg, online, **kw):
    torch.manual_seed(0)
    model = build_classifier("small_cnn", images, 10)
    return train_classifier(model, images, labels, cfg, seed=0, progress=False, online=online,
                            **kw)


@pytest.mark.parametrize("jsd", [0.0, 12.0])
def test_training_with_the_stage_resumes_bit_for_bit(fashion, tmp_path, jsd):
    torch.set_num_threads(1)
    x, y = fashion, np.arange(192) % 10
    online = recipe_of(get_family("augmix"), 3)
    cfg = TrainConfig(epochs=2, batch_size=64, jsd=jsd)
    whole, hist = _train(x, y, cfg, online)
    ckpt = tmp_path / "ck.pt"
    _train(x, y, TrainConfig(epochs=1, batch_size=64, jsd=jsd), online, checkpoint=ckpt)
    resumed, hist2 = _train(x, y, cfg, online, checkpoint=ckpt)
    for a, b in zip(whole.state_dict().values(), resumed.state_dict().values()):
        assert torch.equal(a, b)
    assert [h["loss"] for h in hist] == [h["loss"] for h in hist2]
    plain, plain_hist = _train(x, y, TrainConfig(epochs=2, batch_size=64), None)
    assert plain_hist[-1]["loss"] != hist[-1]["loss"]  # the stage changed what was trained on


def test_the_consistency_loss_needs_an_online_stage(fashion):
    with pytest.raises(BenchError, match="online"):
        _train(fashion[:64], np.zeros(64, int), TrainConfig(epochs=1, jsd=12.0), None)


def test_deepaugment_is_deterministic_and_distorts_more_with_strength(fashion, tmp_path):
    from pathlib import Path

    from benchmark.augment import AugmentContext
    from benchmark.codecs.metrics import psnr
    from corruptions.rng import image_rngs
    fam = get_family("deepaugment_bls")
    ctx = AugmentContext("fashion-mnist", Path(tmp_path))
    x = fashion[:64]

    def run(s, seed=0):
        return fam.fn(x, s, image_rngs(seed, "augment:deepaugment_bls", 0, range(64)), ctx).images
    a, b = run(0.1), run(0.1)
    assert np.array_equal(a, b) and not np.array_equal(a, run(0.1, seed=1))
    quality = [float(np.mean(psnr(x, run(s)))) for s in (0.05, 0.1, 0.2)]
    assert quality[0] > quality[1] > quality[2]
    # the zoo's BLS at lambda 0.1, recorded with the set; no dataset, no codec
    assert fam.provenance(0.1, ctx)["codec"]["zoo"] == "fashion-mnist/bls-0.1.pt.xz"
    with pytest.raises(BenchError, match="dataset"):
        fam.fn(x, 0.1, image_rngs(0, "x", 0, range(64)), None)
