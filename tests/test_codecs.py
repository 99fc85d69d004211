"""Learned codecs: real bitstreams, exact decoding, rate against lambda, training cache."""
from __future__ import annotations

import copy
from dataclasses import replace

import numpy as np
import pytest
import torch

from benchmark.augment import get_family, learned
from benchmark.augment.cache import ensure_augmented
from benchmark.augment.registry import AugmentContext
from benchmark.cli import main
from benchmark.codecs import train as training
from benchmark.codecs.layers import GDN
from benchmark.codecs.models import CodecConfig, _pad, build_codec
from benchmark.codecs.recipe import (
    CodecRecipe,
    apply_overrides,
    default_recipe,
    parse_overrides,
)
from benchmark.codecs.train import rd_loss, train_codec
from benchmark.datasets import load_dataset
from corruptions.errors import BenchError

TINY = dict(channels=1, N=16, M=24, depth=3)


@pytest.fixture(scope="module")
def fmnist():
    return load_dataset("fashion-mnist", "train").head(2000).images


@pytest.fixture(scope="module")
def trained(fmnist, tmp_path_factory):
    """Two small BLS codecs at the ends of the thesis grid, trained briefly."""
    root = tmp_path_factory.mktemp("codecs")
    recipe = CodecRecipe(CodecConfig("bls", **TINY), steps=400, batch_size=32)
    return {lm: train_codec(fmnist, recipe, lm, root / f"{lm}.pt", progress=False)
            for lm in (0.001, 0.1)}


def _x(images):
    return torch.from_numpy(images).permute(0, 3, 1, 2).float() / 255


def test_gdn_is_identity_without_coupling():
    gdn = GDN(4)
    with torch.no_grad():
        gdn.gamma.fill_(0.0)
    x = torch.randn(2, 4, 5, 5)
    assert torch.allclose(gdn(x), x, atol=1e-5)
    assert torch.allclose(GDN(4, inverse=True)(torch.zeros(1, 4, 3, 3)), torch.zeros(1, 4, 3, 3))


@pytest.mark.parametrize("family", ["bls", "bmshj"])
def test_decoding_the_bytes_gives_the_encoders_latents_exactly(family, fmnist):
    torch.manual_seed(0)
    model = build_codec(CodecConfig(family, **TINY)).eval()
    x = _x(fmnist[:6])
    streams = model.compress(x)
    assert all(isinstance(s, bytes) and len(s) > 0 for s in streams)
    with torch.no_grad():  # the rounded latents of the encoder, decoded without any bits
        y = model.g_a(_pad(x, model.multiple))
        if family == "bls":
            eb = model.entropy_bottleneck
            y_hat = eb.dequantize(eb.quantize(y))
        else:
            y_hat = model.gaussian_conditional.quantize(y)
        want = model.g_s(y_hat)[..., :28, :28].clamp(0, 1)
    got = model.decompress(streams, (28, 28))
    assert torch.equal(got, want)


def test_a_hyperprior_stream_decodes_whatever_arithmetic_wrote_it():
    """CompressAI's issue #279 on the CPU: the hyper-synthesis run at two precisions (as on
    two devices) puts some scales on two sides of a level edge, so a decoder that computed
    its tables in its own arithmetic would pick another table than the writer. Found here
    on the shipped codec (a handful of latents in the 10000 test images), then coded: the
    writer runs in float64, the reader in float32, and the reader gets the writer's latents
    exactly, because both take the tables from the same float64 CPU computation."""
    from benchmark.codecs.zoo import load_zoo_codec

    model = load_zoo_codec("fashion-mnist", "bmshj", 0.005, "cpu")
    x = _x(load_dataset("fashion-mnist", "test").images)
    eb, gc = model.entropy_bottleneck, model.gaussian_conditional
    with torch.no_grad():
        z = eb.quantize(model.h_a(model.g_a(_pad(x, model.multiple)).abs()))
        own32 = model.h_s(eb.dequantize(z))  # each side's own arithmetic
        own64 = model._coding_synthesis()(z.double() + eb.medians.double().view(1, -1, 1, 1))
    edge = [torch.from_numpy(gc.groups(s)).view(s.shape) for s in (own32, own64)]
    apart = torch.nonzero((edge[0] != edge[1]).flatten(1).any(1)).flatten()
    assert len(apart) > 0  # the hazard is real for this codec
    writer = copy.deepcopy(model).double()
    xs = x[apart].double()
    streams = writer.compress(xs)
    with torch.no_grad():
        written = gc.quantize(writer.g_a(_pad(xs, writer.multiple)))
    read = model.decode_latents(streams, (28, 28))
    assert read.dtype == torch.float32 and torch.equal(read.double(), written)


