"""Noise corruptions: additive, Poisson, salt-and-pepper and multiplicative."""
from __future__ import annotations

from functools import lru_cache

import numpy as np
import torch
from scipy.special import gammaln

from ..registry import register_corruption
from ..rng import draw, torch_generators


def _randn(rngs, shape) -> torch.Tensor:
    # torch's normal sampler is ~2x NumPy's on CPU; each image keeps its own seeded stream.
    out = torch.empty((len(rngs), *shape))
    for i, g in enumerate(torch_generators(rngs)):
        torch.randn(shape, generator=g, out=out[i])
    return out


@register_corruption("gaussian_noise", category="noise", common=True)
def gaussian_noise(x, sigma, rngs, scale):
    return x + _randn(rngs, x.shape[1:]).to(x.device) * sigma


@register_corruption("speckle_noise", category="noise")
def speckle_noise(x, sigma, rngs, scale):
    return x + x * _randn(rngs, x.shape[1:]).to(x.device) * sigma


@lru_cache(maxsize=32)
def _poisson_tables(photons: float) -> tuple[np.ndarray, np.ndarray]:
    """Poisson CDFs for the 256 rates an 8-bit image can have (lambda = photons * v / 255),
    and a guide table (Chen & Asau) so that inversion starts next to its answer."""
    lam = np.arange(256) / 255 * photons
    m = int(photons + 12 * np.sqrt(photons) + 20)  # tail beyond m: < 1e-15
    j = np.arange(m)
    with np.errstate(divide="ignore", invalid="ignore"):
        logp = j * np.log(lam[:, None]) - lam[:, None] - gammaln(j + 1)
    logp[0] = np.where(j == 0, 0.0, -np.inf)  # lambda = 0: always zero photons
    cdf = np.cumsum(np.exp(logp), axis=1)
    cdf[:, -1] = 1.0
    offset = np.arange(256)[:, None]
    queries = (offset + np.arange(m)[None, :] / m).ravel()
    guide = np.searchsorted((cdf + offset).ravel(), queries) - np.repeat(np.arange(256) * m, m)
    guide = guide.reshape(256, m)
    guide[:, 0] = 0
    return cdf, np.clip(guide, 0, m - 1)


def poisson_counts(levels: np.ndarray, photons: float, u: np.ndarray) -> np.ndarray:
    """Exact Poisson(photons * level / 255) draws by inversion of uniform ``u``: the same
    distribution as ``rng.poisson`` at a fraction of its cost, since only 256 rates occur."""
    cdf, guide = _poisson_tables(float(photons))
    m = cdf.shape[1]
    cflat, gflat = cdf.ravel(), guide.ravel()
    uf = u.ravel()
    base = levels.ravel().astype(np.intp) * m
    start = (uf * m).astype(np.intp)
    np.minimum(start, m - 1, out=start)
    j = np.take(gflat, base + start)
    todo = np.flatnonzero(np.take(cflat, base + j) < uf)
    while todo.size:
        j[todo] += 1
        todo = todo[np.take(cflat, base[todo] + j[todo]) < uf[todo]]
    return j.reshape(levels.shape)


@register_corruption("shot_noise", category="noise", common=True)
def shot_noise(x, photons, rngs, scale):
    levels = torch.round(x * 255).to(torch.uint8).cpu().numpy()
    u = draw(rngs, lambda r: r.random(levels.shape[1:]))
    counts = poisson_counts(levels, photons, u.numpy())
    return torch.from_numpy(counts).to(x.device, x.dtype) / photons


@register_corruption("impulse_noise", category="noise", common=True, uint8=True)
def impulse_noise(images, amount, rngs, scale):
    # skimage.util.random_noise(mode="s&p"): each value flips with p = amount, to white or
    # black with equal odds; one uniform per value decides both (u < amount/2: salt, else
    # u < amount: pepper). Untouched values stay exact, so this works on the bytes.
    out = images.copy()
    for img, r in zip(out, rngs):
        u = r.random(img.shape, dtype=np.float32)
        img[u < amount] = 0
        img[u < amount / 2] = 255
    return out
