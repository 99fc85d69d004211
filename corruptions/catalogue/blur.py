"""Blur corruptions: defocus, glass, motion, zoom and Gaussian."""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

from .. import ops
from ..registry import register_corruption


def _trim_zero_border(k: np.ndarray) -> np.ndarray:
    # Dropping all-zero outer rings keeps the correlation identical and makes it cheaper.
    r = 0
    while r < k.shape[0] // 2 and not k[r].any() and not k[-1 - r].any() \
            and not k[:, r].any() and not k[:, -1 - r].any():
        r += 1
    return k[r:k.shape[0] - r, r:k.shape[1] - r]


@register_corruption("defocus_blur", category="blur", common=True)
def defocus_blur(x, p, rngs, scale):
    radius, alias_blur = p
    return ops.filter2d(x, _trim_zero_border(ops.disk_kernel(radius, alias_blur)), "mirror")


def glass_permutation(rngs: Sequence[np.random.Generator], h: int, w: int, delta: int,
                      iterations: int) -> np.ndarray:
    """The pixel permutation of ImageNet-C's glass blur, one per image, as (B, H * W) sources.

    The reference visits pixels in a sequential raster loop and "swaps" each with a random
    neighbour; on RGB arrays its tuple swap of two NumPy views is really a copy
    (``x[h, w] = x[h', w']``, the neighbour keeps its value), and that is what defines the
    published data sets, so it is reproduced. The loop runs once for the whole batch on
    index arrays, instead of once per image on pixel values.
    """
    hs = np.arange(h - delta, delta, -1)
    ws = np.arange(w - delta, delta, -1)
    pos = (hs[:, None] * w + ws[None, :]).ravel()
    # (dx, dy) per visited pixel, in loop order; randint(-d, d) excludes +d, as there.
    offs = np.stack([r.integers(-delta, delta, size=(iterations, len(pos), 2)) for r in rngs])
    steps = offs[..., 1] * w + offs[..., 0]
    perm = np.tile(np.arange(h * w), (len(rngs), 1))
    rows = np.arange(len(rngs))
    for it in range(iterations):
        targets = pos[None, :] + steps[:, it]
        for j, p in enumerate(pos):
            perm[:, p] = perm[rows, targets[:, j]]
    return perm


@register_corruption("glass_blur", category="blur", common=True)
def glass_blur(x, p, rngs, scale):
    sigma, delta, iterations = p
    b, c, h, w = x.shape
    y = torch.floor(ops.gaussian_filter(x, sigma, "nearest") * 255)  # np.uint8(...) truncates
    perm = torch.from_numpy(glass_permutation(rngs, h, w, delta, iterations)).to(x.device)
    y = y.reshape(b, c, h * w).gather(2, perm[:, None, :].expand(b, c, h * w))
    return ops.gaussian_filter(y.reshape(b, c, h, w) / 255, sigma, "nearest")


@register_corruption("motion_blur", category="blur", common=True)
def motion_blur(x, p, rngs, scale):
    radius, sigma = p
    angles = [r.uniform(-45, 45) for r in rngs]
    return ops.motion_blur(x, radius, sigma, angles)


@register_corruption("zoom_blur", category="blur", common=True)
def zoom_blur(x, factors, rngs, scale):
    h, w = x.shape[-2:]
    out = torch.zeros_like(x)
    for z in factors:
        out += ops.clipped_zoom(x, float(z), trim=scale == "cifar")[..., :h, :w]
    return (x + out) / (len(factors) + 1)


@register_corruption("gaussian_blur", category="blur")
def gaussian_blur(x, sigma, rngs, scale):
    return ops.gaussian_filter(x, sigma, "nearest")