@pytest.mark.parametrize("family", ["bls", "bmshj"])
def test_a_checkpoint_from_before_frozen_tables_loads_and_freezes_to_the_same_tables(family, fmnist):
    torch.manual_seed(0)
    model = build_codec(CodecConfig(family, **TINY)).eval()
    model.update()
    old = {k: v for k, v in model.state_dict().items()
           if not k.rsplit(".", 1)[-1] in ("_counts", "_offsets", "_widths", "scale_levels")}
    again = build_codec(CodecConfig(family, **TINY)).eval()
    again.load_state_dict(old)  # strict: only the buffers added later may be missing
    assert not again.entropy_bottleneck.frozen
    again.update()
    x = _x(fmnist[:3])
    assert again.compress(x) == model.compress(x)
    with pytest.raises(RuntimeError, match="Missing key"):
        build_codec(CodecConfig(family, **TINY)).load_state_dict(
            {k: v for k, v in old.items() if not k.endswith("g_a.0.weight")})


@pytest.mark.parametrize("family", ["bls", "bmshj"])
def test_symbols_outside_the_coding_range_are_escaped_not_clipped(family):
    torch.manual_seed(0)
    model = build_codec(CodecConfig(family, 3, N=16, M=16, depth=2)).eval()
    eb = model.entropy_bottleneck
    with torch.no_grad():  # a narrow range and large latents: many symbols fall outside
        eb.quantiles.data[:] = torch.tensor([-1.0, 0.0, 1.0])
        model.g_a[0].weight.mul_(20)
        if family == "bmshj":
            model.h_a[0].weight.mul_(20)
    x = torch.rand(2, 3, 32, 48)
    with torch.no_grad():
        y = model.g_a(_pad(x, model.multiple))
        coded = y if family == "bls" else model.h_a(y.abs())
        lo, hi = (v.view(1, -1, 1, 1) for v in eb.support())
        symbols = eb.quantize(coded)
        assert ((symbols < lo) | (symbols > hi)).sum() > 10
        want = model.g_s(model.latents(x)[0])[..., :32, :48].clamp(0, 1)
    assert torch.equal(model.decompress(model.compress(x), (32, 48)), want)


def test_rate_falls_with_lambda_and_bytes_match_the_estimate(trained):
    test = load_dataset("fashion-mnist", "test").head(300).images
    real = {}
    for lm, model in trained.items():
        res = learned.codec_transform(model, test)
        real[lm] = res.bits.mean() / 784
        with torch.no_grad():
            _, est, _ = rd_loss(model, _x(test), lm)
        assert abs(real[lm] / est - 1) < 0.08, (lm, real[lm], est)
    assert real[0.001] < real[0.1]


def test_training_resumes_to_the_same_weights(fmnist, tmp_path, monkeypatch):
    cfg = CodecRecipe(CodecConfig("bls", **TINY), steps=20)
    whole = train_codec(fmnist, cfg, 0.01, tmp_path / "a.pt", save_every=10, progress=False)
    calls = {"n": 0}
    original = training.rd_terms

    def interrupting(*a, **k):
        calls["n"] += 1
        if calls["n"] == 15:
            raise KeyboardInterrupt
        return original(*a, **k)

    monkeypatch.setattr(training, "rd_terms", interrupting)
    with pytest.raises(KeyboardInterrupt):
        train_codec(fmnist, cfg, 0.01, tmp_path / "b.pt", save_every=10, progress=False)
    assert torch.load(tmp_path / "b.pt", weights_only=False)["step"] == 10
    monkeypatch.setattr(training, "rd_terms", original)
    resumed = train_codec(fmnist, cfg, 0.01, tmp_path / "b.pt", save_every=10, progress=False)
    for (name, p), q in zip(whole.state_dict().items(), resumed.state_dict().values()):
        assert torch.equal(p, q), name


def test_nan_loss_is_a_user_error(fmnist, tmp_path, monkeypatch):
    monkeypatch.setattr(training, "rd_terms", lambda m, x, lm: (
        torch.tensor(float("nan"), requires_grad=True), torch.tensor(0.0), torch.tensor(0.0)))
    with pytest.raises(BenchError, match="non-finite loss"):
        train_codec(fmnist, CodecRecipe(CodecConfig("bls", **TINY), steps=5), 0.01,
                    tmp_path / "c.pt", progress=False)
    assert not (tmp_path / "c.pt").exists()


