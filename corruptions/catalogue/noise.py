"""Noise corruptions: additive, Poisson, salt-and-pepper and multiplicative."""
from __future__ import annotations

import numpy as np

from ..registry import register_corruption
from ..rng import draw


@register_corruption("gaussian_noise", category="noise", common=True)
def gaussian_noise(x, sigma, rngs, scale):
    shape = x.shape[1:]
    return x + draw(rngs, lambda r: r.standard_normal(shape, dtype=np.float32), x) * sigma


@register_corruption("shot_noise", category="noise", common=True)
def shot_noise(x, photons, rngs, scale):
    lam = (x * photons).double().cpu().numpy()
    counts = np.stack([r.poisson(lam[i]) for i, r in enumerate(rngs)])
    return (x.new_tensor(counts) / photons).to(x.dtype)


@register_corruption("impulse_noise", category="noise", common=True)
def impulse_noise(x, amount, rngs, scale):
    # skimage.util.random_noise(mode="s&p"): each value flips with p = amount, to 1 or 0
    # with equal odds.
    shape = x.shape[1:]
    u = draw(rngs, lambda r: r.random((2, *shape), dtype=np.float32), x)
    flipped, salted = u[:, 0] < amount, u[:, 1] < 0.5
    out = x.clone()
    out[flipped & salted] = 1.0
    out[flipped & ~salted] = 0.0
    return out


@register_corruption("speckle_noise", category="noise")
def speckle_noise(x, sigma, rngs, scale):
    shape = x.shape[1:]
    return x + x * draw(rngs, lambda r: r.standard_normal(shape, dtype=np.float32), x) * sigma
