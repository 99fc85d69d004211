"""Compression DeepAugment: each training image through a zoo codec whose weights and latent
are randomly perturbed for that image (Hendrycks et al. 2021, "The Many Faces of
Robustness", whose DeepAugment distorts images with a perturbed compressive autoencoder).

DeepAugment's autoencoder was trained for reconstruction; the distortion comes from the
perturbations. So the codec is BLS at the thesis grid's highest rate (lambda
``CODEC_LAMBDA``: the zoo's codec where the dataset has one), whose unperturbed round trip is
closest to the image, and the parameter is the perturbation
strength ``s`` in (0, 1]. For every image, from its own generator:

- one layer of the codec around its bottleneck: the analysis transform's last convolution or
  one of the first two of the synthesis (DeepAugment perturbed its autoencoder's last encoder
  and middle decoder layers, never the output layers);
- one weight perturbation of that layer, among the four kinds DeepAugment used: **zeroing**
  (each output filter with probability s; DeepAugment zeroed 25 filters), **negating** (each
  filter with probability s; DeepAugment negated 12, or a fifth), **noising** (every weight
  times 1 + s N(0, 1); DeepAugment scaled by up to 1 + 8u) and **transposing** (each filter's
  kernels turned by 90, 180 or 270 degrees with probability s; DeepAugment turned all);
- one activation perturbation of the quantised latent, as DeepAugment's on its code: none,
  or each latent position zeroed, or negated, with probability s.

No bits are counted: a perturbed decoder is no codec, so the family is no codec either.
"""
from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from corruptions.errors import BenchError

from ..codecs.models import FactorizedPrior, _pad
from .learned import load_or_train
from .online import to_nchw
from .registry import AugmentContext, Transformed, get_family, register_family

CODEC_FAMILY = "bls"
# the thesis grid's highest rate: the zoo's codec where the dataset has one, else one trained
# on demand with the zoo's recipe, as the bls family finds it
CODEC_LAMBDA = 0.1
CHUNK = 256  # images perturbed at once (each carries its own copy of three layers)
WEIGHT_KINDS = ("zero", "negate", "noise", "transpose")
LATENT_KINDS = ("none", "zero", "negate")


def _layers(model: FactorizedPrior) -> list[str]:
    """The perturbed layers' weight names: g_a's last convolution, g_s's first two."""
    convs = [f"g_a.{i}.weight" for i, m in enumerate(model.g_a) if isinstance(m, torch.nn.Conv2d)]
    deconvs = [f"g_s.{i}.weight" for i, m in enumerate(model.g_s)
               if isinstance(m, torch.nn.ConvTranspose2d)]
    return [convs[-1], *deconvs[:2]]


def perturb(weight: torch.Tensor, kind: str, s: float, rng: np.random.Generator,
            out_axis: int) -> torch.Tensor:
    """One of DeepAugment's weight perturbations of one layer at strength ``s``."""
    w = weight.detach().clone()
    filters = w.shape[out_axis]
    hit = torch.from_numpy(rng.random(filters) < s)
    view = [1] * w.ndim
    view[out_axis] = filters
    hit = hit.view(view).to(w.device)
    if kind == "zero":
        return torch.where(hit, torch.zeros_like(w), w)
    if kind == "negate":
        return torch.where(hit, -w, w)
    if kind == "noise":
        noise = torch.from_numpy(rng.standard_normal(w.shape).astype(np.float32)).to(w.device)
        return w * (1 + s * noise)
    if kind == "transpose":
        turned = torch.rot90(w, int(rng.integers(1, 4)), dims=(-2, -1))
        return torch.where(hit, turned, w)
    raise ValueError(kind)


def _check_strength(s, shape):
    if not 0 < s <= 1:
        raise BenchError(f"deepaugment_bls: the perturbation strength must be in (0, 1], got {s}")


