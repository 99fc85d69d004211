"""torchvision's image operations (those of AutoAugment, RandAugment, TrivialAugment and
AugMix), batched with one magnitude per image.

torchvision's ``_apply_op`` is the definition: it takes one magnitude per call, so a batch
would get one draw. ``apply_op`` runs the same operation on a whole batch of uint8 images,
each with its own magnitude, by the same arithmetic: the inverse affine matrix each image
would get from torchvision (``_get_inverse_affine_matrix``, per image), sampled through
torchvision's own grid transform; colour operations blended with torchvision's rule
(``ratio * a + (1 - ratio) * b``, clamped, truncated) with the ratio per image. The tests
hold every operation to ``_apply_op`` image by image.
"""
from __future__ import annotations

import functools
import math

import torch
from torch import Tensor
from torchvision.transforms import InterpolationMode
from torchvision.transforms import _functional_tensor as F_t
from torchvision.transforms import functional as F
from torchvision.transforms.functional import _get_inverse_affine_matrix
from torchvision.transforms.v2 import functional as F2

AFFINE = ("ShearX", "ShearY", "TranslateX", "TranslateY", "Rotate")
BLENDS = ("Brightness", "Color", "Contrast", "Sharpness")
OPS = ("Identity", *AFFINE, *BLENDS, "Posterize", "Solarize", "AutoContrast", "Equalize",
       "Invert")


@functools.lru_cache(maxsize=4096)  # magnitudes come from a few bins: each matrix once
def _matrix(op: str, magnitude: float, h: int, w: int) -> tuple[float, ...]:
    return tuple(_get_inverse_affine_matrix(*_affine_args(op, magnitude, h, w)))


def _affine_args(op: str, magnitude: float, h: int, w: int) -> tuple:
    """(center, angle, translate, scale, shear) as torchvision's ``_apply_op`` hands them to
    ``F.affine`` / ``F.rotate`` for ``magnitude``, with their centre conventions resolved."""
    if op == "ShearX":
        return [-w * 0.5, -h * 0.5], 0.0, [0.0, 0.0], 1.0, [math.degrees(math.atan(magnitude)), 0.0]
    if op == "ShearY":
        return [-w * 0.5, -h * 0.5], 0.0, [0.0, 0.0], 1.0, [0.0, math.degrees(math.atan(magnitude))]
    if op == "TranslateX":
        return [0.0, 0.0], 0.0, [float(int(magnitude)), 0.0], 1.0, [0.0, 0.0]
    if op == "TranslateY":
        return [0.0, 0.0], 0.0, [0.0, float(int(magnitude))], 1.0, [0.0, 0.0]
    if op == "Rotate":  # F.rotate turns the other way round
        return [0.0, 0.0], -magnitude, [0.0, 0.0], 1.0, [0.0, 0.0]
    raise ValueError(op)


def affine(x: Tensor, ops: list[str], magnitudes: list[float],
           interpolation: InterpolationMode = InterpolationMode.NEAREST) -> Tensor:
    """torchvision's tensor affine transform with one matrix per image: image ``i`` under the
    geometric operation ``ops[i]`` (any of ``AFFINE``) at ``magnitudes[i]``, in one pass."""
    b, _, h, w = x.shape
    theta = torch.tensor([_matrix(op, m, h, w) for op, m in zip(ops, magnitudes)],
                         dtype=torch.float32, device=x.device)
    theta = theta.view(b, 2, 3)
    # torchvision's _gen_affine_grid, for a batch of matrices
    base = torch.empty(1, h, w, 3, dtype=theta.dtype, device=x.device)
    base[..., 0].copy_(torch.linspace(-w * 0.5 + 0.5, w * 0.5 - 0.5, steps=w, device=x.device))
    base[..., 1].copy_(torch.linspace(-h * 0.5 + 0.5, h * 0.5 - 0.5, steps=h,
                                      device=x.device).unsqueeze_(-1))
    base[..., 2].fill_(1)
    scaled = theta.transpose(1, 2) / torch.tensor([0.5 * w, 0.5 * h], dtype=theta.dtype,
                                                  device=x.device)
    grid = base.view(1, h * w, 3).expand(b, h * w, 3).contiguous().bmm(scaled).view(b, h, w, 2)
    return F_t._apply_grid_transform(x, grid, interpolation.value, fill=None)


def _blend(a: Tensor, b: Tensor, ratios: list[float]) -> Tensor:
    """torchvision's ``_blend`` with one ratio per image: the float32 values a Python float
    ratio and ``1.0 - ratio`` take there."""
    r = torch.tensor(ratios, dtype=torch.float64)
    shape = (len(ratios), 1, 1, 1)
    keep = r.float().view(shape).to(a.device)
    other = (1.0 - r).float().view(shape).to(a.device)
    return (keep * a + other * b).clamp(0, 255).to(a.dtype)


def _blend_op(x: Tensor, op: str, factors: list[float]) -> Tensor:
    if op == "Brightness":
        return _blend(x, torch.zeros_like(x), factors)
    if op == "Color":
        if x.shape[1] == 1:  # torchvision: saturation of a grey image is the image
            return x
        return _blend(x, F_t.rgb_to_grayscale(x), factors)
    if op == "Contrast":
        grey = F_t.rgb_to_grayscale(x) if x.shape[1] == 3 else x
        return _blend(x, torch.mean(grey.to(torch.float32), dim=(-3, -2, -1), keepdim=True),
                      factors)
    if op == "Sharpness":
        if x.shape[-1] <= 2 or x.shape[-2] <= 2:
            return x
        return _blend(x, F_t._blurred_degenerate_image(x), factors)
    raise ValueError(op)


def apply_op(x: Tensor, op: str, magnitudes: list[float],
             interpolation: InterpolationMode = InterpolationMode.NEAREST) -> Tensor:
    """``torchvision.transforms.autoaugment._apply_op(x[i], op, magnitudes[i], ...)`` for
    every image ``i`` of the uint8 batch ``x`` (B, C, H, W) at once (fill: zeros)."""
    if op in AFFINE:
        return affine(x, [op] * len(x), magnitudes, interpolation)
    if op in BLENDS:
        return _blend_op(x, op, [1.0 + m for m in magnitudes])
    if op == "Posterize":
        masks = [(-int(2 ** (8 - int(m)))) & 0xFF for m in magnitudes]
        return x & torch.tensor(masks, dtype=torch.uint8, device=x.device).view(-1, 1, 1, 1)
    if op == "Solarize":
        thresholds = torch.tensor(magnitudes, dtype=torch.float64, device=x.device)
        return torch.where(x >= thresholds.view(-1, 1, 1, 1), 255 - x, x)
    if op == "AutoContrast":
        return F.autocontrast(x)
    if op == "Equalize":  # v2's is batched, v1's loops over the images: the same histograms
        return F2.equalize(x)
    if op == "Invert":
        return F.invert(x)
    if op == "Identity":
        return x
    raise ValueError(f"unknown operation {op!r}; known: {', '.join(OPS)}")
