"""Weather corruptions: snow, frost, fog, brightness, and the extra spatter."""
from __future__ import annotations

import math
from functools import lru_cache
from importlib.util import find_spec
from pathlib import Path

import cv2
import numpy as np
import torch

from .. import ops
from ..registry import register_corruption
from ..rng import draw


@register_corruption("snow", category="weather", common=True)
def snow(x, p, rngs, scale):
    loc, std, zoom, threshold, radius, sigma, blend = p
    h, w = x.shape[-2:]
    layer = draw(rngs, lambda r: r.normal(loc, std, size=(1, h, w)), x)
    layer = ops.clipped_zoom(layer, zoom, trim=scale == "cifar")
    layer = torch.where(layer < threshold, torch.zeros_like(layer), layer).clamp(0, 1)
    if scale == "cifar":  # CIFAR-10-C hands ImageMagick an 8-bit PNG of the layer
        layer = torch.floor(layer * 255) / 255
    layer = ops.motion_blur(layer, radius, sigma, [r.uniform(-135, -45) for r in rngs])
    layer = (torch.round(layer * 255) / 255)[..., :h, :w]
    x = blend * x + (1 - blend) * torch.maximum(x, ops.luma(x) * 1.5 + 0.5)
    return x + layer + layer.flip(-2, -1)


@lru_cache(maxsize=1)
def _frost_photos() -> tuple[np.ndarray, ...]:
    # The six frost photographs that ship inside imagecorruptions (as in ImageNet-C); found
    # without importing the package, whose import pulls in pkg_resources.
    folder = Path(find_spec("imagecorruptions").submodule_search_locations[0]) / "frost"
    names = ("frost1.png", "frost2.png", "frost3.png", "frost4.jpg", "frost5.jpg", "frost6.jpg")
    return tuple(cv2.imread(str(folder / n))[..., ::-1].copy() for n in names)


@lru_cache(maxsize=32)
def _frost_layers(scale: str, h: int, w: int) -> tuple[np.ndarray, ...]:
    out = []
    for photo in _frost_photos():
        fh, fw = photo.shape[:2]
        if scale == "cifar":
            # CIFAR-10-C shrinks the photos by 0.2 (for 32 px); larger images get the
            # smallest factor that still leaves room for a crop.
            f = max(0.2, (h + 1) / (fh * 0.999), (w + 1) / (fw * 0.999))
            out.append(cv2.resize(photo, (0, 0), fx=f, fy=f))
        else:  # imagecorruptions: grow the photo to cover the image, then 1.1x, bicubic
            f = 1.0
            if fh < h or fw < w:
                f = max(h / fh if fh < h else 0, w / fw if fw < w else 0)
            f *= 1.1
            size = (int(np.ceil(fw * f)), int(np.ceil(fh * f)))
            out.append(cv2.resize(photo, dsize=size, interpolation=cv2.INTER_CUBIC))
    return tuple(out)


@register_corruption("frost", category="weather", common=True)
def frost(x, p, rngs, scale):
    image_weight, frost_weight = p
    h, w = x.shape[-2:]
    layers = _frost_layers(scale, h, w)
    crops = []
    for r in rngs:
        f = layers[r.integers(5)]  # randint(5): the sixth photo is never used, as there
        top, left = r.integers(0, f.shape[0] - h), r.integers(0, f.shape[1] - w)
        crops.append(f[top:top + h, left:left + w])
    layer = torch.from_numpy(np.stack(crops)).permute(0, 3, 1, 2).to(x.device, x.dtype) / 255
    if x.shape[1] == 1:
        layer = ops.luma(layer)
    return image_weight * x + frost_weight * layer


