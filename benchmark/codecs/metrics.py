"""Image-quality metrics against the original (PSNR and SSIM, per image, batched) and the
size of images stored losslessly."""
from __future__ import annotations

import io

import numpy as np
import torch
from PIL import Image

from corruptions import ops


def psnr(reference: np.ndarray, test: np.ndarray) -> np.ndarray:
    """Per-image PSNR in dB of uint8 (N, H, W, C) batches (inf -> capped at 100 dB)."""
    d = reference.astype(np.float64) - test.astype(np.float64)
    mse = (d**2).reshape(len(d), -1).mean(axis=1)
    return np.minimum(10 * np.log10(255.0**2 / np.maximum(mse, 1e-12)), 100.0)


def ssim(reference: np.ndarray, test: np.ndarray) -> np.ndarray:
    """Per-image SSIM (Wang et al. 2004) as scikit-image computes it with
    ``gaussian_weights=True`` (sigma 1.5, truncate 3.5, population covariance, data range
    255), averaged over channels, batched in torch."""
    x = torch.from_numpy(reference).permute(0, 3, 1, 2).double()
    y = torch.from_numpy(test).permute(0, 3, 1, 2).double()

    def blur(t):
        return ops.gaussian_filter(t, 1.5, "reflect", truncate=3.5)

    mx, my = blur(x), blur(y)
    vx, vy, cxy = blur(x * x) - mx * mx, blur(y * y) - my * my, blur(x * y) - mx * my
    c1, c2 = (0.01 * 255) ** 2, (0.03 * 255) ** 2
    s = ((2 * mx * my + c1) * (2 * cxy + c2)) / ((mx**2 + my**2 + c1) * (vx + vy + c2))
    pad = 5  # (win_size - 1) // 2 with win_size = 2 * int(3.5 * 1.5 + 0.5) + 1 = 11
    return s[..., pad:-pad, pad:-pad].mean(dim=(1, 2, 3)).numpy()


def png_bytes(images: np.ndarray | list[np.ndarray]) -> int:
    """Bytes of the images stored one PNG file each (Pillow's defaults: zlib level 6): the
    "original size" of a dataset kept as lossless image files (seed 004, Table III), and the
    size of a transformed set that no codec compresses."""
    total = 0
    for im in images:
        buf = io.BytesIO()
        Image.fromarray(im[..., 0] if im.shape[-1] == 1 else im).save(buf, format="PNG")
        total += buf.tell()
    return total
