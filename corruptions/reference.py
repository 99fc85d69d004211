"""``imagecorruptions`` 1.1.2 as the reference (test oracle and ``--backend imagecorruptions``).

The package is the de-facto ImageNet-C implementation but predates NumPy 2 and
scikit-image 0.19: ``fog`` uses ``np.float_``, ``glass_blur`` and ``gaussian_blur`` pass
``multichannel=`` to ``skimage.filters.gaussian``, and the module imports ``pkg_resources``.
``load()`` patches exactly those names inside the package's own module namespace (nothing
global), so the reference code itself runs unchanged.
"""
from __future__ import annotations

import importlib
import sys
import types
import warnings
from collections.abc import Sequence
from functools import lru_cache

import numpy as np
import skimage.filters

from .engine import as_nhwc, check_severity
from .rng import image_rngs


def _gaussian_compat(image, sigma=1, *args, multichannel=None, **kwargs):
    """skimage.filters.gaussian accepting the removed ``multichannel`` flag."""
    if multichannel is not None:
        kwargs.setdefault("channel_axis", -1 if multichannel else None)
    return skimage.filters.gaussian(image, sigma, *args, **kwargs)


class _NumpyCompat(types.ModuleType):
    """NumPy as the package sees it: the real module plus the aliases NumPy 2 removed."""

    float_ = np.float64

    def __getattr__(self, name):
        return getattr(np, name)


def _ensure_pkg_resources() -> None:
    # setuptools >= 81 drops pkg_resources; the package only needs resource_filename.
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            import pkg_resources  # noqa: F401
    except ImportError:
        shim = types.ModuleType("pkg_resources")

        def resource_filename(package: str, name: str) -> str:
            from importlib import resources
            return str(resources.files(package) / name)

        shim.resource_filename = resource_filename
        sys.modules["pkg_resources"] = shim


@lru_cache(maxsize=1)
def load() -> types.ModuleType:
    """The ``imagecorruptions`` package with its three broken corruptions working again."""
    _ensure_pkg_resources()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        package = importlib.import_module("imagecorruptions")
    module = sys.modules["imagecorruptions.corruptions"]
    module.gaussian = _gaussian_compat
    module.np = _NumpyCompat("numpy")
    return package


def corrupt(images: np.ndarray, name: str, severity: int, *, seed: int = 0,
            indices: Sequence[int] | None = None) -> np.ndarray:
    """Per-image loop over ``imagecorruptions.corrupt`` (ImageNet parameters at any size).

    Each image's global NumPy stream is seeded from (seed, corruption, severity, index), so
    the output is deterministic; grey images go in as RGB (as the package does) and come back
    as the luma of its output.
    """
    arr = as_nhwc(images)
    severity = check_severity(severity)
    package = load()
    if name not in package.corruption_dict:
        raise KeyError(f"imagecorruptions has no corruption {name!r}")
    if min(arr.shape[1:3]) < 32:
        raise ValueError("imagecorruptions needs images of at least 32 x 32 px")
    indices = range(len(arr)) if indices is None else indices
    out = np.empty_like(arr)
    for k, (img, rng) in enumerate(zip(arr, image_rngs(seed, name, severity, indices))):
        np.random.seed(rng.integers(2**32, dtype=np.uint64))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            res = package.corrupt(np.ascontiguousarray(img), severity=severity,
                                  corruption_name=name)
        if arr.shape[-1] == 1:
            res = np.floor(res.astype(np.float64) @ [0.299, 0.587, 0.114] + 0.5)[..., None]
        out[k] = res
    return out