def plasma_fractal(rngs, mapsize: int, wibbledecay: float) -> np.ndarray:
    """Diamond-square height maps in [0, 1], one per image, (B, mapsize, mapsize)."""
    b = len(rngs)
    maparray = np.zeros((b, mapsize, mapsize), np.float32)
    stepsize, wibble = mapsize, 100.0

    def wibbledmean(array):
        noise = np.empty_like(array)
        for r, out in zip(rngs, noise):
            r.random(out=out, dtype=np.float32)
        noise *= 2 * wibble * wibble
        noise -= wibble * wibble  # wibble * U(-wibble, wibble)
        return noise + array / 4

    while stepsize >= 2:
        half = stepsize // 2
        corners = maparray[:, 0:mapsize:stepsize, 0:mapsize:stepsize]
        square = corners + np.roll(corners, -1, axis=1)
        square += np.roll(square, -1, axis=2)
        maparray[:, half:mapsize:stepsize, half:mapsize:stepsize] = wibbledmean(square)
        centres = maparray[:, half:mapsize:stepsize, half:mapsize:stepsize]
        corners = maparray[:, 0:mapsize:stepsize, 0:mapsize:stepsize]
        ltsum = centres + np.roll(centres, 1, axis=1) + corners + np.roll(corners, -1, axis=2)
        maparray[:, 0:mapsize:stepsize, half:mapsize:stepsize] = wibbledmean(ltsum)
        ttsum = centres + np.roll(centres, 1, axis=2) + corners + np.roll(corners, -1, axis=1)
        maparray[:, half:mapsize:stepsize, 0:mapsize:stepsize] = wibbledmean(ttsum)
        stepsize //= 2
        wibble /= wibbledecay
    maparray -= maparray.min(axis=(1, 2), keepdims=True)
    return maparray / maparray.max(axis=(1, 2), keepdims=True)


@register_corruption("fog", category="weather", common=True)
def fog(x, p, rngs, scale):
    strength, decay = p
    h, w = x.shape[-2:]
    mapsize = 1 << max(int(math.ceil(math.log2(max(h, w)))), 0)
    maps = torch.from_numpy(plasma_fractal(rngs, mapsize, decay)[:, None, :h, :w]).to(x.device)
    max_val = x.amax(dim=(1, 2, 3), keepdim=True)
    return x.add_(maps, alpha=strength).mul_(max_val / (max_val + strength))


@register_corruption("brightness", category="weather", common=True)
def brightness(x, shift, rngs, scale):
    return x + shift if x.shape[1] == 1 else ops.scale_value(x, shift)


_SPATTER_KERNEL = np.array([[-2, -1, 0], [-1, 1, 1], [0, 1, 2]])
_WATER = (175 / 255, 238 / 255, 238 / 255)  # pale turquoise
_MUD = (63 / 255, 42 / 255, 20 / 255)


def _water_mask(liquid: np.ndarray) -> np.ndarray:
    """ImageNet-C's water-drop shading of one liquid layer (OpenCV, 8-bit steps as there)."""
    dist = 255 - cv2.Canny((liquid * 255).astype(np.uint8), 50, 150)
    dist = cv2.distanceTransform(dist, cv2.DIST_L2, 5)
    _, dist = cv2.threshold(dist, 20, 20, cv2.THRESH_TRUNC)
    dist = cv2.blur(dist, (3, 3)).astype(np.uint8)
    dist = cv2.equalizeHist(dist)
    dist = cv2.filter2D(dist, cv2.CV_8U, _SPATTER_KERNEL)
    dist = cv2.blur(dist, (3, 3)).astype(np.float32)
    m = liquid * dist
    peak = m.max()
    return m / peak if peak > 0 else m


@register_corruption("spatter", category="weather")
def spatter(x, p, rngs, scale):
    loc, std, sigma, threshold, intensity, mud = p
    h, w = x.shape[-2:]
    liquid = draw(rngs, lambda r: r.normal(loc, std, size=(1, h, w)), x).double()
    liquid = ops.gaussian_filter(liquid, sigma, "nearest")
    liquid = torch.where(liquid < threshold, torch.zeros_like(liquid), liquid)
    if mud:
        m = ops.gaussian_filter((liquid > threshold).to(x.dtype), intensity, "nearest")
        m = torch.where(m < 0.8, torch.zeros_like(m), m)
        colour = torch.tensor(_MUD, device=x.device, dtype=x.dtype).view(1, 3, 1, 1) * m
        return x * (1 - m) + (ops.luma(colour) if x.shape[1] == 1 else colour)
    masks = np.stack([_water_mask(l[0]) for l in liquid.cpu().numpy()])[:, None] * intensity
    m = torch.from_numpy(masks).to(x.device, x.dtype)
    colour = (torch.tensor(_WATER, device=x.device, dtype=x.dtype).view(1, 3, 1, 1) * m).clamp(0, 1)
    return x + (ops.luma(colour) if x.shape[1] == 1 else colour)
