"""Learned codecs: BLS (factorized prior, Ballé et al. 2017/2018) and BMSHJ (scale
hyperprior, Ballé, Minnen, Singh, Hwang & Johnston 2018), as in CompressAI's
``bmshj2018-factorized`` and ``bmshj2018-hyperprior``, with real bitstreams.

``depth`` is the number of stride-2 stages of the analysis transform: 4 as published (for
large images, N=128, M=192), 3 by default here for 28-32 px images (a 4x4 latent).
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

import constriction
import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from .entropy import EntropyBottleneck, GaussianConditional, quantize_noise
from .layers import GDN

# Bumped whenever the coding of a latent changes (2: escaped symbols instead of clipping), so
# cached sets made by an older coder are rebuilt.
BITSTREAM_FORMAT = 2


@dataclass(frozen=True)
class CodecConfig:
    family: str = "bls"
    channels: int = 3
    N: int = 64
    M: int = 96
    depth: int = 3

    def as_dict(self) -> dict:
        return asdict(self)


def _analysis(cin: int, n: int, m: int, depth: int) -> nn.Sequential:
    layers, c = [], cin
    for i in range(depth):
        out = m if i == depth - 1 else n
        layers.append(nn.Conv2d(c, out, 5, stride=2, padding=2))
        if i < depth - 1:
            layers.append(GDN(out))
        c = out
    return nn.Sequential(*layers)


def _synthesis(cout: int, n: int, m: int, depth: int) -> nn.Sequential:
    layers, c = [], m
    for i in range(depth):
        out = cout if i == depth - 1 else n
        layers.append(nn.ConvTranspose2d(c, out, 5, stride=2, padding=2, output_padding=1))
        if i < depth - 1:
            layers.append(GDN(out, inverse=True))
        c = out
    return nn.Sequential(*layers)


def _pad(x: torch.Tensor, multiple: int) -> torch.Tensor:
    h, w = x.shape[-2:]
    ph, pw = (-h) % multiple, (-w) % multiple
    return F.pad(x, (0, pw, 0, ph), mode="replicate") if ph or pw else x


class FactorizedPrior(nn.Module):
    """BLS: g_a -> factorized entropy bottleneck -> g_s."""

    def __init__(self, config: CodecConfig):
        super().__init__()
        self.config = config
        self.g_a = _analysis(config.channels, config.N, config.M, config.depth)
        self.g_s = _synthesis(config.channels, config.N, config.M, config.depth)
        self.entropy_bottleneck = EntropyBottleneck(config.M)

    @property
    def multiple(self) -> int:
        return 2**self.config.depth

    def latents(self, x: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor]]:
        """Latents (noisy in training, rounded otherwise) and the likelihoods of each coded
        part."""
        y = self.g_a(_pad(x, self.multiple))
        eb = self.entropy_bottleneck
        y_hat = quantize_noise(y, True) if self.training else eb.dequantize(eb.quantize(y))
        return y_hat, [eb.likelihood(y_hat)]

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor]]:
        """Reconstruction and likelihoods."""
        h, w = x.shape[-2:]
        y_hat, likelihoods = self.latents(x)
        return self.g_s(y_hat)[..., :h, :w], likelihoods

    @torch.no_grad()
    def estimated_bits(self, x: torch.Tensor) -> torch.Tensor:
        """Per image, the bits the entropy model expects (no synthesis needed)."""
        return sum((-torch.log2(p)).flatten(1).sum(1) for p in self.latents(x)[1])

    def aux_loss(self) -> torch.Tensor:
        return self.entropy_bottleneck.aux_loss()

    # ------------------------------------------------------------------ bitstreams
    @torch.no_grad()
    def compress(self, x: torch.Tensor) -> list[bytes]:
        """One range-coded bitstream per image (no header: shapes come from the caller)."""
        y = self.g_a(_pad(x, self.multiple))
        tables = _factorized_rows(self.entropy_bottleneck, y.shape[-2] * y.shape[-1])
        return [_encode_factorized(s, tables) for s in self.entropy_bottleneck.quantize(y)]

    @torch.no_grad()
    def decompress(self, streams: list[bytes], shape: tuple[int, int]) -> torch.Tensor:
        h, w = shape
        lat = _latent_shape(shape, self.multiple, self.config.depth)
        eb = self.entropy_bottleneck
        tables = _factorized_rows(eb, lat[0] * lat[1])
        symbols = torch.stack([_decode_factorized(eb, tables, lat, s) for s in streams])
        return self.g_s(eb.dequantize(symbols))[..., :h, :w].clamp(0, 1)


class ScaleHyperprior(FactorizedPrior):
    """BMSHJ: a hyper-analysis of |y| is coded with the factorized prior and predicts the
    scale of a zero-mean Gaussian for each latent."""

    def __init__(self, config: CodecConfig):
        super().__init__(config)
        n, m = config.N, config.M
        self.entropy_bottleneck = EntropyBottleneck(n)
        self.h_a = nn.Sequential(nn.Conv2d(m, n, 3, padding=1), nn.ReLU(inplace=True),
                                 nn.Conv2d(n, n, 5, stride=2, padding=2), nn.ReLU(inplace=True),
                                 nn.Conv2d(n, n, 5, stride=2, padding=2))
        self.h_s = nn.Sequential(
            nn.ConvTranspose2d(n, n, 5, stride=2, padding=2, output_padding=1), nn.ReLU(inplace=True),
            nn.ConvTranspose2d(n, n, 5, stride=2, padding=2, output_padding=1), nn.ReLU(inplace=True),
            nn.Conv2d(n, m, 3, padding=1), nn.ReLU(inplace=True))
        self.gaussian_conditional = GaussianConditional()

    @property
    def multiple(self) -> int:
        return 2 ** (self.config.depth + 2)

    def latents(self, x):
        y = self.g_a(_pad(x, self.multiple))
        z = self.h_a(y.abs())
        eb = self.entropy_bottleneck
        z_hat = quantize_noise(z, True) if self.training else eb.dequantize(eb.quantize(z))
        scales = self.h_s(z_hat)
        gc = self.gaussian_conditional
        y_hat = quantize_noise(y, True) if self.training else gc.quantize(y)
        return y_hat, [gc.likelihood(y_hat, scales), eb.likelihood(z_hat)]

    @torch.no_grad()
    def compress(self, x):
        y = self.g_a(_pad(x, self.multiple))
        eb, gc = self.entropy_bottleneck, self.gaussian_conditional
        z_symbols = eb.quantize(self.h_a(y.abs()))
        tables = _factorized_rows(eb, z_symbols.shape[-2] * z_symbols.shape[-1])
        streams = []
        for yi, zs in zip(y, z_symbols):
            enc = constriction.stream.queue.RangeEncoder()
            _encode_factorized(zs, tables, enc)
            # scales from the decoded z, one image at a time: exactly what the decoder sees
            scales = self.h_s(eb.dequantize(zs[None]))[0]
            enc.encode(gc.quantize(yi).cpu().numpy().astype(np.int32).ravel(), _GAUSSIAN,
                       np.zeros(yi.numel()), gc.coding_scales(scales))
            streams.append(enc.get_compressed().tobytes())
        return streams

    @torch.no_grad()
    def decompress(self, streams, shape):
        h, w = shape
        lat = _latent_shape(shape, self.multiple, self.config.depth)
        zlat = (lat[0] // 4, lat[1] // 4)
        ylat = (self.config.M, *lat)
        eb, gc = self.entropy_bottleneck, self.gaussian_conditional
        tables = _factorized_rows(eb, zlat[0] * zlat[1])
        ys = []
        for s in streams:
            dec = constriction.stream.queue.RangeDecoder(np.frombuffer(s, np.uint32))
            zs = _decode_factorized(eb, tables, zlat, dec=dec)
            scales = self.h_s(eb.dequantize(zs[None]))[0]
            sym = dec.decode(_GAUSSIAN, np.zeros(int(np.prod(ylat))), gc.coding_scales(scales))
            ys.append(torch.from_numpy(sym.astype(np.float32)).view(ylat))
        y_hat = torch.stack(ys).to(next(self.parameters()).device)
        return self.g_s(y_hat)[..., :h, :w].clamp(0, 1)


_CATEGORICAL = constriction.stream.model.Categorical(perfect=False)
_GAUSSIAN = constriction.stream.model.QuantizedGaussian(-GaussianConditional.MAX_SYMBOL,
                                                        GaussianConditional.MAX_SYMBOL)
# escaped factorized symbols: rare, so a plain wide model (about 13 bits each) will do
_ESCAPE_MAX = 2**15
_ESCAPED = constriction.stream.model.QuantizedLaplace(-_ESCAPE_MAX, _ESCAPE_MAX, 0.0, 512.0)


def _latent_shape(shape, multiple, depth) -> tuple[int, int]:
    h, w = shape
    return (h + (-h) % multiple) // 2**depth, (w + (-w) % multiple) // 2**depth


def _factorized_rows(eb: EntropyBottleneck, hw: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Each latent's probability row (last entry: escape), symbol offset and number of
    in-range symbols, for one image's (C, h, w) latents."""
    pmf, lo = eb.pmf_table()
    width = (pmf[:, :-1] > 0).sum(1)
    return np.repeat(pmf, hw, axis=0), np.repeat(lo, hw), np.repeat(width, hw)


