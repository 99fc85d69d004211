"""Corrupt a batch of uint8 images with one corruption at one severity."""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

from . import registry
from .errors import BenchError
from .rng import image_rngs
from .tables import SEVERITIES, default_scale

MIN_SIDE = 28


class CorruptionInputError(BenchError):
    """Bad images or arguments (reported to the user as one line, exit 2)."""


def as_nhwc(images: np.ndarray) -> np.ndarray:
    arr = np.asarray(images)
    if arr.ndim == 3:
        arr = arr[..., None]
    if arr.ndim != 4 or arr.shape[-1] not in (1, 3):
        raise CorruptionInputError(f"expected (N, H, W[, 1|3]) images, got shape {arr.shape}")
    if arr.dtype != np.uint8:
        raise CorruptionInputError(f"expected uint8 images, got {arr.dtype}")
    if min(arr.shape[1:3]) < MIN_SIDE:
        raise CorruptionInputError(f"images must be at least {MIN_SIDE} px, got {arr.shape[1:3]}")
    return arr


def check_severity(severity: int) -> int:
    if severity not in SEVERITIES:
        raise CorruptionInputError(f"severity must be one of 1..5, got {severity!r}")
    return int(severity)


def to_tensor(arr: np.ndarray, device) -> torch.Tensor:
    """(B, H, W, C) uint8 to contiguous (B, C, H, W) float32 in [0, 1]."""
    x = torch.from_numpy(arr).to(device).permute(0, 3, 1, 2)
    return x.to(torch.float32, memory_format=torch.contiguous_format).mul_(1 / 255)


def quantize(y: torch.Tensor) -> np.ndarray:
    """[0, 1] floats to uint8 by truncation, as ``np.uint8(...)`` in the reference code (the
    tiny offset keeps exact 8-bit results exact under float error)."""
    q = y.clamp(0, 1).mul_(255).add_(1e-3).to(torch.uint8)  # float -> uint8 truncates
    return q.permute(0, 2, 3, 1).contiguous().cpu().numpy()


def corrupt(images: np.ndarray, name: str, severity: int, *, scale: str | None = None,
            seed: int = 0, indices: Sequence[int] | None = None,
            device: str | torch.device = "cpu") -> np.ndarray:
    """Corrupt (N, H, W, C) uint8 images; returns the same shape and dtype.

    ``indices`` are the images' positions in their dataset: with ``seed`` they key each
    image's random stream, so a result does not depend on how a set is batched.
    """
    arr = as_nhwc(images)
    severity = check_severity(severity)
    spec = registry.get(name)
    scale = scale or default_scale(*arr.shape[1:3])
    if indices is None:
        indices = range(len(arr))
    if len(indices) != len(arr):
        raise CorruptionInputError("one index per image is needed")
    rngs = image_rngs(seed, name, severity, indices)
    params = spec.params(severity, scale)
    if spec.uint8:
        return spec.fn(np.ascontiguousarray(arr), params, rngs, scale)
    with torch.inference_mode():
        return quantize(spec.fn(to_tensor(arr, device), params, rngs, scale))
