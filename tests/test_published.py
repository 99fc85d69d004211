"""CompressAI's published checkpoints loaded into this project's codecs, checked against the
real CompressAI package (the oracle ``make setup`` installs): the same input gives the same
reconstruction and likelihoods, and our own bitstream decodes to what CompressAI decodes."""
from __future__ import annotations

import os

import pytest
import torch

from benchmark.codecs import published
from benchmark.codecs.models import CodecConfig
from benchmark.codecs.published import PUBLISHED_LAMBDAS, from_compressai_state, load_published
from corruptions.errors import BenchError, DataError


@pytest.fixture(scope="module")
def compressai_models():
    try:
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            from compressai.models import FactorizedPrior, ScaleHyperprior
    except ImportError:
        if os.environ.get("CI"):
            raise
        pytest.skip("CompressAI (the oracle) is not installed: make oracle")
    return {"bls": FactorizedPrior, "bmshj": ScaleHyperprior}


def _trained_like(net):
    """Random but non-trivial weights (a freshly built net has identity-like GDNs)."""
    gen = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for name, p in net.named_parameters():
            if name.endswith("quantiles"):
                continue
            p.add_(torch.randn(p.shape, generator=gen) * (0.02 if "gamma" in name or "beta" in name
                                                          else 0.05))
    net.update(force=True)
    return net.eval()


def _photo(side: int) -> torch.Tensor:
    from tests.conftest import natural_crops

    return torch.from_numpy(natural_crops(side, 2)).permute(0, 3, 1, 2).float() / 255


@pytest.mark.parametrize("family", ["bls", "bmshj"])
def test_same_reconstruction_likelihoods_and_decodable_streams(family, compressai_models):
    net = _trained_like(compressai_models[family](16, 24))
    ours = from_compressai_state(net.state_dict(), CodecConfig(family, 3, N=16, M=24, depth=4))
    x = _photo(64)
    with torch.no_grad():
        theirs = net(x)
        x_hat, likelihoods = ours(x)
    assert torch.allclose(x_hat, theirs["x_hat"], atol=1e-5)
    names = ["y"] if family == "bls" else ["y", "z"]
    for mine, name in zip(likelihoods, names):
        assert torch.allclose(mine, theirs["likelihoods"][name], rtol=1e-4, atol=1e-7), name
    # our range coder's bitstream decodes to the reconstruction CompressAI's own coder gives
    with torch.no_grad():
        rec = ours.decompress(ours.compress(x), (64, 64))
        c = net.compress(x)
        ref = net.decompress(c["strings"], c["shape"])["x_hat"].clamp(0, 1)
    assert torch.allclose(rec, ref, atol=1e-5)


def test_a_published_file_loads_by_path_at_its_quality(compressai_models, tmp_path):
    net = compressai_models["bls"](128, 192)  # quality 1-5 size
    path = tmp_path / "bmshj2018-factorized-prior-3-5c6f152b.pth.tar"
    torch.save({f"module.{k}": v for k, v in net.state_dict().items()}, path)  # DataParallel keys
    model = load_published("bls", 0.0067, path=path)
    assert model.config.N == 128 and model.config.M == 192 and model.entropy_bottleneck.frozen
    with pytest.raises(DataError, match="N=192"):  # quality 6 is the larger model
        load_published("bls", PUBLISHED_LAMBDAS[5], path=path)


def test_offline_is_one_clear_error(tmp_path, monkeypatch):
    monkeypatch.setattr(published, "ROOT_URL", "http://127.0.0.1:9/models/v1")
    with pytest.raises(DataError, match="cannot download bmshj2018-hyperprior quality 2") as e:
        load_published("bmshj", 0.0035, cache_dir=tmp_path)
    assert "put the file at" in str(e.value) and "\n" not in str(e.value)
    with pytest.raises(BenchError, match="qualities 1-8"):
        load_published("bls", 0.012, cache_dir=tmp_path)
