"""Entropy models: the factorized prior (EntropyBottleneck) and the Gaussian conditional.

Both give likelihoods for training (uniform noise stands in for rounding) and, at test
time, the integer symbols, the group of each symbol and the frozen integer tables the range
coder needs (``update()`` freezes them; they are buffers, so they travel with the
checkpoint).
"""
from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from .coding import CodingTables, tables_from_pmf
from .layers import lower_bound

LIKELIHOOD_BOUND = 1e-9


class _FrozenTables(nn.Module):
    """Integer coding tables as buffers of variable shape, saved and loaded with the model."""

    def __init__(self):
        super().__init__()
        self.register_buffer("_counts", torch.zeros(0, dtype=torch.int32))
        self.register_buffer("_offsets", torch.zeros(0, dtype=torch.int64))
        self.register_buffer("_widths", torch.zeros(0, dtype=torch.int64))
        self._tables: CodingTables | None = None

    # buffers a checkpoint from before frozen tables lacks: it loads unfrozen (training's
    # finished-checkpoint path then freezes it) instead of failing the strict load
    _ADDED_LATER = ("_counts", "_offsets", "_widths")

    def _load_from_state_dict(self, state_dict, prefix, local_metadata, strict, missing_keys,
                              unexpected_keys, error_msgs):
        for name in ("_counts", "_offsets", "_widths"):  # the stored tables' shapes win
            if prefix + name in state_dict:
                setattr(self, name, torch.empty_like(state_dict[prefix + name]))
        self._tables = None
        super()._load_from_state_dict(state_dict, prefix, local_metadata, strict, missing_keys,
                                      unexpected_keys, error_msgs)
        for name in self._ADDED_LATER:
            if prefix + name in missing_keys:
                missing_keys.remove(prefix + name)

    @property
    def frozen(self) -> bool:
        return self._counts.numel() > 0

    def _freeze(self, tables: CodingTables) -> None:
        device = self._counts.device
        self._counts = torch.from_numpy(tables.counts).to(device)
        self._offsets = torch.from_numpy(tables.offsets).to(device)
        self._widths = torch.from_numpy(tables.widths).to(device)
        self._tables = None

    def tables(self) -> CodingTables:
        if not self.frozen:
            self.update()
        if self._tables is None:
            self._tables = CodingTables(self._counts.cpu().numpy(), self._offsets.cpu().numpy(),
                                        self._widths.cpu().numpy())
        return self._tables

    def update(self) -> None:
        raise NotImplementedError


def quantize_noise(x: torch.Tensor, training: bool, offset: torch.Tensor | float = 0.0):
    """Uniform noise in training (a differentiable proxy of rounding), rounding otherwise."""
    if training:
        return x + torch.empty_like(x).uniform_(-0.5, 0.5)
    return torch.round(x - offset) + offset


class EntropyBottleneck(_FrozenTables):
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

    @torch.no_grad()
    def update(self) -> None:
        """Freeze one integer table per channel from the learned density and quantiles."""
        lo, hi = self.support()
        width = int((hi - lo).max()) + 1
        grid = lo.view(-1, 1) + torch.arange(width, device=lo.device).view(1, -1)
        values = (grid.to(self.medians) + self.medians.view(-1, 1)).unsqueeze(1)  # (C, 1, W)
        lower, upper = self._logits(values - 0.5, True), self._logits(values + 0.5, True)
        sign = -torch.sign(lower + upper)
        p = (torch.sigmoid(sign * upper) - torch.sigmoid(sign * lower)).abs()[:, 0]
        self._freeze(tables_from_pmf(p.double().cpu().numpy(), lo.cpu().numpy(),
                                     (hi - lo + 1).cpu().numpy()))

    def groups(self, symbols: torch.Tensor) -> np.ndarray:
        """The table of each symbol of one image's (C, h, w) latents: its channel."""
        c, h, w = symbols.shape
        return np.repeat(np.arange(c), h * w)


def scale_table(low: float = 0.11, high: float = 256.0, levels: int = 64) -> torch.Tensor:
    """CompressAI's coding scales: log-spaced levels; a latent is coded with the first level
    at or above its predicted scale."""
    return torch.exp(torch.linspace(math.log(low), math.log(high), levels, dtype=torch.float64))


class GaussianConditional(_FrozenTables):
    """Zero-mean Gaussian of predicted scale, integrated over each quantisation bin."""

    SCALE_BOUND = 0.11
    TAIL_SIGMAS = 6.2  # each level's table spans +-6.2 scales (tail mass ~5e-10); the rest escapes

    _ADDED_LATER = (*_FrozenTables._ADDED_LATER, "scale_levels")  # a constant of the class

    def __init__(self):
        super().__init__()
        self.register_buffer("scale_levels", scale_table(self.SCALE_BOUND).float())

    def likelihood(self, y: torch.Tensor, scales: torch.Tensor) -> torch.Tensor:
        scales = lower_bound(scales, self.SCALE_BOUND)
        v = y.abs()
        upper = 0.5 * torch.erfc(-(0.5 - v) / (scales * math.sqrt(2)))
        lower = 0.5 * torch.erfc(-(-0.5 - v) / (scales * math.sqrt(2)))
        return lower_bound(upper - lower, LIKELIHOOD_BOUND)

    def quantize(self, y: torch.Tensor) -> torch.Tensor:
        return torch.round(y)

    @torch.no_grad()
    def update(self) -> None:
        """Freeze one integer table per scale level (float64, computed once)."""
        from scipy.special import ndtr

        levels = self.scale_levels.double().cpu().numpy()
        half = np.ceil(self.TAIL_SIGMAS * levels).astype(np.int64)
        k = np.arange(-half.max(), half.max() + 1)
        pmf = np.zeros((len(levels), len(k)))
        for i, (s, h) in enumerate(zip(levels, half)):
            v = np.arange(-h, h + 1)
            pmf[i, :len(v)] = ndtr((v + 0.5) / s) - ndtr((v - 0.5) / s)
        self._freeze(tables_from_pmf(pmf, -half, 2 * half + 1))

    def groups(self, scales: torch.Tensor) -> np.ndarray:
        """The table of each latent: the first scale level at or above its predicted scale."""
        # in float64 (``ScaleHyperprior``), against the float32 levels the tables were built
        # for; the smallest level itself is the bound (float64's 0.11 lies above it)
        levels = self.scale_levels.double().to(scales.device)
        idx = torch.bucketize(scales.double().clamp_min(levels[0]).contiguous(), levels)
        return idx.clamp_max(len(self.scale_levels) - 1).cpu().numpy().ravel()