def test_codec_family_builds_a_cached_set_with_real_bits(tmp_path):
    ds = load_dataset("fashion-mnist", "test").head(40)
    quick = parse_overrides("steps=30,batch_size=16")
    fam = get_family("bls")
    folder, m = ensure_augmented(ds, fam, 0.05, tmp_path, progress=False, codec=quick)
    bits = np.load(folder / "bits.npy")
    assert bits.shape == (40,) and np.all(bits > 0) and np.all(bits % 8 == 0)
    assert m["bpp"]["mean"] == pytest.approx(bits.mean() / 784)
    assert m["bpp_estimate"]["mean"] > 0
    ckpt = tmp_path / m["transform"]["checkpoint"]
    assert ckpt.is_file() and ckpt.parts[-5:-2] == ("fashion-mnist", "bls", "0.05")
    assert m["transform"]["codec"]["steps"] == 30 and m["transform"]["codec"]["N"] == 32
    stamp = (folder / "images.npy").stat().st_mtime_ns
    ensure_augmented(ds, fam, 0.05, tmp_path, progress=False, codec=quick)  # same codec: reused
    assert (folder / "images.npy").stat().st_mtime_ns == stamp
    other = parse_overrides("steps=20,batch_size=16")
    _, m2 = ensure_augmented(ds, fam, 0.05, tmp_path, progress=False, codec=other)
    assert m2["transform"]["checkpoint"] != m["transform"]["checkpoint"]  # another codec: rebuilt
    assert (folder / "images.npy").stat().st_mtime_ns != stamp


def test_recipes_default_by_image_size_and_take_overrides():
    small = default_recipe("bls", 1, 28)
    assert (small.config.N, small.config.M, small.config.depth, small.patch) == (32, 48, 3, 0)
    big = default_recipe("bmshj", 3, 768, fixed_size=False)
    assert (big.config.N, big.config.M, big.config.depth) == (128, 192, 4) and big.patch > 0
    assert default_recipe("bls", 3, 32, fixed_size=False).patch > 0  # mixed sizes need crops
    tuned = apply_overrides(big, parse_overrides("M=96, N=64,steps=10,lr=5e-4"))
    assert (tuned.config.N, tuned.config.M, tuned.steps, tuned.lr) == (64, 96, 10, 5e-4)
    assert tuned.digest() != big.digest() and tuned.digest() == apply_overrides(
        big, parse_overrides("N=64,M=96,lr=0.0005,steps=10")).digest()
    assert parse_overrides("seed=0,patch=0") == (("patch", 0), ("seed", 0))
    for bad in ("N", "X=3", "N=0", "steps=ten", "lr=-1", "seed=-1", "init_lmbda=0.1"):
        with pytest.raises(BenchError, match="--codec"):
            parse_overrides(bad)


def test_warm_start_fine_tunes_the_base_codec(tmp_path):
    ds = load_dataset("fashion-mnist", "test").head(8)
    warm = parse_overrides("N=8,M=8,steps=4,batch_size=4,init_lmbda=0.1,init_steps=6")
    ctx = AugmentContext("fashion-mnist", tmp_path, progress=False, codec=warm)
    entry = learned.codec_entry(ctx, "bls", 0.01)
    _, m = ensure_augmented(ds, get_family("bls"), 0.01, tmp_path, progress=False, codec=warm)
    assert m["transform"]["codec"]["init_lmbda"] == 0.1
    base = entry.recipe.base()
    assert (base.steps, base.init_lmbda) == (6, 0) and base.digest() != entry.recipe.digest()
    base_ckpt = torch.load(training.checkpoint_path(tmp_path, "fashion-mnist", base, 0.1),
                           weights_only=False)
    tuned = torch.load(entry.path, weights_only=False)
    assert base_ckpt["step"] == 6 and tuned["step"] == 4 and tuned["lmbda"] == 0.01
    # the fine-tuned codec moved away from the base, but not as far as a fresh one would be
    fresh = build_codec(base.config).state_dict()
    w = "g_a.0.weight"
    moved = (tuned["model"][w] - base_ckpt["model"][w]).abs().max()
    assert 0 < moved < (fresh[w] - base_ckpt["model"][w]).abs().max()


