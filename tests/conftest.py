"""Shared test data: real images, small."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


def natural_crops(size: int, n: int, downscale: int = 1, seed: int = 0) -> np.ndarray:
    """``n`` random size x size crops of the Kodak photographs (the skimage ones if absent),
    optionally box-downscaled first (CIFAR-like 32 px tiles from 4x downscaled Kodak)."""
    files = sorted((SHARED_DATA / "kodak").glob("kodim*.png"))
    if files:
        photos = [Image.open(f).convert("RGB") for f in files]
    else:
        from benchmark.datasets import load_dataset
        photos = [Image.fromarray(i) for i in load_dataset("skimage", "all").images]
    if downscale > 1:
        photos = [p.resize((p.width // downscale, p.height // downscale), Image.BOX)
                  for p in photos]
    arrays = [np.asarray(p) for p in photos]
    rng = np.random.default_rng(seed)
    out = []
    for k in range(n):
        a = arrays[k % len(arrays)]
        y, x = rng.integers(0, a.shape[0] - size + 1), rng.integers(0, a.shape[1] - size + 1)
        out.append(a[y:y + size, x:x + size])
    return np.stack(out)


def psnr(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Per-image PSNR (dB) of uint8 batches."""
    mse = ((a.astype(np.float64) - b.astype(np.float64)) ** 2).mean(axis=(1, 2, 3))
    return 10 * np.log10(255.0**2 / np.maximum(mse, 1e-10))


@pytest.fixture(scope="session")
def fashion_images() -> np.ndarray:
    from benchmark.datasets import load_dataset
    return load_dataset("fashion-mnist", "test").images[:16]
