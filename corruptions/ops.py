"""Batched image operations in torch, with the boundary rules of the reference libraries.

The reference corruption code mixes scipy.ndimage, scikit-image, OpenCV and Pillow, each with
its own idea of what lies beyond the image border. These helpers reproduce those rules on
(B, C, H, W) float tensors so that the whole batch runs in a few tensor ops, on CPU or CUDA.

Border modes use scipy's names:
``nearest`` (edge replicate, skimage's default), ``reflect`` (half-sample symmetric,
``d c b a | a b c d``), ``mirror`` (whole-sample symmetric, OpenCV's BORDER_REFLECT_101).
"""
from __future__ import annotations

import math
from collections.abc import Sequence
from functools import lru_cache

import cv2
import numpy as np
import torch
import torch.nn.functional as F

Tensor = torch.Tensor


# --------------------------------------------------------------------------- borders
@lru_cache(maxsize=256)
def _border_index_np(n: int, before: int, after: int, mode: str) -> np.ndarray:
    i = np.arange(-before, n + after)
    if mode == "nearest":
        return np.clip(i, 0, n - 1)
    if mode == "reflect":
        period = 2 * n
        i = np.mod(i, period)
        return np.where(i >= n, period - 1 - i, i)
    if mode == "mirror":
        if n == 1:
            return np.zeros_like(i)
        period = 2 * n - 2
        i = np.mod(i, period)
        return np.where(i >= n, period - i, i)
    raise ValueError(f"unknown border mode {mode!r}")


def pad(x: Tensor, top: int, bottom: int, left: int, right: int, mode: str) -> Tensor:
    """Pad the last two dims with a scipy-style border rule (any pad width, unlike F.pad)."""
    h, w = x.shape[-2:]
    if top or bottom:
        idx = torch.from_numpy(_border_index_np(h, top, bottom, mode)).to(x.device)
        x = x.index_select(-2, idx)
    if left or right:
        idx = torch.from_numpy(_border_index_np(w, left, right, mode)).to(x.device)
        x = x.index_select(-1, idx)
    return x


# --------------------------------------------------------------------------- filters
@lru_cache(maxsize=256)
def _gaussian_kernel_np(sigma: float, truncate: float) -> np.ndarray:
    # scipy.ndimage.gaussian_filter1d's kernel: radius int(truncate * sigma + 0.5).
    radius = int(truncate * float(sigma) + 0.5)
    t = np.arange(-radius, radius + 1, dtype=np.float64)
    k = np.exp(-0.5 * (t / sigma) ** 2)
    return (k / k.sum()).astype(np.float32)


_CV2_BORDER = {"nearest": cv2.BORDER_REPLICATE, "reflect": cv2.BORDER_REFLECT,
               "mirror": cv2.BORDER_REFLECT_101}


def _cv2_planes(x: Tensor, fn) -> Tensor:
    """Apply an OpenCV filter to every (H, W) plane of a CPU tensor (SIMD, no copies in)."""
    src = x.detach().contiguous().numpy()
    out = np.empty(src.shape, np.float32 if src.dtype == np.float32 else np.float64)
    for i in range(src.shape[0]):
        for c in range(src.shape[1]):
            fn(src[i, c], out[i, c])
    return torch.from_numpy(out)


def _conv_axis(x: Tensor, k: np.ndarray, axis: int, mode: str) -> Tensor:
    b, c, h, w = x.shape
    r = len(k) // 2
    kt = torch.from_numpy(k).to(x.device, x.dtype)
    flat = x.reshape(b * c, 1, h, w)
    if axis == -2:
        flat = pad(flat, r, r, 0, 0, mode)
        out = F.conv2d(flat, kt.view(1, 1, -1, 1))
    else:
        flat = pad(flat, 0, 0, r, r, mode)
        out = F.conv2d(flat, kt.view(1, 1, 1, -1))
    return out.reshape(b, c, h, w)


def gaussian_filter(x: Tensor, sigma: float | Sequence[float], mode: str = "nearest",
                    truncate: float = 4.0) -> Tensor:
    """scipy.ndimage.gaussian_filter over H and W of each channel (skimage's ``gaussian``).

    On CPU this is OpenCV's separable filter with scipy's kernel; on CUDA two 1-D convs.
    """
    sy, sx = (sigma, sigma) if np.isscalar(sigma) else tuple(sigma)
    if x.device.type == "cpu" and sy > 0 and sx > 0:
        ky = _gaussian_kernel_np(float(sy), truncate).astype(np.float64)
        kx = _gaussian_kernel_np(float(sx), truncate).astype(np.float64)
        border = _CV2_BORDER[mode]
        return _cv2_planes(x, lambda a, o: cv2.sepFilter2D(a, -1, kx, ky, dst=o,
                                                           borderType=border)).to(x.dtype)
    if sy > 0:
        x = _conv_axis(x, _gaussian_kernel_np(float(sy), truncate), -2, mode)
    if sx > 0:
        x = _conv_axis(x, _gaussian_kernel_np(float(sx), truncate), -1, mode)
    return x