def _encode_factorized(symbols: torch.Tensor, tables, enc=None):
    """Range-code one image's (C, h, w) symbols with the per-channel tables; a symbol out of
    its channel's range is sent as the escape symbol, then by value with a wide model."""
    rows, lo, width = tables
    own = enc is None
    enc = enc or constriction.stream.queue.RangeEncoder()
    sym = symbols.cpu().numpy().astype(np.int64).reshape(-1)
    idx = sym - lo
    escaped = (idx < 0) | (idx >= width)
    idx[escaped] = rows.shape[1] - 1
    enc.encode(idx.astype(np.int32), _CATEGORICAL, rows)
    if escaped.any():
        enc.encode(np.clip(sym[escaped], -_ESCAPE_MAX, _ESCAPE_MAX).astype(np.int32), _ESCAPED)
    return enc.get_compressed().tobytes() if own else None


def _decode_factorized(eb: EntropyBottleneck, tables, lat, stream=None, dec=None) -> torch.Tensor:
    rows, lo, _ = tables
    dec = dec or constriction.stream.queue.RangeDecoder(np.frombuffer(stream, np.uint32))
    idx = dec.decode(_CATEGORICAL, rows).astype(np.int64)
    sym = idx + lo
    escaped = idx == rows.shape[1] - 1
    if escaped.any():
        sym[escaped] = dec.decode(_ESCAPED, int(escaped.sum()))
    c = eb.quantiles.shape[0]
    return torch.from_numpy(sym.astype(np.float32)).view(c, *lat).to(eb.quantiles.device)


CODECS = {"bls": FactorizedPrior, "bmshj": ScaleHyperprior}


def build_codec(config: CodecConfig) -> FactorizedPrior:
    return CODECS[config.family](config)
