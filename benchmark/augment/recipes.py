"""The field's robust-training recipes as online families, drawn as torchvision draws them.

torchvision's transforms are the definition: each recipe takes its operation table from
the torchvision class (``_augmentation_space``, AutoAugment's policies) and draws per image
what that class draws per call, with the same distributions; ``online.Recipe.apply`` runs
the drawn operations as ``_apply_op`` does. Parameters and their grids:

- ``augmix``: torchvision's AugMix at severity 1..10 (default 3, as the paper's), 3 chains of
  depth 1-3, Dirichlet(1) chain weights, Beta(1, 1) weight of the original, bilinear
  resampling, and the paper's CIFAR operation set (``all_ops=False``: no brightness, colour,
  contrast or sharpness, which Hendrycks et al. left out because they overlap CIFAR-10-C's
  corruptions; torchvision's default adds them). torchvision draws a magnitude from the
  first ``severity`` of 10 fixed levels, the first of them 0; the paper's code draws a level
  uniformly in [0.1, severity] of 10. At one severity torchvision's is the milder (at 3:
  rotations up to 6.7 degrees, not 9, and one draw in three does nothing geometric).
- ``trivialaugment``: the number of magnitude bins (the "wide" space, 31): TrivialAugment has
  no parameter to tune; one operation per image at a uniformly drawn magnitude.
- ``randaugment``: the magnitude M (0..30 on torchvision's 31 bins) at N = 2 operations,
  torchvision's default N; the grid brackets torchvision's default M = 9.
- ``autoaugment``: the policy (the CIFAR-10 policy of Cubuk et al. 2019).
"""
from __future__ import annotations

import numpy as np
from torchvision.transforms import AugMix, AutoAugment, AutoAugmentPolicy, InterpolationMode
from torchvision.transforms import RandAugment, TrivialAugmentWide

from corruptions.errors import BenchError

from .online import OP_INDEX, Draws, Recipe, register_online


def _table(space: dict) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """An operation space as arrays: op ids (into ``ops.OPS``), magnitudes (ops x bins,
    each the float torchvision's ``.item()`` gives; parameterless ops hold 0) and signed."""
    names = list(space)
    bins = max(int(t.numel()) for t, _ in space.values())
    mags = np.zeros((len(names), bins))
    for i, (t, _) in enumerate(space.values()):
        if t.ndim > 0:
            mags[i, :t.numel()] = [float(v) for v in t.tolist()]
    signed = np.array([s for _, s in space.values()])
    return np.array([OP_INDEX[n] for n in names]), mags, signed


def _signs(rng: np.random.Generator, signed: np.ndarray, shape) -> np.ndarray:
    """-1 where a signed operation is negated (probability 1/2), else 1."""
    flip = rng.integers(0, 2, shape).astype(bool)
    return np.where(signed & flip, -1.0, 1.0)


def _require_int(name: str, lo: int, hi: int):
    def check(value, shape):
        if not (isinstance(value, int) and lo <= value <= hi):
            raise BenchError(f"{name}: expected an integer in {lo}..{hi}, got {value!r}")
    return check


# --------------------------------------------------------------------------- AugMix
AUGMIX_WIDTH = 3  # chains (torchvision and the paper's default)
AUGMIX_DEPTH = 3  # a chain has 1..3 operations (chain_depth=-1)
AUGMIX_ALPHA = 1.0


@register_online("augmix", param="severity 1..10", grid=(1, 3, 5), parse=int,
                 check=_require_int("augmix", 1, 10))
