"""The augmentation-family registry.

A family turns uint8 images into uint8 images at one quality parameter and, when it is a
codec, says how many bits each image cost. Users add families the way timm registers models::

    @register_family("my_codec", param="q", grid=(1, 2, 3), check=lambda q, shape: ...)
    def my_codec(images, q, rngs, ctx): ...   # -> Transformed(images, bits=...)

``ctx`` (an ``AugmentContext``) says which dataset is being transformed, where data lives
and on which device: what a learned codec needs to find (or train) its weights.

Parameters are written as text on the command line, in YAML and in paths (``jpeg:10``, a
union of two as ``bls:0.012+0.1``), so each family also says how to read one and how to
write one back (``parse`` and ``format``, inverses of each other).
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from corruptions.errors import BenchError
from corruptions.registries import Registry


@dataclass
class Transformed:
    """A transformed batch: images, and the bits each one cost (None for non-codecs).

    ``bits`` counts the payload only (JPEG: the entropy-coded segment; learned codecs: the
    entropy coder's bytes); ``file_bits`` counts the whole file where the codec has one.
    """

    images: np.ndarray
    bits: np.ndarray | None = None
    file_bits: np.ndarray | None = None
    estimated_bits: np.ndarray | None = None  # a learned codec's likelihood estimate


@dataclass(frozen=True)
class AugmentContext:
    dataset: str
    data_root: Path
    device: str = "cpu"
    progress: bool = True
    codec: tuple = ()  # learned-codec recipe overrides, from ``recipe.parse_overrides``


@dataclass(frozen=True)
class Family:
    name: str
    fn: Callable[..., Transformed]
    param: str  # what the parameter means, for help texts
    grid: tuple  # the thesis' default grid
    parse: Callable[[str], object]
    # (param, (n, h, w, c)) -> raise BenchError; with shape None (images not yet known, as
    # when a submission loads) it checks what does not depend on the images
    check: Callable[[object, tuple[int, ...] | None], None]
    is_codec: bool = False
    # (param, ctx) -> what else decides the output (a learned codec's recipe and checkpoint);
    # recorded in the cache manifest, and a cached set whose record differs is rebuilt
    provenance: Callable[[object, AugmentContext], dict] | None = None
    # the inverse of ``parse``: ``parse(format(v)) == v`` for every valid value
    format: Callable[[object], str] = None  # type: ignore[assignment]
    # bumped when the family's output for a parameter changes (a fix): sets cached by
    # another version are rebuilt rather than served (``cache.provenance``)
    version: int = 1
    # an online family's ``value -> online.Recipe``: new draws for every image at every
    # epoch, applied in the training loop; None for the precomputed kind (one set per value)
    online: Callable[[object], object] | None = None

    @property
    def kind(self) -> str:
        """"online" (drawn anew each epoch, in the training loop) or "precomputed"."""
        return "precomputed" if self.online is None else "online"

    def label(self, value) -> str:
        """One parameter as it appears on the command line, in paths and in reports."""
        return (self.format or format_param)(value)

    def read(self, text: str):
        try:
            return self.parse(str(text).strip())
        except (TypeError, ValueError):
            raise BenchError(f"{self.name}: cannot read parameter {text!r} "
                             f"(expected {self.param})") from None


REGISTRY: Registry[Family] = Registry(
    "augmentation family", ["benchmark.augment.classic", "benchmark.augment.pillow_codecs",
                            "benchmark.augment.learned", "benchmark.augment.recipes",
                            "benchmark.augment.deepaugment"])


def register_family(name: str, *, param: str, grid: Sequence, parse: Callable[[str], object] = float,
                    check: Callable[[object, tuple[int, ...]], None] | None = None,
                    is_codec: bool = False,
                    provenance: Callable[[object, AugmentContext], dict] | None = None,
                    format: Callable[[object], str] | None = None,
                    version: int = 1, online: Callable[[object], object] | None = None,
                    override: bool = False):
    """Register ``fn(images, value, rngs, ctx) -> Transformed``; ``format`` (default: numbers
    written shortest-exact) must invert ``parse``. Online families register through
    ``online.register_online``."""
    return REGISTRY.decorator(name, lambda fn: Family(
        name, fn, param, tuple(grid), parse, check or (lambda value, shape: None), is_codec,
        provenance, format or format_param, version, online), override=override)


def get_family(name: str) -> Family:
    return REGISTRY.get(name)


def family_names() -> list[str]:
    return REGISTRY.names()


def format_param(value) -> str:
    """A number as short as it can be written and still read back exactly (0.012, 1, 1e-05)."""
    if isinstance(value, float):
        short = f"{value:g}"
        return short if float(short) == value else repr(value)
    return str(value)


UNION = "+"


@dataclass(frozen=True)
class AugmentSpec:
    """A family and its parameter: one value, or several for a union (training on the
    concatenation of the sets, thesis Fig. 4.3). The one form every layer speaks: YAML,
    CLI, cache paths, result rows and reports all write it as ``label`` and read it back
    with ``parse``."""

    family: str
    values: tuple

    def __post_init__(self) -> None:
        if not self.values:
            raise BenchError(f"{self.family}: no parameter given")

    @classmethod
    def parse(cls, family: str, text) -> AugmentSpec:
        """``("bls", "0.012+0.1")`` -> AugmentSpec("bls", (0.012, 0.1)); numbers are read as
        text so YAML's ints and floats mean what they say."""
        fam = get_family(family)
        parts = [p for p in str(text).split(UNION)]
        if any(not p.strip() for p in parts):
            raise BenchError(f"{family}: empty parameter in {text!r} (a union is a{UNION}b)")
        values = tuple(fam.read(p) for p in parts)
        for v in values:
            fam.check(v, None)
        if len(set(values)) != len(values):
            raise BenchError(f"{family}: parameter repeated in union {text!r}")
        return cls(family, values)

    @property
    def label(self) -> str:
        fam = get_family(self.family)
        return UNION.join(fam.label(v) for v in self.values)

    def members(self) -> list[AugmentSpec]:
        return [AugmentSpec(self.family, (v,)) for v in self.values]

    def __str__(self) -> str:
        return f"{self.family}:{self.label}"


def parse_params(family: Family, text: str | None) -> list:
    """The values of ``text`` (``"10"`` -> [10]; a union ``"0.012+0.1"`` -> [0.012, 0.1]);
    None -> [] (callers then take ``family.grid``)."""
    if text is None:
        return []
    return list(AugmentSpec.parse(family.name, text).values)
