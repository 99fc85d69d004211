"""Learned frequency-band weights in front of any classifier (seed 001), as a model option.

Seed 001 weights the orthonormal 2D DCT X of an image by 8 radial bands, X_c = X * sum_k
softmax(w)_k M_k (band k holds the coefficients at distance (k-1)/8 to k/8 of the largest
from DC, the last band closed), trains w jointly with the classifier under
cross-entropy + lambda MSE(X_c, X) (lambda 0.1), with Adam (lr 1e-3) for w and SGD for the
rest, and compares it with w fixed uniform. The paper feeds X_c to a Conv1D; here X_c goes
back to the image domain (the DCT is orthonormal, so the reconstruction term is the same in
either), so any registered model can sit behind it. It sits after the dataset normalisation,
so X is the DCT of the standardised image (the paper's of x - 0.5: the same up to each
channel's scale). Uniform weights are 1/8 each, the paper's baseline (X/8), not identity.

``bench run`` reads two things off the module: ``aux_loss()`` (added to the loss while
training) and ``own_lr`` (its parameters get their own Adam); ``weights()`` goes into the
training history after every epoch (the band-weight evolution).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn


@dataclass(frozen=True)
class BandConfig:
    count: int = 8          # radial bands
    learned: bool = True    # False: fixed uniform weights (the paper's baseline)
    lmbda: float = 0.1      # weight of the reconstruction term
    lr: float = 1e-3        # Adam's learning rate for the band weights


def dct_matrix(n: int) -> torch.Tensor:
    """The orthonormal DCT-II matrix: ``D @ x`` transforms, ``D.T @ X`` inverts."""
    k, i = np.meshgrid(np.arange(n), np.arange(n), indexing="ij")
    d = np.cos(np.pi * (2 * i + 1) * k / (2 * n)) * np.sqrt(2.0 / n)
    d[0] /= np.sqrt(2.0)
    return torch.from_numpy(d.astype(np.float32))


def radial_masks(h: int, w: int, count: int) -> torch.Tensor:
    """(count, h, w) 0/1 masks: band k holds the coefficients whose distance from DC lies in
    [k, k+1) / count of the largest distance (which joins the last band)."""
    i, j = np.meshgrid(np.arange(h), np.arange(w), indexing="ij")
    d = np.sqrt(i**2 + j**2)
    k = np.minimum((d / d.max() * count).astype(int), count - 1)
    return torch.from_numpy((k[None] == np.arange(count)[:, None, None]).astype(np.float32))


class BandWeighted(nn.Module):
    """x -> IDCT(DCT(x) * sum_k softmax(w)_k M_k) -> net; keeps the reconstruction term of
    its last training forward pass for ``aux_loss``."""

    def __init__(self, net: nn.Module, config: BandConfig, image_size: int):
        super().__init__()
        self.net = net
        self.config = config
        self.own_lr = config.lr
        self.logits = nn.Parameter(torch.zeros(config.count), requires_grad=config.learned)
        # derived from the image size: rebuilt, not saved with the weights
        self.register_buffer("dct", dct_matrix(image_size), persistent=False)
        self.register_buffer("masks", radial_masks(image_size, image_size, config.count),
                             persistent=False)
        self._reconstruction: torch.Tensor | None = None

    def weights(self) -> torch.Tensor:
        return torch.softmax(self.logits, 0)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        d = self.dct.to(x.dtype)
        coeffs = d @ x @ d.T
        kept = coeffs * torch.einsum("k,khw->hw", self.weights(), self.masks).to(x.dtype)
        if self.training:
            self._reconstruction = F.mse_loss(kept.float(), coeffs.float())
        return self.net((d.T @ kept @ d).contiguous(memory_format=torch.channels_last))

    def aux_loss(self) -> torch.Tensor:
        if self._reconstruction is None:
            raise RuntimeError("aux_loss() before a training forward pass")
        return self.config.lmbda * self._reconstruction
