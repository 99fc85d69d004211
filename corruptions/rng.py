"""Per-image random streams.

Every image gets its own generator keyed by (seed, corruption, severity, image index), so an
output never depends on batch size, worker count, chunking or device: the random fields are
drawn on the CPU with NumPy and only then moved to the device.
"""
from __future__ import annotations

import zlib
from collections.abc import Callable, Sequence

import numpy as np
import torch


def image_rngs(seed: int, corruption: str, severity: int,
               indices: Sequence[int]) -> list[np.random.Generator]:
    key = zlib.crc32(corruption.encode())
    return [np.random.Generator(np.random.PCG64([int(seed), key, int(severity), int(i)]))
            for i in indices]


def draw(rngs: Sequence[np.random.Generator], fn: Callable[[np.random.Generator], np.ndarray],
         like: torch.Tensor | None = None) -> torch.Tensor:
    """Stack one draw per image into a tensor (on ``like``'s device, in its dtype)."""
    arr = np.stack([np.asarray(fn(r)) for r in rngs])
    t = torch.from_numpy(arr)
    if like is not None:
        t = t.to(like.device, like.dtype)
    return t


def torch_generators(rngs: Sequence[np.random.Generator]) -> list[torch.Generator]:
    """One CPU torch.Generator per image, seeded from that image's NumPy stream."""
    return [torch.Generator().manual_seed(int(r.integers(2**63))) for r in rngs]
