"""Learned codecs: BLS (factorized prior, Ballé et al. 2017/2018) and BMSHJ (scale
hyperprior, Ballé, Minnen, Singh, Hwang & Johnston 2018), as in CompressAI's
``bmshj2018-factorized`` and ``bmshj2018-hyperprior``, with real bitstreams.

``depth`` is the number of stride-2 stages of the analysis transform: 4 as published (for
large images, N=128, M=192), 3 by default here for 28-32 px images (a 4x4 latent).
"""
from __future__ import annotations

import copy
from dataclasses import asdict, dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from . import coding
from .entropy import EntropyBottleneck, GaussianConditional, quantize_noise
from .layers import GDN

# Bumped whenever the coding of a latent changes, so cached sets made by an older coder are
# rebuilt (2: escaped symbols instead of clipping; 3: integer tables frozen with the
# checkpoint, Gaussian scales coded by level).
BITSTREAM_FORMAT = 3


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


def _training_latents(y: torch.Tensor, quant: str, offset) -> tuple[torch.Tensor, torch.Tensor]:
    """(what the synthesis sees, what the rate is measured on) in training: noisy latents
    for both ("noise"), or the rounded latents with a straight-through gradient for the
    synthesis ("mixed", Minnen & Singh 2020)."""
    noisy = quantize_noise(y, True)
    if quant == "mixed":
        rounded = torch.round(y - offset) + offset
        return y + (rounded - y).detach(), noisy
    return noisy, noisy


class FactorizedPrior(nn.Module):
    """BLS: g_a -> factorized entropy bottleneck -> g_s."""

    # the training stand-in for rounding (``CodecRecipe.quant``); set by the trainer
    quant = "noise"

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
        if self.training:
            y_hat, y_rate = _training_latents(y, self.quant, eb.medians.view(1, -1, 1, 1))
        else:
            y_hat = y_rate = eb.dequantize(eb.quantize(y))
        return y_hat, [eb.likelihood(y_rate)]

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
        eb = self.entropy_bottleneck
        streams = []
        for symbols in eb.quantize(self.g_a(_pad(x, self.multiple))):
            enc = coding.new_encoder()
            _encode_factorized(eb, symbols, enc)
            streams.append(enc.get_compressed().tobytes())
        return streams

    @torch.no_grad()
    def decompress(self, streams: list[bytes], shape: tuple[int, int]) -> torch.Tensor:
        h, w = shape
        return self.g_s(self.decode_latents(streams, shape))[..., :h, :w].clamp(0, 1)

    @torch.no_grad()
    def decode_latents(self, streams: list[bytes], shape: tuple[int, int]) -> torch.Tensor:
        """The dequantised latents the bitstreams carry: exactly the encoder's, in any
        process (the reconstruction after them is float arithmetic, so its last bits may
        vary with the thread count or the device)."""
        lat = _latent_shape(shape, self.multiple, self.config.depth)
        eb = self.entropy_bottleneck
        symbols = torch.stack([_decode_factorized(eb, lat, coding.new_decoder(s)) for s in streams])
        return eb.dequantize(symbols)

    def update(self) -> None:
        """Freeze the integer coding tables (done when training ends; saved with the weights)."""
        self.entropy_bottleneck.update()


class ScaleHyperprior(FactorizedPrior):
    """BMSHJ: a hyper-analysis of |y| is coded with the factorized prior and predicts the
    scale of a zero-mean Gaussian for each latent.

    The coder and the decoder must pick the same table for every latent, and the table
    follows from a float computation (the hyper-synthesis of the decoded z). Done on the
    model's device, a GPU writer and a CPU reader round differently and can fall on two
    sides of a level edge: the decoder desynchronises (CompressAI issue #279). So both
    sides compute the coding scales the same way whatever the model's device and dtype:
    a float64 copy of ``h_s`` on the CPU, the levels compared in float64. Two CPUs can
    still round a float64 convolution differently in its last bits; a scale would have to
    lie within about 1e-15 of one of the 64 level edges to change its table."""

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
        if self.training:
            y_hat, y_rate = _training_latents(y, self.quant, 0.0)
        else:
            y_hat = y_rate = gc.quantize(y)
        return y_hat, [gc.likelihood(y_rate, scales), eb.likelihood(z_hat)]

    @torch.no_grad()
    def compress(self, x):
        y = self.g_a(_pad(x, self.multiple))
        eb, gc = self.entropy_bottleneck, self.gaussian_conditional
        z_symbols = eb.quantize(self.h_a(y.abs()))
        streams = []
        h_s = self._coding_synthesis()
        for yi, zs in zip(y, z_symbols):
            enc = coding.new_encoder()
            _encode_factorized(eb, zs, enc)
            # the tables from the decoded z, one image at a time: exactly what the decoder sees
            coding.encode(enc, gc.quantize(yi).cpu().numpy(), self._coding_groups(h_s, zs),
                          gc.tables())
            streams.append(enc.get_compressed().tobytes())
        return streams

    def _coding_synthesis(self) -> nn.Module:
        """A float64 CPU copy of ``h_s``: the coding scales' one way of being computed."""
        return copy.deepcopy(self.h_s).to("cpu", torch.float64).eval()

    def _coding_groups(self, h_s: nn.Module, z_symbols: torch.Tensor) -> np.ndarray:
        """Each latent's table, from one image's decoded z symbols (C, h, w)."""
        eb = self.entropy_bottleneck
        z_hat = z_symbols.cpu().double() + eb.medians.cpu().double().view(-1, 1, 1)
        return self.gaussian_conditional.groups(h_s(z_hat[None])[0])

    @torch.no_grad()
    def decode_latents(self, streams, shape):
        lat = _latent_shape(shape, self.multiple, self.config.depth)
        zlat = (lat[0] // 4, lat[1] // 4)
        ylat = (self.config.M, *lat)
        eb, gc = self.entropy_bottleneck, self.gaussian_conditional
        h_s = self._coding_synthesis()
        ys = []
        for s in streams:
            dec = coding.new_decoder(s)
            zs = _decode_factorized(eb, zlat, dec)
            sym = coding.decode(dec, self._coding_groups(h_s, zs), gc.tables())
            ys.append(torch.from_numpy(sym.astype(np.float32)).view(ylat))
        return torch.stack(ys).to(next(self.parameters()).device)

    def update(self) -> None:
        super().update()
        self.gaussian_conditional.update()


def _latent_shape(shape, multiple, depth) -> tuple[int, int]:
    h, w = shape
    return (h + (-h) % multiple) // 2**depth, (w + (-w) % multiple) // 2**depth


def _encode_factorized(eb: EntropyBottleneck, symbols: torch.Tensor, enc) -> None:
    """One image's (C, h, w) symbols, each with its channel's frozen table."""
    coding.encode(enc, symbols.cpu().numpy(), eb.groups(symbols), eb.tables())


def _decode_factorized(eb: EntropyBottleneck, lat: tuple[int, int], dec) -> torch.Tensor:
    c = eb.quantiles.shape[0]
    sym = coding.decode(dec, np.repeat(np.arange(c), lat[0] * lat[1]), eb.tables())
    return torch.from_numpy(sym.astype(np.float32)).view(c, *lat).to(eb.quantiles.device)


CODECS = {"bls": FactorizedPrior, "bmshj": ScaleHyperprior}


def build_codec(config: CodecConfig) -> FactorizedPrior:
    return CODECS[config.family](config)
