"""The augmentation-family registry.

A family turns uint8 images into uint8 images at one quality parameter and, when it is a
codec, says how many bits each image cost. Users add families the way timm registers models::

    @register_family("my_codec", param="q", grid=(1, 2, 3), check=lambda q, shape: ...)
    def my_codec(images, q, rngs, ctx): ...   # -> Transformed(images, bits=...)

``ctx`` (an ``AugmentContext``) says which dataset is being transformed, where data lives
and on which device: what a learned codec needs to find (or train) its weights.

Parameters are written as text on the command line and in paths (``jpeg:10``, a union of
two as ``bls:0.012+0.1``), so each family also says how to read one.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import BenchError


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
    check: Callable[[object, tuple[int, ...]], None]  # (param, image shape) -> raise BenchError
    is_codec: bool = False
    # (param, ctx) -> what else decides the output (a learned codec's recipe and checkpoint);
    # recorded in the cache manifest, and a cached set whose record differs is rebuilt
    provenance: Callable[[object, AugmentContext], dict] | None = None

    def label(self, value) -> str:
        """The parameter as it appears in paths and reports."""
        return format_param(value)


_FAMILIES: dict[str, Family] = {}


def register_family(name: str, *, param: str, grid: Sequence, parse: Callable[[str], object] = float,
                    check: Callable[[object, tuple[int, ...]], None] | None = None,
                    is_codec: bool = False,
                    provenance: Callable[[object, AugmentContext], dict] | None = None):
    def wrap(fn):
        _FAMILIES[name] = Family(name, fn, param, tuple(grid), parse,
                                 check or (lambda value, shape: None), is_codec, provenance)
        return fn
    return wrap


def get_family(name: str) -> Family:
    _load_builtin()
    if name not in _FAMILIES:
        raise BenchError(f"unknown augmentation family {name!r}; known: {', '.join(_FAMILIES)}")
    return _FAMILIES[name]


def family_names() -> list[str]:
    _load_builtin()
    return list(_FAMILIES)


def format_param(value) -> str:
    if isinstance(value, tuple):
        return "_".join(format_param(v) for v in value)
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def parse_params(family: Family, text: str | None) -> list:
    """``"10"`` -> [10]; a union ``"0.012+0.1"`` -> [0.012, 0.1]; None -> the default grid
    is not a union, so callers iterate over ``family.grid`` themselves."""
    if text is None:
        return []
    values = []
    for part in str(text).split("+"):
        try:
            values.append(family.parse(part.strip()))
        except (TypeError, ValueError):
            raise BenchError(f"{family.name}: cannot read parameter {part!r} "
                             f"(expected {family.param})") from None
    return values


def _load_builtin() -> None:
    from . import classic, learned  # noqa: F401  (register on import)
