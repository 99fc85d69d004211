"""Learned-codec families: BLS (factorized prior) and BMSHJ (scale hyperprior).

The transformed image is what the decoder makes of the real bitstream, and its bits are the
range coder's bytes: the codec for (dataset, family, lambda) is trained on the dataset's
train split once and cached (see ``benchmark.codecs.train``).
"""
from __future__ import annotations

import numpy as np
import torch

from ..codecs.models import CodecConfig, FactorizedPrior
from ..codecs.train import checkpoint_path, config_hash, train_codec
from ..datasets import load_dataset
from ..errors import BenchError
from .registry import AugmentContext, Transformed, register_family

LAMBDAS = (0.001, 0.003, 0.005, 0.012, 0.033, 0.05, 0.1)  # the thesis' grid
TRAINING = {"steps": 3000, "batch_size": 32, "lr": 1e-3, "seed": 0}


def default_config(family: str, channels: int, side: int) -> CodecConfig:
    """A small codec for 28-32 px images; the published sizes (N=128, M=192, 4 stages) above."""
    if side <= 64:
        return CodecConfig(family, channels, N=32, M=48, depth=3)
    return CodecConfig(family, channels, N=128, M=192, depth=4)


_LOADED: dict[tuple, FactorizedPrior] = {}


def load_or_train(ctx: AugmentContext, family: str, lmbda: float, shape) -> FactorizedPrior:
    """The cached codec for (dataset, family, lambda), trained on the train split if absent
    (kept in memory for the chunks of one build)."""
    key = (ctx.dataset, str(ctx.data_root), ctx.device, family, lmbda, shape[-1],
           max(shape[1:3]), tuple(sorted(TRAINING.items())))
    if key not in _LOADED:
        _LOADED.clear()
        _LOADED[key] = _load_or_train(ctx, family, lmbda, shape)
    return _LOADED[key]


def _load_or_train(ctx: AugmentContext, family: str, lmbda: float, shape) -> FactorizedPrior:
    config = default_config(family, shape[-1], max(shape[1:3]))
    digest = config_hash(config, **TRAINING)
    path = checkpoint_path(ctx.data_root, ctx.dataset, config, lmbda, digest)
    train = load_dataset(ctx.dataset, "train", ctx.data_root)
    if not train.fixed_size:
        raise BenchError(f"{ctx.dataset}: codec training needs images of one size")
    return train_codec(train.images, config, lmbda, path, device=ctx.device,
                       progress=ctx.progress, **TRAINING)


def codec_transform(model: FactorizedPrior, images: np.ndarray, device: str = "cpu",
                    chunk: int = 256) -> Transformed:
    """Encode to real bitstreams, decode them, and count their bits."""
    h, w = images.shape[1:3]
    out, bits, estimate = np.empty_like(images), np.empty(len(images)), np.empty(len(images))
    for start in range(0, len(images), chunk):
        x = torch.from_numpy(images[start:start + chunk]).permute(0, 3, 1, 2).to(device) / 255
        streams = model.compress(x.float())
        rec = model.decompress(streams, (h, w))
        out[start:start + len(x)] = torch.round(rec * 255).to(torch.uint8).permute(0, 2, 3, 1).cpu()
        bits[start:start + len(x)] = [8 * len(s) for s in streams]
        estimate[start:start + len(x)] = model.estimated_bits(x.float()).cpu().numpy()
    return Transformed(out, bits, bits.copy(), estimate)  # no container: the stream is the file


def _check_lambda(lmbda, shape):
    if not lmbda > 0:
        raise BenchError(f"lambda must be > 0, got {lmbda}")


def _family(name: str):
    @register_family(name, param="lambda > 0 (loss = bpp + lambda 255^2 MSE)", grid=LAMBDAS,
                     check=_check_lambda, is_codec=True)
    def transform(images, lmbda, rngs, ctx=None):
        if ctx is None:
            raise BenchError(f"{name}: a learned codec needs the dataset it was trained on")
        return codec_transform(load_or_train(ctx, name, float(lmbda), images.shape), images,
                               ctx.device)
    return transform


bls = _family("bls")
bmshj = _family("bmshj")
