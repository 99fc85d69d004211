"""Digital corruptions: contrast, elastic warp, pixelate, JPEG, and the extra saturate."""
from __future__ import annotations

import cv2
import numpy as np
import torch
from PIL import Image

from .. import ops
from ..registry import register_corruption
from ..rng import draw


@register_corruption("contrast", category="digital", common=True)
def contrast(x, factor, rngs, scale):
    means = x.mean(dim=(2, 3), keepdim=True)
    return (x - means) * factor + means


def _pixel_grid(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    h, w = x.shape[-2:]
    ys = torch.arange(h, device=x.device, dtype=x.dtype)
    xs = torch.arange(w, device=x.device, dtype=x.dtype)
    return torch.meshgrid(ys, xs, indexing="ij")


def _elastic_cifar(x, p, rngs):
    """CIFAR-10-C: a random affine (cv2.warpAffine, BORDER_REFLECT_101) then a smooth random
    displacement field (map_coordinates, mode='reflect'); parameters x image side."""
    h, w = x.shape[-2:]
    side = min(h, w)
    alpha, sigma, affine = (v * side for v in p)
    centre = np.float32((h, w)) // 2
    half = min(h, w) // 3
    pts1 = np.float32([centre + half, [centre[0] + half, centre[1] - half], centre - half])
    inverse = []
    for r in rngs:
        pts2 = pts1 + r.uniform(-affine, affine, size=pts1.shape).astype(np.float32)
        inverse.append(cv2.invertAffineTransform(cv2.getAffineTransform(pts1, pts2)))
    minv = torch.from_numpy(np.stack(inverse)).to(x.device, x.dtype)  # (B, 2, 3)
    yy, xx = _pixel_grid(x)
    src_x = minv[:, 0, 0, None, None] * xx + minv[:, 0, 1, None, None] * yy + minv[:, 0, 2, None, None]
    src_y = minv[:, 1, 0, None, None] * xx + minv[:, 1, 1, None, None] * yy + minv[:, 1, 2, None, None]
    x = ops.sample_pixels(x, src_y, src_x, "mirror")
    if alpha == 0:
        return x
    fields = draw(rngs, lambda r: r.uniform(-1, 1, size=(2, h, w)), x)
    fields = ops.gaussian_filter(fields, sigma, "reflect", truncate=3) * alpha
    return ops.sample_pixels(x, yy + fields[:, 1], xx + fields[:, 0], "reflect")


def _elastic_imagecorruptions(x, k, rngs):
    """imagecorruptions' warp: displacements uniform in +-0.5% of the height, smoothed with
    sigma = 1% of the size, scaled by alpha = 250 k; no affine part."""
    h, w = x.shape[-2:]
    reach = h * 0.005
    fields = draw(rngs, lambda r: r.uniform(-reach, reach, size=(2, h, w)), x)
    fields = ops.gaussian_filter(fields, (0.01 * h, 0.01 * w), "reflect", truncate=3) * (250 * k)
    yy, xx = _pixel_grid(x)
    return ops.sample_pixels(x, yy + fields[:, 1], xx + fields[:, 0], "reflect")


@register_corruption("elastic_transform", category="digital", common=True)
def elastic_transform(x, p, rngs, scale):
    return _elastic_cifar(x, p, rngs) if scale == "cifar" else _elastic_imagecorruptions(x, p, rngs)


@register_corruption("pixelate", category="digital", common=True, uint8=True)
def pixelate(images, factor, rngs, scale):
    # Pillow BOX down; back up with BOX (CIFAR-10-C) or NEAREST (imagecorruptions).
    h, w = images.shape[1:3]
    up = Image.BOX if scale == "cifar" else Image.NEAREST
    out = np.empty_like(images)
    for i, im in enumerate(images):
        small = Image.fromarray(im[..., 0] if im.shape[-1] == 1 else im).resize(
            (int(w * factor), int(h * factor)), Image.BOX)
        out[i] = np.asarray(small.resize((w, h), up)).reshape(im.shape)
    return out


@register_corruption("jpeg_compression", category="digital", common=True, uint8=True)
def jpeg_compression(images, quality, rngs, scale):
    # libjpeg-turbo through OpenCV: the same IJG tables and 4:2:0 chroma as Pillow's encoder
    # (outputs are identical), with less overhead per image.
    params = [cv2.IMWRITE_JPEG_QUALITY, int(quality)]
    out = np.empty_like(images)
    for i, im in enumerate(images):
        if im.shape[-1] == 1:
            buf = cv2.imencode(".jpg", im[..., 0], params)[1]
            out[i, ..., 0] = cv2.imdecode(buf, cv2.IMREAD_GRAYSCALE)
        else:
            buf = cv2.imencode(".jpg", np.ascontiguousarray(im[..., ::-1]), params)[1]
            out[i] = cv2.imdecode(buf, cv2.IMREAD_COLOR)[..., ::-1]
    return out


@register_corruption("saturate", category="digital")
def saturate(x, p, rngs, scale):
    # On grey images imagecorruptions returns the red channel, which keeps V: the identity.
    return x if x.shape[1] == 1 else ops.scale_saturation(x, *p)
