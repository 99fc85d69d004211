"""The non-learned families: identity, JPEG, Gaussian noise and blur, DCT low-pass masks."""
from __future__ import annotations

import re

import cv2
import numpy as np
from scipy.fft import dctn, idctn

from corruptions.errors import BenchError

from .registry import Transformed, format_param, register_family


def _require(cond: bool, message: str) -> None:
    if not cond:
        raise BenchError(message)


@register_family("none", param="(no parameter)", grid=("-",), parse=str)
def identity(images, value, rngs, ctx=None):
    return Transformed(images.copy())


# --------------------------------------------------------------------------- JPEG
def _check_quality(q, shape):
    _require(isinstance(q, int) and 1 <= q <= 100, f"jpeg: quality must be 1..100, got {q!r}")


_NEXT_MARKER = re.compile(rb"\xff(?![\x00\xd0-\xd7])")  # not a stuffed byte, not RSTn


def entropy_coded_bytes(jpeg: bytes) -> int:
    """Bytes of the entropy-coded segment(s) of a JPEG file: each scan's data after its SOS
    header up to the next marker, i.e. the file minus headers, Huffman and quantisation
    tables and markers (what the thesis counts as a JPEG image's bits)."""
    if jpeg[:2] != b"\xff\xd8":
        raise ValueError("not a JPEG stream")
    pos, total, n = 2, 0, len(jpeg)
    while pos + 4 <= n and jpeg[pos + 1] != 0xD9:  # until EOI
        if jpeg[pos] != 0xFF:
            raise ValueError(f"corrupt JPEG: no marker at byte {pos}")
        marker = jpeg[pos + 1]
        pos += 2 + int.from_bytes(jpeg[pos + 2:pos + 4], "big")
        if marker == 0xDA:  # SOS
            nxt = _NEXT_MARKER.search(jpeg, pos)
            end = nxt.start() if nxt else n
            total += end - pos
            pos = end
    return total


@register_family("jpeg", param="quality 1..100", grid=(1, 5, 10, 20, 40, 60, 80), parse=int,
                 check=_check_quality, is_codec=True)
def jpeg(images, quality, rngs, ctx=None):
    """libjpeg-turbo (through OpenCV) at the IJG quality, 4:2:0 chroma for colour."""
    params = [cv2.IMWRITE_JPEG_QUALITY, int(quality)]
    out = np.empty_like(images)
    bits = np.empty(len(images))
    file_bits = np.empty(len(images))
    for i, im in enumerate(images):
        grey = im.shape[-1] == 1
        buf = cv2.imencode(".jpg", im[..., 0] if grey else np.ascontiguousarray(im[..., ::-1]),
                           params)[1]
        dec = cv2.imdecode(buf, cv2.IMREAD_GRAYSCALE if grey else cv2.IMREAD_COLOR)
        out[i] = dec[..., None] if grey else dec[..., ::-1]
        data = buf.tobytes()
        bits[i], file_bits[i] = 8 * entropy_coded_bytes(data), 8 * len(data)
    return Transformed(out, bits, file_bits)


# --------------------------------------------------------------------------- noise, blur
def _check_sigma(sigma, shape):
    _require(sigma > 0, f"gaussian_noise: sigma must be > 0 (on [0, 1] images), got {sigma}")


@register_family("gaussian_noise", param="sigma on [0, 1]",
                 grid=(1.0, 0.8, 0.3, 0.1, 0.05, 0.01), check=_check_sigma)
def gaussian_noise(images, sigma, rngs, ctx=None):
    x = images.astype(np.float32) / 255
    noisy = np.stack([xi + r.standard_normal(xi.shape, dtype=np.float32) * sigma
                      for xi, r in zip(x, rngs)])
    return Transformed(np.round(np.clip(noisy, 0, 1) * 255).astype(np.uint8))


def _check_kernel(k, shape):
    _require(isinstance(k, int) and k >= 3 and k % 2 == 1,
             f"gaussian_blur: kernel size must be an odd integer >= 3, got {k!r}")
    _require(shape is None or k <= min(shape[1:3]),
             f"gaussian_blur: kernel {k} larger than the images {shape and shape[1:3]}")


@register_family("gaussian_blur", param="odd kernel size", grid=(9, 7, 5, 3), parse=int,
                 check=_check_kernel)
def gaussian_blur(images, k, rngs, ctx=None):
    """OpenCV's Gaussian blur with its default sigma for the kernel size (torchvision's too)."""
    out = np.empty_like(images)
    for i, im in enumerate(images):
        out[i] = cv2.GaussianBlur(im, (k, k), 0).reshape(im.shape)
    return Transformed(out)


# --------------------------------------------------------------------------- DCT masks
def _parse_dct(text: str):
    """``M`` or ``M:sigma`` (noise on the kept coefficients, seed paper 000)."""
    m, _, sigma = text.partition(":")
    return (int(m), float(sigma)) if sigma else int(m)


def _format_dct(value) -> str:
    m, sigma = value if isinstance(value, tuple) else (value, None)
    return str(m) if sigma is None else f"{m}:{format_param(sigma)}"


def _check_dct(value, shape):
    m, sigma = value if isinstance(value, tuple) else (value, 0.0)
    _require(m >= 1, f"dct_mask: M must be >= 1, got {m}")
    _require(shape is None or m <= min(shape[1:3]),
             f"dct_mask: M = {m} is larger than the images {shape and shape[1:3]}")
    _require(sigma >= 0, f"dct_mask: noise sigma must be >= 0, got {sigma}")


@register_family("dct_mask", param="M or M:sigma", grid=(8, 12, 16, 20, 24), parse=_parse_dct,
                 check=_check_dct, format=_format_dct)
def dct_mask(images, value, rngs, ctx=None):
    """Keep the M x M lowest coefficients of the whole-image orthonormal DCT of x - 0.5
    (optionally with N(0, sigma^2) noise on them), as in the DCT-mask paper, then invert."""
    m, sigma = value if isinstance(value, tuple) else (value, 0.0)
    x = images.astype(np.float64) / 255 - 0.5
    coef = dctn(x, axes=(1, 2), norm="ortho")
    kept = np.zeros_like(coef)
    kept[:, :m, :m] = coef[:, :m, :m]
    if sigma > 0:
        kept[:, :m, :m] += np.stack([r.normal(0, sigma, coef[0, :m, :m].shape) for r in rngs])
    y = idctn(kept, axes=(1, 2), norm="ortho") + 0.5
    return Transformed(np.round(np.clip(y, 0, 1) * 255).astype(np.uint8))
