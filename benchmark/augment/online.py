"""The online kind of augmentation family: new random operations for every image at every
epoch, applied to each training batch on its device (AugMix, TrivialAugment, RandAugment,
AutoAugment).

A recipe splits into two halves. ``draw`` makes every random choice for n images at once on
the CPU from a numpy generator (which operations, magnitudes, mixing weights), in image
index order: for a training set, an image's draws follow from (seed, epoch, its index),
whatever batch it lands in, and CPU and CUDA draw the same.
``apply`` runs the drawn program on a uint8 batch, batched per operation (``ops``). The
program is the one torchvision's transform runs for one image: ``chains`` chains of up to
``steps`` operations (-1: no operation at that step), and, for AugMix, the weights that mix
the chains with the original image.

An online family is registered like every other (``register_online``); its precomputed
form (``bench augment``, the reports' description of the training data, the similarity
study) is one draw per image from the image's own stream: what one epoch sees.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor
from torchvision.transforms import InterpolationMode

from .ops import AFFINE, OPS, affine, apply_op
from .registry import Family, Transformed, register_family

OP_INDEX = {name: i for i, name in enumerate(OPS)}
GEOMETRIC = [OP_INDEX[name] for name in AFFINE]  # one resampling pass for all of them


@dataclass(frozen=True)
class Draws:
    """The random program of n images: ``ops`` and ``magnitudes`` (n, chains, steps), and
    for a mixing recipe ``weights`` (n, 1 + chains) float32, the original's weight first."""

    ops: np.ndarray
    magnitudes: np.ndarray
    weights: np.ndarray | None = None

    def take(self, index: np.ndarray) -> Draws:
        return Draws(self.ops[index], self.magnitudes[index],
                     None if self.weights is None else self.weights[index])

    @staticmethod
    def concat(parts: Sequence[Draws]) -> Draws:
        weights = [p.weights for p in parts]
        return Draws(np.concatenate([p.ops for p in parts]),
                     np.concatenate([p.magnitudes for p in parts]),
                     None if weights[0] is None else np.concatenate(weights))


@dataclass(frozen=True)
class Recipe:
    """One online family at one parameter: how it draws, and how its operations resample."""

    draw: Callable[[np.random.Generator, int, tuple[int, int]], Draws]
    interpolation: InterpolationMode = InterpolationMode.NEAREST

    def apply(self, x: Tensor, draws: Draws) -> Tensor:
        """The drawn programs on the uint8 batch ``x`` (B, C, H, W), on its device: every
        chain of every image in one batch, each step one call per operation drawn (all
        geometric ones in one resampling pass)."""
        b, chains, steps = draws.ops.shape
        aug = x.repeat(chains, 1, 1, 1) if chains > 1 else x.clone()  # chain-major
        ops = draws.ops.transpose(1, 0, 2).reshape(chains * b, steps)
        mags = draws.magnitudes.transpose(1, 0, 2).reshape(chains * b, steps)
        for s in range(steps):
            ids = ops[:, s]
            groups = [np.flatnonzero(ids == op) for op in np.unique(ids)
                      if op >= 0 and OPS[op] not in AFFINE and OPS[op] != "Identity"]
            for rows in groups + [np.flatnonzero(np.isin(ids, GEOMETRIC))]:
                if not len(rows):
                    continue
                at = torch.from_numpy(rows).to(x.device)
                names = [OPS[k] for k in ids[rows]]
                values = mags[rows, s].tolist()
                aug[at] = (affine(aug[at], names, values, self.interpolation)
                           if names[0] in AFFINE else
                           apply_op(aug[at], names[0], values, self.interpolation))
        if draws.weights is None:
            return aug
        w = torch.from_numpy(draws.weights).to(x.device)
        mix = w[:, 0].view(-1, 1, 1, 1) * x  # torchvision's AugMix: float32, then truncated
        for c, part in enumerate(aug.split(b)):
            mix.add_(w[:, c + 1].view(-1, 1, 1, 1) * part)
        return mix.to(x.dtype)


def epoch_generator(seed: int, epoch: int, view: int = 0) -> np.random.Generator:
    """The generator of an epoch's draws (``view``: the second of AugMix's two augmented
    copies under the consistency loss draws apart from the first)."""
    return np.random.default_rng([int(seed), int(epoch), int(view), 0x0A06])


def to_nchw(images: np.ndarray) -> Tensor:
    """(N, H, W, C) uint8 images -> a contiguous (N, C, H, W) uint8 tensor."""
    return torch.from_numpy(np.ascontiguousarray(images)).permute(0, 3, 1, 2).contiguous()


def _one_draw(make: Callable[[object], Recipe]):
    """The precomputed form: each image through one draw from its own generator."""
    def fn(images, value, rngs, ctx=None):
        recipe = make(value)
        size = images.shape[1:3]
        draws = Draws.concat([recipe.draw(r, 1, size) for r in rngs])
        out = recipe.apply(to_nchw(images), draws)
        return Transformed(out.permute(0, 2, 3, 1).contiguous().numpy())
    return fn


def register_online(name: str, *, param: str, grid: Sequence, parse: Callable[[str], object],
                    check: Callable[[object, tuple[int, ...] | None], None] | None = None,
                    format: Callable[[object], str] | None = None, override: bool = False):
    """Register ``make(value) -> Recipe`` as the online family ``name``."""
    def wrap(make: Callable[[object], Recipe]):
        register_family(name, param=param, grid=grid, parse=parse, check=check, format=format,
                        online=make, override=override)(_one_draw(make))
        return make
    return wrap


def recipe_of(family: Family, value) -> Recipe:
    if family.online is None:
        raise ValueError(f"{family.name} is a precomputed family")
    return family.online(value)