def _codec(ctx: AugmentContext | None) -> FactorizedPrior:
    if ctx is None:
        raise BenchError("deepaugment_bls: a learned codec needs the dataset it was trained on")
    return load_or_train(ctx, CODEC_FAMILY, CODEC_LAMBDA).eval()


def _provenance(s, ctx: AugmentContext) -> dict:
    return {"codec": get_family(CODEC_FAMILY).provenance(CODEC_LAMBDA, ctx),
            "layers": "g_a last conv, g_s first two", "weights": list(WEIGHT_KINDS),
            "latent": list(LATENT_KINDS)}


def _grouped(module: torch.nn.Module, x: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
    """``module`` (a convolution) on each image of ``x`` with that image's own weights
    ``weights[i]``, as one grouped convolution."""
    b = len(x)
    flat = x.reshape(1, -1, *x.shape[2:])
    w = weights.reshape(-1, *weights.shape[2:])
    bias = module.bias.repeat(b) if module.bias is not None else None
    if isinstance(module, torch.nn.ConvTranspose2d):
        y = F.conv_transpose2d(flat, w, bias, module.stride, module.padding,
                               module.output_padding, groups=b)
    else:
        y = F.conv2d(flat, w, bias, module.stride, module.padding, groups=b)
    return y.reshape(b, -1, *y.shape[2:])


def _through(seq: torch.nn.Sequential, prefix: str, x: torch.Tensor,
             per_image: dict[str, torch.Tensor]) -> torch.Tensor:
    for i, module in enumerate(seq):
        name = f"{prefix}.{i}.weight"
        x = _grouped(module, x, per_image[name]) if name in per_image else module(x)
    return x


@register_family("deepaugment_bls", param="perturbation strength in (0, 1]",
                 grid=(0.05, 0.1, 0.2), check=_check_strength, provenance=_provenance)
@torch.no_grad()
def deepaugment_bls(images, s, rngs, ctx=None):
    model = _codec(ctx)
    out = np.empty_like(images)
    for start in range(0, len(images), CHUNK):
        out[start:start + CHUNK] = _perturbed(model, images[start:start + CHUNK], float(s),
                                              rngs[start:start + CHUNK], ctx.device)
    return Transformed(out)


def _perturbed(model: FactorizedPrior, images: np.ndarray, s: float, rngs,
               device: str) -> np.ndarray:
    """Each image through the codec with its own perturbation (the module's draws)."""
    layers = _layers(model)
    params = dict(model.named_parameters())
    b = len(images)
    # every image's copy of the perturbable layers, the original where its draw is elsewhere
    per_image = {n: params[n].detach().expand(b, *params[n].shape).clone() for n in layers}
    latent_hits = []
    for i, rng in enumerate(rngs):
        layer = layers[rng.integers(len(layers))]
        kind = WEIGHT_KINDS[rng.integers(len(WEIGHT_KINDS))]
        out_axis = 1 if layer.startswith("g_s") else 0  # ConvTranspose2d: (in, out, k, k)
        per_image[layer][i] = perturb(params[layer], kind, s, rng, out_axis)
        latent_hits.append((LATENT_KINDS[rng.integers(len(LATENT_KINDS))], rng))
    x = to_nchw(images).to(device) / 255
    h, w = images.shape[1:3]
    eb = model.entropy_bottleneck
    y = _through(model.g_a, "g_a", _pad(x, model.multiple), per_image)
    y_hat = eb.dequantize(eb.quantize(y))
    sign = torch.ones(b, 1, *y_hat.shape[2:], device=y_hat.device)
    for i, (latent, rng) in enumerate(latent_hits):
        if latent != "none":
            hit = torch.from_numpy(rng.random(y_hat.shape[-2:]) < s).to(y_hat.device)
            sign[i, 0][hit] = 0.0 if latent == "zero" else -1.0
    rec = _through(model.g_s, "g_s", y_hat * sign, per_image)[..., :h, :w]
    return torch.round(rec.clamp(0, 1) * 255).to(torch.uint8).permute(0, 2, 3, 1).cpu().numpy()
