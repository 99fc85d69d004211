"""The corruption registry: what exists, its parameters per scale, its published band.

A user adds a corruption with the decorator, the way timm registers models::

    @register_corruption("my_blur", category="blur", params={"cifar": [...], "imagenet": [...]})
    def my_blur(x, p, rngs, scale):   # x: (B, C, H, W) float in [0, 1]; p: this severity's params
        ...

and replaces a built-in one with ``override=True``.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
import torch

from . import tables
from .errors import BenchError
from .registries import Registry

CorruptionFn = Callable[[torch.Tensor, object, Sequence[np.random.Generator], str], torch.Tensor]

# Lieberman et al. (2023), the Kodak-C / CLIC-C grouping: the band reported in metrics for
# the 15 common corruptions, so numbers compare with the paper.
PUBLISHED_BANDS = {
    **{n: "low" for n in ("snow", "frost", "fog", "brightness", "contrast")},
    **{n: "mid" for n in ("motion_blur", "zoom_blur", "defocus_blur", "glass_blur",
                          "elastic_transform", "jpeg_compression", "pixelate")},
    **{n: "high" for n in ("gaussian_noise", "shot_noise", "impulse_noise")},
}


class UnknownCorruption(BenchError):
    pass


@dataclass(frozen=True)
class Corruption:
    name: str
    fn: CorruptionFn
    category: str
    common: bool
    params_by_scale: dict[str, list] = field(repr=False)
    uint8: bool = False  # fn takes and returns (B, H, W, C) uint8 NumPy (codecs, Pillow ops)
    suite: str = "c"  # "c": CIFAR-10-C / ImageNet-C; "cbar": CIFAR-10-C-bar (unlike them)

    @property
    def published_band(self) -> str | None:
        return PUBLISHED_BANDS.get(self.name)

    def params(self, severity: int, scale: str):
        return self.params_by_scale[scale][severity - 1]


REGISTRY: Registry[Corruption] = Registry("corruption", ["corruptions.catalogue"],
                                         UnknownCorruption)


def register_corruption(name: str, *, category: str, common: bool = False,
                        params: dict[str, list] | None = None, uint8: bool = False,
                        suite: str = "c", override: bool = False):
    """Register ``fn(x, p, rngs, scale)``; params default to the published tables.

    ``x`` is a (B, C, H, W) float tensor in [0, 1] on the build's device, or with
    ``uint8=True`` the (B, H, W, C) uint8 NumPy batch itself (for library codecs).
    Replacing a registered name (a built-in included) needs ``override=True``.
    """
    def make(fn: CorruptionFn) -> Corruption:
        by_scale = params or {s: tables.TABLES[s][name] for s in tables.SCALES}
        if any(len(v) != len(tables.SEVERITIES) for v in by_scale.values()):
            raise ValueError(f"{name}: need one parameter set per severity 1..5")
        if suite not in SUITES:
            raise ValueError(f"{name}: suite must be one of {', '.join(SUITES)}")
        return Corruption(name, fn, category, common, by_scale, uint8, suite)
    return REGISTRY.decorator(name, make, override=override)


SUITES = ("c", "cbar")


def get(name: str) -> Corruption:
    return REGISTRY.get(name)


# The order of the reference implementations (and of every table printed here).
CANONICAL_ORDER = (
    "gaussian_noise", "shot_noise", "impulse_noise", "defocus_blur", "glass_blur",
    "motion_blur", "zoom_blur", "snow", "frost", "fog", "brightness", "contrast",
    "elastic_transform", "pixelate", "jpeg_compression",
    "speckle_noise", "gaussian_blur", "spatter", "saturate",
    *sorted(tables.CBAR),
)


def names(subset: str = "all") -> list[str]:
    """Registered names: of the C suite ``common`` (the 15 benchmark ones), ``extra`` or
    ``all`` (the default set, 19 built in); ``cbar``: the CIFAR-10-C-bar suite."""
    rank = {n: i for i, n in enumerate(CANONICAL_ORDER)}
    ordered = sorted(REGISTRY, key=lambda n: rank.get(n, len(rank)))
    if subset not in SUBSETS:
        raise ValueError(subset)
    suite = "cbar" if subset == "cbar" else "c"
    found = [REGISTRY.get(n) for n in ordered]
    return [c.name for c in found if c.suite == suite
            and (subset in ("all", "cbar") or c.common == (subset == "common"))]


SUBSETS = ("common", "extra", "all", "cbar")


def suite_of(names: Sequence[str]) -> str:
    """The one suite a list of corruptions belongs to (a corrupted set holds one suite)."""
    suites = {get(n).suite for n in names}
    if len(suites) != 1:
        raise UnknownCorruption(f"{', '.join(names)}: mixes the C and C-bar suites; they are "
                                "built and evaluated as separate sets")
    return suites.pop()


def parse_names(spec: str | Sequence[str]) -> list[str]:
    """``common`` | ``all`` | ``extra`` | ``cbar`` | comma-separated names, or a list of names
    (each validated)."""
    if isinstance(spec, str) and spec in SUBSETS:
        return names(spec)
    parts = spec.split(",") if isinstance(spec, str) else [str(s) for s in spec]
    out = [s.strip() for s in parts if s.strip()]
    for n in out:
        get(n)
    if not out:
        raise UnknownCorruption("no corruption named")
    return out