def test_training_on_crops_of_photos_of_mixed_sizes(tmp_path):
    photos = load_dataset("skimage", "all").images
    recipe = CodecRecipe(CodecConfig("bmshj", 3, N=8, M=8, depth=2), steps=3, batch_size=2,
                         patch=64)
    model = train_codec(photos, recipe, 0.01, tmp_path / "p.pt", progress=False)
    image = photos[1][:70, :90]  # any size codes and decodes
    x = torch.from_numpy(np.ascontiguousarray(image[None])).permute(0, 3, 1, 2).float() / 255
    assert model.decompress(model.compress(x), (70, 90)).shape == (1, 3, 70, 90)
    assert torch.load(tmp_path / "p.pt", weights_only=False)["recipe"]["patch"] == 64
    smallest = min(min(im.shape[:2]) for im in photos)
    with pytest.raises(BenchError, match="larger than the smallest"):
        train_codec(photos, replace(recipe, patch=smallest + 1), 0.01, tmp_path / "q.pt")
    with pytest.raises(BenchError, match="needs crops"):
        train_codec(photos, replace(recipe, patch=0), 0.01, tmp_path / "r.pt")


@pytest.mark.parametrize("argv", [
    ["codec", "train", "--family", "bls", "--lmbda", "-1", "--dataset", "fashion-mnist"],
    ["codec", "train", "--family", "nope", "--lmbda", "0.1", "--dataset", "fashion-mnist"],
    ["augment", "--dataset", "fashion-mnist", "--family", "bls", "--param", "-0.1"],
    ["rd", "--dataset", "fashion-mnist", "--codec", "N=-4"],
    ["rd", "--dataset", "fashion-mnist", "--params", "bls=-0.1"],
    ["rd", "--dataset", "fashion-mnist", "--params", "webp=50"],  # not among --families
    ["rd", "--dataset", "fashion-mnist", "--params", "jpeg"],
    ["rd", "--dataset", "fashion-mnist", "--params", "jpeg=200"],
    ["codec", "train", "--family", "bls", "--lmbda", "0.1", "--dataset", "fashion-mnist",
     "--codec", "depth"],
])
def test_bad_codec_arguments_exit_2(argv, capsys):
    assert main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error:")


CHILD = """
import sys, numpy as np, torch
from benchmark.codecs.models import CodecConfig, build_codec
torch.set_num_threads(1)
ckpt = torch.load(sys.argv[1], weights_only=False)
model = build_codec(CodecConfig(**{k: ckpt["recipe"][k] for k in ("family", "channels", "N", "M", "depth")}))
model.load_state_dict(ckpt["model"])
assert model.entropy_bottleneck.frozen  # the tables come from the file, not from floats here
streams = [bytes.fromhex(line) for line in open(sys.argv[2]).read().split()]
np.save(sys.argv[3], model.eval().decode_latents(streams, (28, 28)).numpy())
"""


@pytest.mark.parametrize("family", ["bls", "bmshj"])
def test_a_bitstream_decodes_in_a_fresh_process(family, fmnist, tmp_path):
    import subprocess
    import sys

    recipe = CodecRecipe(CodecConfig(family, **TINY), steps=30, batch_size=16)
    model = train_codec(fmnist, recipe, 0.01, tmp_path / "c.pt", progress=False)
    state = torch.load(tmp_path / "c.pt", weights_only=False)["model"]
    assert state["entropy_bottleneck._counts"].dtype == torch.int32
    assert (state["entropy_bottleneck._counts"].sum(1) == 2**16).all()
    x = _x(fmnist[:5])
    streams = model.compress(x)
    (tmp_path / "s.txt").write_text("\n".join(s.hex() for s in streams))
    subprocess.run([sys.executable, "-c", CHILD, str(tmp_path / "c.pt"), str(tmp_path / "s.txt"),
                    str(tmp_path / "out.npy")], check=True)
    with torch.no_grad():  # what the encoder rounded, decoded in the other process
        y = model.g_a(_pad(x, model.multiple))
        eb = model.entropy_bottleneck
        want = eb.dequantize(eb.quantize(y)) if family == "bls" else torch.round(y)
    assert np.array_equal(np.load(tmp_path / "out.npy"), want.numpy())


def test_integer_tables_keep_the_support_and_sum_to_the_precision():
    from benchmark.codecs.coding import quantize_pmf, tables_from_pmf

    pmf = np.array([[0.5, 0.25, 0.25, 0.0], [1e-15, 1 - 2e-15, 1e-15, 0.0]])
    t = tables_from_pmf(pmf, np.array([-1, -1]), np.array([3, 3]))
    assert (t.counts.sum(1) == 2**16).all() and (t.counts[:, :4] > 0).all()  # escape included
    assert t.counts[0, 0] > t.counts[0, 1] and t.counts[1, 1] > 65000
    assert (quantize_pmf(np.array([[0.3, 0.0, 0.7]]))[0, 1] == 0)