def filter2d(x: Tensor, kernel: np.ndarray, mode: str = "mirror") -> Tensor:
    """cv2.filter2D (a correlation, BORDER_REFLECT_101 by default) of every channel: OpenCV
    itself on CPU, a conv (FFT for large kernels) on CUDA."""
    if x.device.type == "cpu":
        k32, border = np.ascontiguousarray(kernel, dtype=np.float32), _CV2_BORDER[mode]
        return _cv2_planes(x.float(), lambda a, o: cv2.filter2D(a, -1, k32, dst=o,
                                                                borderType=border)).to(x.dtype)
    b, c, h, w = x.shape
    kh, kw = kernel.shape
    flat = pad(x.reshape(b * c, 1, h, w), kh // 2, (kh - 1) // 2, kw // 2, (kw - 1) // 2, mode)
    kt = torch.from_numpy(np.ascontiguousarray(kernel, dtype=np.float32)).to(x.device, x.dtype)
    if kh * kw <= 81:
        out = F.conv2d(flat, kt.view(1, 1, kh, kw))
    else:  # large kernels: FFT correlation
        ph, pw = flat.shape[-2:]
        spec = torch.fft.rfft2(flat, s=(ph, pw)) * torch.fft.rfft2(kt.flip(0, 1), s=(ph, pw))
        out = torch.fft.irfft2(spec, s=(ph, pw))[..., kh - 1:, kw - 1:]
    return out.reshape(b, c, h, w)


@lru_cache(maxsize=64)
def disk_kernel(radius: float, alias_blur: float) -> np.ndarray:
    """The anti-aliased disk of ImageNet-C's defocus blur (built with OpenCV, as there)."""
    if radius <= 8:
        span, ksize = np.arange(-8, 8 + 1), (3, 3)
    else:
        span, ksize = np.arange(-radius, radius + 1), (5, 5)
    xx, yy = np.meshgrid(span, span)
    disk = np.array((xx**2 + yy**2) <= radius**2, dtype=np.float32)
    disk /= disk.sum()
    return cv2.GaussianBlur(disk, ksize=ksize, sigmaX=alias_blur)


# --------------------------------------------------------------------------- motion blur
def motion_kernel(radius: int, sigma: float) -> np.ndarray:
    """ImageMagick's one-sided Gaussian motion-blur kernel (width 2 * radius + 1)."""
    width = 2 * int(math.ceil(radius)) + 1
    k = np.exp(-(np.arange(width, dtype=np.float64) ** 2) / (2 * sigma**2))
    return k / k.sum()


def motion_offsets(width: int, angle: float, height: int, img_width: int) -> list[tuple[int, int]]:
    """(dy, dx) of each kernel tap along the blur direction, as ImageMagick / imagecorruptions.

    Taps that would leave the image stop the kernel, as in imagecorruptions.
    """
    py, px = width * math.sin(math.radians(angle)), width * math.cos(math.radians(angle))
    hyp = math.hypot(py, px)
    out = []
    for i in range(width):
        dy = -math.ceil(i * py / hyp - 0.5)
        dx = -math.ceil(i * px / hyp - 0.5)
        if abs(dy) >= height or abs(dx) >= img_width:
            break
        out.append((dy, dx))
    return out


def motion_blur(x: Tensor, radius: int, sigma: float, angles: Sequence[float]) -> Tensor:
    """Sum of edge-clamped shifted copies, one angle per image (``_motion_blur`` of
    imagecorruptions, itself a port of ImageMagick's MotionBlurImage)."""
    b, c, h, w = x.shape
    kernel = motion_kernel(radius, sigma)
    taps = [motion_offsets(len(kernel), float(a), h, w) for a in angles]
    r = max((max(abs(dy), abs(dx)) for t in taps for dy, dx in t), default=0)
    xp = pad(x, r, r, r, r, "nearest")
    out = torch.zeros_like(x)
    for i in range(b):
        acc = out[i]
        for k, (dy, dx) in zip(kernel, taps[i]):
            acc.add_(xp[i, :, r - dy:r - dy + h, r - dx:r - dx + w], alpha=float(k))
    return out


# --------------------------------------------------------------------------- zoom
def _scipy_zoom_size(n: int, factor: float) -> int:
    return int(round(n * factor))


def clipped_zoom(x: Tensor, factor: float, trim: bool) -> Tensor:
    """Zoom into the centre by ``factor`` with scipy.ndimage.zoom(order=1) semantics.

    ``trim=True`` is CIFAR-10-C's version (central trim back to the input size);
    ``trim=False`` is imagecorruptions' (the caller crops the top-left H x W).
    """
    h, w = x.shape[-2:]
    ch, cw = int(math.ceil(h / factor)), int(math.ceil(w / factor))
    top, left = (h - ch) // 2, (w - cw) // 2
    crop = x[..., top:top + ch, left:left + cw]
    oh, ow = _scipy_zoom_size(ch, factor), _scipy_zoom_size(cw, factor)
    if (oh, ow) == (ch, cw):
        out = crop
    else:  # scipy's grid_mode=False maps the corner samples onto each other
        out = F.interpolate(crop, size=(oh, ow), mode="bilinear", align_corners=True)
    if trim:
        t, l = (oh - h) // 2, (ow - w) // 2
        out = out[..., t:t + h, l:l + w]
    return out


# --------------------------------------------------------------------------- colour
def luma(x: Tensor) -> Tensor:
    """ITU-R 601 grey of RGB (cv2.COLOR_RGB2GRAY), keeping a channel dim; grey passes."""
    if x.shape[1] == 1:
        return x
    wts = torch.tensor([0.299, 0.587, 0.114], device=x.device, dtype=x.dtype).view(1, 3, 1, 1)
    return (x * wts).sum(1, keepdim=True)


def scale_value(x: Tensor, shift: float) -> Tensor:
    """skimage rgb2hsv -> V += shift (clipped) -> hsv2rgb, in closed form.

    hsv2rgb is linear in V at fixed (H, S), so the round trip is a per-pixel rescale of RGB;
    black pixels (V = 0, S = 0) become grey of value ``shift``.
    """
    v = x.amax(1, keepdim=True)
    v_new = (v + shift).clamp(0, 1)
    ratio = torch.where(v > 0, v_new / v.clamp_min(1e-12), torch.zeros_like(v))
    return torch.where(v > 0, x * ratio, v_new.expand_as(x))


def scale_saturation(x: Tensor, scale: float, shift: float) -> Tensor:
    """skimage rgb2hsv -> S = clip(S * scale + shift) -> hsv2rgb, in closed form.

    At fixed (H, V) each channel is V * (1 - S * w) with w = (V - c) / (V - min), so a new S
    moves every channel along its own line; achromatic pixels take skimage's hue 0 (red).
    """
    v = x.amax(1, keepdim=True)
    delta = v - x.amin(1, keepdim=True)
    s = torch.where(delta > 0, delta / v.clamp_min(1e-12), torch.zeros_like(v))
    s_new = (s * scale + shift).clamp(0, 1)
    chroma = v - s_new * v * (v - x) / delta.clamp_min(1e-12)
    grey = torch.cat([v, v * (1 - s_new), v * (1 - s_new)], 1) if x.shape[1] == 3 else v
    return torch.where(delta > 0, chroma, grey)


# --------------------------------------------------------------------------- sampling
def sample_pixels(x: Tensor, ys: Tensor, xs: Tensor, border: str) -> Tensor:
    """Bilinear sample at pixel coordinates (B, H, W) per image.

    ``border='reflect'`` is scipy.ndimage.map_coordinates(order=1, mode='reflect');
    ``border='mirror'`` is OpenCV's BORDER_REFLECT_101 (cv2.warpAffine's border here);
    ``border='zeros'``: a neighbour outside the image counts as black (CIFAR-10-C-bar's
    ``bilinear_interpolation``).
    """
    h, w = x.shape[-2:]
    if border == "reflect":  # half-sample symmetric about -0.5 and n - 0.5
        gx, gy = (2 * xs + 1) / w - 1, (2 * ys + 1) / h - 1
        align = False
    elif border in ("mirror", "zeros"):  # pixel centres at -1 and 1
        gx, gy = 2 * xs / max(w - 1, 1) - 1, 2 * ys / max(h - 1, 1) - 1
        align = True
    else:
        raise ValueError(border)
    grid = torch.stack([gx, gy], -1).to(x.dtype)
    padding = "zeros" if border == "zeros" else "reflection"
    return F.grid_sample(x, grid, mode="bilinear", padding_mode=padding, align_corners=align)
