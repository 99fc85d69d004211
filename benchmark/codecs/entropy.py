"""Entropy models: the factorized prior (EntropyBottleneck) and the Gaussian conditional.

Both give likelihoods for training (uniform noise stands in for rounding) and the integer
symbols plus probability tables the range coder needs at test time.
"""
from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from .layers import lower_bound

LIKELIHOOD_BOUND = 1e-9
# Probability of the escape symbol of a factorized table (about 20 bits when it is used); an
# escaped value is then coded on its own with a wide model (see ``models``).
ESCAPE_MASS = 1e-6


def quantize_noise(x: torch.Tensor, training: bool, offset: torch.Tensor | float = 0.0):
    """Uniform noise in training (a differentiable proxy of rounding), rounding otherwise."""
    if training:
        return x + torch.empty_like(x).uniform_(-0.5, 0.5)
    return torch.round(x - offset) + offset


class EntropyBottleneck(nn.Module):
    """The non-parametric factorized density of Ballé et al. (2018, appendix 6.1): a per
    channel monotone CDF made of small matrices, and quantiles learned by an auxiliary loss
    that bound the coding range."""

    def __init__(self, channels: int, filters=(3, 3, 3, 3), init_scale: float = 10.0,
                 tail_mass: float = 1e-9):
        super().__init__()
        dims = (1, *filters, 1)
        scale = init_scale ** (1 / (len(dims) - 1))
        self.matrices, self.biases, self.factors = (nn.ParameterList() for _ in range(3))
        for i in range(len(dims) - 1):
            init = math.log(math.expm1(1 / scale / dims[i + 1]))
            self.matrices.append(nn.Parameter(torch.full((channels, dims[i + 1], dims[i]), init)))
            self.biases.append(nn.Parameter(torch.rand(channels, dims[i + 1], 1) - 0.5))
            if i < len(dims) - 2:
                self.factors.append(nn.Parameter(torch.zeros(channels, dims[i + 1], 1)))
        self.quantiles = nn.Parameter(
            torch.tensor([-init_scale, 0.0, init_scale]).repeat(channels, 1, 1))
        t = math.log(2 / tail_mass - 1)
        self.register_buffer("target", torch.tensor([-t, 0.0, t]))

    def _logits(self, x: torch.Tensor, detach: bool = False) -> torch.Tensor:
        for i, (m, b) in enumerate(zip(self.matrices, self.biases)):
            m, b = (m.detach(), b.detach()) if detach else (m, b)
            x = torch.matmul(F.softplus(m), x) + b
            if i < len(self.factors):
                f = self.factors[i].detach() if detach else self.factors[i]
                x = x + torch.tanh(f) * torch.tanh(x)
        return x

    def aux_loss(self) -> torch.Tensor:
        return (self._logits(self.quantiles, detach=True) - self.target).abs().sum()

    @property
    def medians(self) -> torch.Tensor:
        return self.quantiles[:, 0, 1].detach()

    def likelihood(self, y: torch.Tensor) -> torch.Tensor:
        """P(y_hat) of (B, C, H, W) values on the integer grid shifted by the medians."""
        c = y.shape[1]
        v = y.transpose(0, 1).reshape(c, 1, -1)
        lower, upper = self._logits(v - 0.5), self._logits(v + 0.5)
        sign = -torch.sign(lower + upper).detach()
        p = (torch.sigmoid(sign * upper) - torch.sigmoid(sign * lower)).abs()
        p = lower_bound(p, LIKELIHOOD_BOUND)
        return p.reshape(c, y.shape[0], *y.shape[2:]).transpose(0, 1)

    def support(self) -> tuple[torch.Tensor, torch.Tensor]:
        """Integer symbol range per channel, relative to the medians, from the quantiles."""
        q = self.quantiles.detach()[:, 0]
        lo = torch.floor(q[:, 0] - q[:, 1]).long()
        hi = torch.ceil(q[:, 2] - q[:, 1]).long()
        return lo, hi

    def quantize(self, y: torch.Tensor) -> torch.Tensor:
        """Rounded symbols, relative to the medians. Not clipped: a symbol outside the coding
        range is escaped by the coder, so an image unlike the training crops (a large flat
        sky) still decodes to what the encoder rounded."""
        return torch.round(y - self.medians.view(1, -1, 1, 1))

    def dequantize(self, symbols: torch.Tensor) -> torch.Tensor:
        return symbols + self.medians.view(1, -1, 1, 1)

    def pmf_table(self) -> tuple[np.ndarray, np.ndarray]:
        """(C, max support + 1) probabilities and the per-channel offset of symbol 0; the last
        column is the escape symbol, for a value outside the channel's range."""
        lo, hi = self.support()
        width = int((hi - lo).max()) + 1
        grid = lo.view(-1, 1) + torch.arange(width, device=lo.device).view(1, -1)
        values = (grid.to(self.medians) + self.medians.view(-1, 1)).unsqueeze(1)  # (C, 1, W)
        lower, upper = self._logits(values - 0.5, True), self._logits(values + 0.5, True)
        sign = -torch.sign(lower + upper)
        p = (torch.sigmoid(sign * upper) - torch.sigmoid(sign * lower)).abs()[:, 0]
        p = torch.where(grid <= hi.view(-1, 1), p, torch.zeros_like(p)).double()
        p = p / p.sum(1, keepdim=True) * (1 - ESCAPE_MASS)
        p = torch.cat([p, torch.full_like(p[:, :1], ESCAPE_MASS)], 1)
        return p.cpu().numpy().astype(np.float32), lo.cpu().numpy()


class GaussianConditional(nn.Module):
    """Zero-mean Gaussian of predicted scale, integrated over each quantisation bin."""

    SCALE_BOUND = 0.11
    MAX_SYMBOL = 255

    def likelihood(self, y: torch.Tensor, scales: torch.Tensor) -> torch.Tensor:
        scales = lower_bound(scales, self.SCALE_BOUND)
        v = y.abs()
        upper = 0.5 * torch.erfc(-(0.5 - v) / (scales * math.sqrt(2)))
        lower = 0.5 * torch.erfc(-(-0.5 - v) / (scales * math.sqrt(2)))
        return lower_bound(upper - lower, LIKELIHOOD_BOUND)

    def quantize(self, y: torch.Tensor) -> torch.Tensor:
        return torch.round(y).clamp(-self.MAX_SYMBOL, self.MAX_SYMBOL)

    @classmethod
    def coding_scales(cls, scales: torch.Tensor) -> np.ndarray:
        return scales.clamp_min(cls.SCALE_BOUND).double().cpu().numpy().ravel()