def augmix(severity: int) -> Recipe:
    def draw(rng: np.random.Generator, n: int, size: tuple[int, int]) -> Draws:
        ref = AugMix(severity=severity, all_ops=False)
        ids, mags, signed = _table(ref._augmentation_space(ref._PARAMETER_MAX, size))
        shape = (n, AUGMIX_WIDTH, AUGMIX_DEPTH)
        m = rng.dirichlet([AUGMIX_ALPHA] * 2, n).astype(np.float32)
        w = rng.dirichlet([AUGMIX_ALPHA] * AUGMIX_WIDTH, n).astype(np.float32)
        depth = rng.integers(1, AUGMIX_DEPTH + 1, (n, AUGMIX_WIDTH))
        op = rng.integers(0, len(ids), shape)
        level = rng.integers(0, severity, shape)
        magnitude = mags[op, level] * _signs(rng, signed[op], shape)
        live = np.arange(AUGMIX_DEPTH) < depth[..., None]
        weights = np.concatenate([m[:, :1], w * m[:, 1:]], axis=1)  # float32, as torchvision
        return Draws(np.where(live, ids[op], -1), np.where(live, magnitude, 0.0), weights)
    return Recipe(draw, InterpolationMode.BILINEAR)


# --------------------------------------------------------------------------- TrivialAugment
@register_online("trivialaugment", param="magnitude bins (31: TrivialAugment Wide)", grid=(31,),
                 parse=int, check=_require_int("trivialaugment", 2, 256))
def trivialaugment(bins: int) -> Recipe:
    def draw(rng: np.random.Generator, n: int, size: tuple[int, int]) -> Draws:
        space = TrivialAugmentWide(num_magnitude_bins=bins)._augmentation_space(bins)
        ids, mags, signed = _table(space)
        op = rng.integers(0, len(ids), (n, 1, 1))
        level = rng.integers(0, bins, (n, 1, 1))  # drawn for every op; unused where none
        return Draws(ids[op], mags[op, level] * _signs(rng, signed[op], op.shape))
    return Recipe(draw)


# --------------------------------------------------------------------------- RandAugment
RANDAUGMENT_OPS = 2  # N: torchvision's default
RANDAUGMENT_BINS = 31


@register_online("randaugment", param=f"magnitude M 0..{RANDAUGMENT_BINS - 1} "
                 f"(N = {RANDAUGMENT_OPS} operations)", grid=(5, 9, 14), parse=int,
                 check=_require_int("randaugment", 0, RANDAUGMENT_BINS - 1))
def randaugment(magnitude: int) -> Recipe:
    def draw(rng: np.random.Generator, n: int, size: tuple[int, int]) -> Draws:
        ref = RandAugment(num_ops=RANDAUGMENT_OPS, magnitude=magnitude,
                          num_magnitude_bins=RANDAUGMENT_BINS)
        ids, mags, signed = _table(ref._augmentation_space(RANDAUGMENT_BINS, size))
        op = rng.integers(0, len(ids), (n, 1, RANDAUGMENT_OPS))
        return Draws(ids[op], mags[op, magnitude] * _signs(rng, signed[op], op.shape))
    return Recipe(draw)


# --------------------------------------------------------------------------- AutoAugment
POLICIES = tuple(p.value for p in AutoAugmentPolicy)


def _check_policy(value, shape):
    if value not in POLICIES:
        raise BenchError(f"autoaugment: policy must be one of {', '.join(POLICIES)}, got {value!r}")


@register_online("autoaugment", param=f"policy ({', '.join(POLICIES)})", grid=("cifar10",),
                 parse=str, check=_check_policy)
def autoaugment(policy: str) -> Recipe:
    def draw(rng: np.random.Generator, n: int, size: tuple[int, int]) -> Draws:
        ref = AutoAugment(AutoAugmentPolicy(policy))
        space = ref._augmentation_space(10, size)
        subs = ref.policies
        chosen = rng.integers(0, len(subs), n)
        probs = rng.random((n, 2))
        negate = rng.integers(0, 2, (n, 2)) == 0  # torchvision negates where its sign is 0
        ops = np.full((n, 1, 2), -1)
        magnitudes = np.zeros((n, 1, 2))
        for i, k in enumerate(chosen):
            for j, (name, p, level) in enumerate(subs[k]):
                if probs[i, j] <= p:
                    table, signed = space[name]
                    value = float(table[level].item()) if level is not None else 0.0
                    ops[i, 0, j] = OP_INDEX[name]
                    magnitudes[i, 0, j] = -value if signed and negate[i, j] else value
        return Draws(ops, magnitudes)
    return Recipe(draw)
