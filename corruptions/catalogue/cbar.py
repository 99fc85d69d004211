"""CIFAR-10-C-bar: ten corruptions chosen to be unlike the C ones (Mintun et al., NeurIPS 2021).

Written from the reference's definitions (facebookresearch/augmentation-corruption,
``imagenet_c_bar/corrupt.py`` at ba4d5a5) and batched: the reference loops over pixels in
Python. Each severity is the reference's *level* (``tables.CBAR``), turned into a parameter
relative to the image side as the reference does (``_level``). Every random parameter is
drawn per image from the image's own stream, with the reference's distributions in its
order, but not its MT19937 streams: its builder never seeds them (``make_cifar10_c_bar.py``
parses ``--seed`` and ignores it), so no published set can be regenerated bit for bit, and
fidelity is held to the reference's statistics (``tests/expected/cbar_reference.json``).

Sizes: the reference is square (32 px for CIFAR); here its side is the smaller image side,
rows use the height and columns the width.

Grey images: every corruption works on one channel as on each of three.
``transverse_chromatic_abberation`` zooms three channels by three factors; on one channel it
gives the mean of the three zoomed copies, what a grey sensor records under lateral
chromatic aberration. None of the ten is the identity on grey images (the builder measures
and records it, ``spectrum.identity``).
"""
from __future__ import annotations

import functools
import math
from collections.abc import Callable, Sequence

import numpy as np
import skimage.draw
import torch
from torch import Tensor

from .. import ops, tables
from ..registry import register_corruption
from ..rng import draw

GREY = 128 / 255  # the fill of checkerboard_cutout and lines


def _level(level: float, maxval: float) -> float:
    """The reference's ``float_parameter``: a level on its 0-10 scale, as a fraction of
    ``maxval``."""
    return float(level) * maxval / 10


def _cbar(name: str, category: str) -> Callable:
    params = {scale: tables.CBAR[name] for scale in tables.SCALES}
    return register_corruption(name, category=category, params=params, suite="cbar")


def _side(x: Tensor) -> int:
    return min(x.shape[-2:])


def _grid(x: Tensor) -> tuple[Tensor, Tensor]:
    """(H, W) row and column coordinates, float64 on ``x``'s device."""
    h, w = x.shape[-2:]
    ys = torch.arange(h, dtype=torch.float64, device=x.device)[:, None].expand(h, w)
    xs = torch.arange(w, dtype=torch.float64, device=x.device)[None, :].expand(h, w)
    return ys, xs


def _per_image(rngs: Sequence[np.random.Generator], fn: Callable, like: Tensor) -> Tensor:
    """One float64 draw per image, stacked on ``like``'s device."""
    return draw(rngs, fn).to(like.device, torch.float64)


# ------------------------------------------------------------------------------ noise
def _frequency_distance(h: int, w: int) -> np.ndarray:
    ys, xs = np.mgrid[:h, :w]
    return np.sqrt((xs - w / 2) ** 2 + (ys - h / 2) ** 2)


def _phase_noise(rngs: Sequence[np.random.Generator], amplitude: np.ndarray, fields: int,
                 like: Tensor) -> Tensor:
    """(B, fields, H, W) noise with the amplitude spectrum ``amplitude`` (centred) and random
    phases, divided by its own standard deviation (its mean is kept). As the reference: the
    right half of the phases is the left half reversed, which is not Hermitian, and the real
    part of the inverse transform is kept."""
    h, w = amplitude.shape
    left = w - w // 2
    phase = draw(rngs, lambda r: r.uniform(0, 2 * np.pi, size=(fields, h, left)))
    phase = torch.cat([phase, phase.flip(-2, -1)[..., :w // 2]], -1)
    spectrum = torch.polar(torch.from_numpy(amplitude).expand_as(phase).contiguous(), phase)
    noise = torch.fft.ifft2(torch.roll(spectrum, (h // 2, w // 2), (-2, -1))).real
    noise = noise / noise.std(dim=(-2, -1), keepdim=True, correction=0)
    return noise.to(like.device, like.dtype)


@_cbar("blue_noise_sample", "noise")
def blue_noise_sample(x, p, rngs, scale):
    """Pixels where one field of blue (amplitude growing with frequency) noise falls below
    a threshold turn black in every channel."""
    threshold = _level(p, 3) - 2.5
    noise = _phase_noise(rngs, _frequency_distance(*x.shape[-2:]), 1, x)
    return x * (noise > threshold)


@_cbar("brownish_noise", "noise")
def brownish_noise(x, p, rngs, scale):
    """Additive low-pass noise, one field per channel; its spectrum is not zero at frequency
    0, so each channel also shifts by a random offset (a colour cast), as in the reference."""
    amplitude = 1 / (_frequency_distance(*x.shape[-2:]) ** 2 + 1)
    return x + _level(p, 64) / 255 * _phase_noise(rngs, amplitude, x.shape[1], x)


# ------------------------------------------------------------------------------ occlusion
@_cbar("checkerboard_cutout", "occlusion")
def checkerboard_cutout(x, p, rngs, scale):
    """A rotated checkerboard with cells of 0.1-0.25 of the side; a fraction ``level / 10``
    of its cells (drawn from a grid of them) turns grey."""
    side, fraction = _side(x), _level(p, 1)
    most = int(4 * side // max(0.1 * side, 1)) + 1

    def one(r: np.random.Generator) -> np.ndarray:
        angle, size = r.uniform(0, 2 * np.pi), max(r.uniform(0.1, 0.25) * side, 1)
        n = int(4 * side // size)
        cells = np.zeros((most, most))
        cells[:n, :n] = r.uniform(size=(n, n)) < fraction
        return np.concatenate([[angle, size, n], cells.ravel()])

    drawn = _per_image(rngs, one, x)
    angle, size, n = (drawn[:, k, None, None] for k in range(3))
    cells = drawn[:, 3:].reshape(-1, most, most) > 0
    ys, xs = _grid(x)
    nx = (torch.cos(angle) * ys + torch.sin(angle) * xs) / size
    ny = (-torch.sin(angle) * ys + torch.cos(angle) * xs) / size
    same_parity = torch.remainder(nx, 2).long() == torch.remainder(ny, 2).long()
    # the grid is indexed by truncation, and a negative index counts from its end
    n = n.long()
    ix, iy = torch.trunc(nx).long() % n, torch.trunc(ny).long() % n
    batch = torch.arange(len(x), device=x.device)[:, None, None]
    cut = same_parity & cells[batch, ix, iy]
    return torch.where(cut[:, None], torch.full_like(x, GREY), x)


@_cbar("lines", "occlusion")
def lines(x, p, rngs, scale):
    """``level / 10 * side`` anti-aliased grey lines across the image (skimage's
    ``line_aa``), around one random angle with a random spread, drawn one after the other
    and stored as 8-bit after each, as the reference does."""
    h, w = x.shape[-2:]
    side = _side(x)
    count = int(_level(p, 1) * side)
    strokes: list[list[tuple[int, np.ndarray, np.ndarray, np.ndarray]]] = [[] for _ in
                                                                           range(count)]
    for b, r in enumerate(rngs):
        angle, spread = r.uniform(0, 2 * np.pi), r.uniform(0.1, 1.0)
        for k in range(count):
            row, col = h * r.uniform(), w * r.uniform()
            a = angle + 2 * np.pi * spread * (r.uniform() - 0.5)
            ds, dc = math.sin(a) * side, math.cos(a) * side
            rr, cc, val = skimage.draw.line_aa(int(row - dc), int(col - ds), int(row + dc),
                                               int(col + ds))
            keep = (rr >= 0) & (rr < h) & (cc >= 0) & (cc < w)
            strokes[k].append((b, rr[keep], cc[keep], val[keep]))
    v = torch.round(x.to(torch.float64) * 255)
    for stroke in strokes:  # a line's pixels are distinct, so one scatter per line index
        bb = torch.from_numpy(np.concatenate([np.full(len(s[1]), s[0]) for s in stroke]))
        rr, cc, val = (torch.from_numpy(np.concatenate([s[k] for s in stroke]))
                       for k in (1, 2, 3))
        bb, rr, cc, val = (t.to(x.device) for t in (bb, rr, cc, val))
        val = val.to(torch.float64)[:, None]
        v[bb, :, rr, cc] = torch.floor((1 - val) * v[bb, :, rr, cc] + val * 128)
    return (v / 255).to(x.dtype)


# ------------------------------------------------------------------------------ warps
@_cbar("pinch_and_twirl", "geometric")
def pinch_and_twirl(x, p, rngs, scale):
    """A grid of discs (3 x 3, 5 x 5 from 224 px), each pinched by ``0.4 * level / 10 + 0.1``
    and twirled by ``+-pi/2 * level / 10`` (the sign drawn per disc); bilinear, black
    outside, as the reference."""
    h, w = x.shape[-2:]
    per_axis = 5 if _side(x) >= 224 else 3
    gh, gw = h // per_axis, w // per_axis
    radius = min(gh, gw) / 2
    angle, amount = _level(p, np.pi / 2), _level(p, 0.4) + 0.1
    ys, xs = _grid(x)
    # disc (i, j): column block i, row block j, as the reference's loops name them
    i, j = (xs // gw).clamp(max=per_axis - 1), (ys // gh).clamp(max=per_axis - 1)
    dy, dx = ys - (j * gh + gh / 2), xs - (i * gw + gw / 2)
    dist = torch.sqrt(dy * dy + dx * dx)
    still = (dist > radius) | (torch.round(dist * 1000) == 0) | (ys >= per_axis * gh) | (
        xs >= per_axis * gw)
    d = (dist / radius).clamp(max=1)
    t = torch.where(still, torch.ones_like(d), torch.sin(np.pi / 2 * d) ** -amount)
    signs = _per_image(rngs, lambda r: r.choice([1.0, -1.0], size=per_axis ** 2), x)
    a = signs[:, (i * per_axis + j).long()] * angle * (1 - d) ** 2  # (B, H, W)
    cy, cx = ys - dy, xs - dx
    src_y = torch.where(still, ys, cy + t * (dy * torch.cos(a) - dx * torch.sin(a)))
    src_x = torch.where(still, xs, cx + t * (dy * torch.sin(a) + dx * torch.cos(a)))
    return ops.sample_pixels(x, src_y, src_x, "zeros")


@_cbar("ripple", "geometric")
def ripple(x, p, rngs, scale):
    """Rows and columns shifted by sines of amplitude ``0.025 * level / 10 * side`` and
    wavelengths of 0.1-0.3 of the side; bilinear, black outside, as the reference."""
    side = _side(x)
    amplitude = _level(p, 0.025) * side
    drawn = _per_image(rngs, lambda r: np.concatenate(
        [r.uniform(0.1, 0.3, size=2) * side, r.uniform(0, 2 * np.pi, size=2)]), x)
    wave_y, wave_x, phase_y, phase_x = (drawn[:, k, None, None] for k in range(4))
    ys, xs = _grid(x)
    src_y = ys + amplitude * torch.sin(2 * np.pi * ys / wave_y + phase_y)
    src_x = xs + amplitude * torch.sin(2 * np.pi * xs / wave_x + phase_x)
    return ops.sample_pixels(x, src_y.expand_as(src_x), src_x.expand_as(src_y), "zeros")


# ------------------------------------------------------------------------------ blur
def _cubic_bspline(t: np.ndarray) -> np.ndarray:
    t = np.abs(t)
    return np.where(t < 1, 2 / 3 - t ** 2 + t ** 3 / 2, np.where(t < 2, (2 - t) ** 3 / 6, 0.0))


def _mirror(k: np.ndarray, n: int) -> np.ndarray:
    """scipy.ndimage's whole-sample mirror of spline tap indices."""
    k = np.abs(k)
    return np.where(k > n - 1, 2 * (n - 1) - k, k)


def _spline_matrix(coords: np.ndarray, n: int) -> np.ndarray:
    """(len(coords), n): cubic B-spline evaluation at ``coords`` from n coefficients."""
    out = np.zeros((len(coords), n))
    start = np.floor(coords).astype(int) - 1
    rows = np.arange(len(coords))
    for tap in range(4):
        k = start + tap
        np.add.at(out, (rows, _mirror(k, n)), _cubic_bspline(coords - k))
    return out


@functools.lru_cache(maxsize=16)
def _prefilter(n: int) -> np.ndarray:
    """Samples to cubic B-spline coefficients (scipy's ``prefilter=True``)."""
    return np.linalg.inv(_spline_matrix(np.arange(n, dtype=np.float64), n))


@functools.lru_cache(maxsize=16)
def _rotation_taps(h: int, w: int, amount: float) -> tuple[tuple[np.ndarray, np.ndarray], ...]:
    """Per rotation of the blur, each output pixel's 16 cubic-spline taps as (coefficient
    index, weight), both (H*W, 16): 21 rotations over +-``amount`` degrees weighted
    exp(-2 u^2) (normalised), each as scipy.ndimage.rotate(order=3, reshape=False):
    mirrored taps, and weight 0 (black) where the source lies outside the image."""
    ys, xs = np.mgrid[:h, :w].astype(np.float64)
    ch, cw = (h - 1) / 2, (w - 1) / 2
    us = np.linspace(-1, 1, 21)
    fs = np.exp(-2 * us ** 2)
    out = []
    for u, f in zip(us, fs / fs.sum()):
        c, s = math.cos(math.radians(u * amount)), math.sin(math.radians(u * amount))
        src_y = c * (ys - ch) + s * (xs - cw) + ch
        src_x = -s * (ys - ch) + c * (xs - cw) + cw
        inside = (src_y >= 0) & (src_y <= h - 1) & (src_x >= 0) & (src_x <= w - 1)
        y0, x0 = np.floor(src_y).astype(int) - 1, np.floor(src_x).astype(int) - 1
        taps = [((_mirror(y0 + a, h) * w + _mirror(x0 + b, w)).ravel(),
                 (f * _cubic_bspline(src_y - y0 - a) * _cubic_bspline(src_x - x0 - b)
                  * inside).ravel()) for a in range(4) for b in range(4)]
        out.append((np.stack([t[0] for t in taps], 1), np.stack([t[1] for t in taps], 1)))
    return tuple(out)


def _rotation_blur(x: Tensor, amount: float) -> Tensor:
    """The blur on images of any size: spline coefficients (scipy's prefilter), then each
    rotation's taps gathered and summed (a gather, so the same on every device)."""
    h, w = x.shape[-2:]
    ph, pw = (torch.from_numpy(_prefilter(n)).to(x.device, x.dtype) for n in (h, w))
    coef = (ph @ x @ pw.T).reshape(*x.shape[:-2], h * w)
    out = torch.zeros_like(coef)
    for source, weight in _rotation_taps(h, w, amount):
        source = torch.from_numpy(source).to(x.device)
        out += (coef[..., source] * torch.from_numpy(weight).to(x)).sum(-1)
    return out.reshape(x.shape)


DENSE_PIXELS = 1024  # up to 32 x 32 the blur is one cached matrix (8 MB), applied as a product


@functools.lru_cache(maxsize=16)
def _rotation_blur_matrix(h: int, w: int, amount: float) -> Tensor:
    """The whole blur as one (H*W, H*W) float64 matrix on the pixels."""
    m = np.zeros((h * w, h * w))
    rows = np.repeat(np.arange(h * w), 16)
    for source, weight in _rotation_taps(h, w, amount):
        np.add.at(m, (rows, source.ravel()), weight.ravel())
    return torch.from_numpy(m @ np.kron(_prefilter(h), _prefilter(w)))


@_cbar("circular_motion_blur", "blur")
def circular_motion_blur(x, p, rngs, scale):
    """Deterministic: the image averaged over rotations of +-``15 * level / 10`` degrees."""
    amount = _level(p, 15)
    h, w = x.shape[-2:]
    if h * w > DENSE_PIXELS:
        return _rotation_blur(x, amount)
    # in float64: a float32 product rounds by the batch's shape, and the truncation to 8 bits
    # would turn that into an image depending on its batch
    m = _rotation_blur_matrix(h, w, amount).to(x.device)
    flat = x.reshape(*x.shape[:-2], h * w).double()
    return (flat @ m.T).reshape(x.shape).to(x.dtype)


@functools.lru_cache(maxsize=64)
def _zoom_matrix(n: int, factor: float) -> np.ndarray:
    """(n, n): scipy.ndimage.zoom(order=3, prefilter=False) of an n-sample axis by
    ``factor``, then the reference's crop of n samples from offset ``(N - n) // 2``. Without
    the prefilter the raw samples act as spline coefficients: every channel is smoothed, the
    unzoomed one too, as in the reference."""
    zoomed = int(round(n * factor))
    start = (zoomed - n) // 2
    coords = np.arange(start, start + n) * ((n - 1) / max(zoomed - 1, 1))
    return _spline_matrix(coords, n)


@_cbar("transverse_chromatic_abberation", "colour")
def transverse_chromatic_abberation(x, p, rngs, scale):
    """The three channels zoomed by 1, 1 + s/2 and 1 + s (s = ``0.5 * level / 10``) in a
    random order; one grey channel becomes the mean of the three zooms. Rounded to the
    nearest level, as scipy stores the reference's uint8 zoom."""
    s = _level(p, 0.5)
    h, w = x.shape[-2:]
    zooms = []
    for factor in (1.0, 1 + s / 2, 1 + s):
        zh, zw = (torch.from_numpy(_zoom_matrix(n, factor)).to(x.device, x.dtype)
                  for n in (h, w))
        zooms.append(zh @ x @ zw.T)
    stacked = torch.stack(zooms)  # (3, B, C, H, W)
    if x.shape[1] == 1:
        y = stacked.mean(0)
    else:
        order = _per_image(rngs, lambda r: r.permutation(3)[:x.shape[1]], x).long()
        y = stacked.permute(1, 2, 0, 3, 4)[
            torch.arange(len(x), device=x.device)[:, None],
            torch.arange(x.shape[1], device=x.device)[None, :], order]
    return y + 0.5 / 255


# ------------------------------------------------------------------------------ sparkles
def _star(center: Tensor, lengths: Tensor, rays: Tensor, exponent: float, x: Tensor) -> Tensor:
    """(B, 1, H, W) weight of a star per image: ``rays`` rays of the given lengths (padded
    rows) around ``center`` (row, column), falling off as (length^2 / dist^2)^exponent."""
    ys, xs = _grid(x)
    dy, dx = ys - center[:, 0, None, None], xs - center[:, 1, None, None]
    rays = rays[:, None, None]
    d = (torch.atan2(dx, dy) + np.pi) / (2 * np.pi) * rays
    k = torch.trunc(d)
    f = d - k
    k = k.long()
    first = lengths.gather(1, (k % rays.long()).reshape(len(x), -1)).reshape(k.shape)
    second = lengths.gather(1, ((k + 1) % rays.long()).reshape(len(x), -1)).reshape(k.shape)
    length = first + f * (second - first)
    g = (length ** 2 / (dy * dy + dx * dx + 1e-4)) ** exponent
    return ((1 - (f - 0.5) ** 2) * g).clamp(0, 1)[:, None].to(x.dtype)


def _ray_lengths(r: np.random.Generator, count: int, radius: float, floor: float | None,
                 most: int = 200) -> np.ndarray:
    """``count`` ray lengths around ``radius`` (25% spread), padded to ``most``."""
    out = np.zeros(most)
    lengths = radius + 0.25 * radius * r.standard_normal(count)
    out[:count] = lengths if floor is None else np.maximum(floor, lengths)
    return out


@_cbar("sparkles", "weather")
def sparkles(x, p, rngs, scale):
    """Five white star bursts of radius ``0.1 * level / 10 * side`` (rays at least one
    pixel long), laid one over the other."""
    h, w = x.shape[-2:]
    radius, stars = _level(p, 0.1) * _side(x), 5

    def one(r: np.random.Generator) -> np.ndarray:
        centers = r.uniform(0, 1, size=(stars, 2)) * [h, w]
        rays = r.integers(50, 200, size=stars)
        lengths = [_ray_lengths(r, n, radius, floor=1.0) for n in rays]
        return np.concatenate([centers.ravel(), rays, np.concatenate(lengths)])

    drawn = _per_image(rngs, one, x)
    centers = drawn[:, :2 * stars].reshape(-1, stars, 2)
    rays = drawn[:, 2 * stars:3 * stars]
    lengths = drawn[:, 3 * stars:].reshape(len(x), stars, -1)
    y = x
    for k in range(stars):
        y = y + _star(centers[:, k], lengths[:, k], rays[:, k], 1.0, x) * (1 - y)
    return y


@_cbar("inverse_sparkles", "weather")
def inverse_sparkles(x, p, rngs, scale):
    """A white field with one star-shaped hole of radius a quarter of the side showing the
    image; the field thins with distance as (length^2 / dist^2)^(1.3 * level / 10)."""
    h, w = x.shape[-2:]
    radius, exponent = 0.25 * _side(x), _level(p, 65) / 50

    def one(r: np.random.Generator) -> np.ndarray:
        center = r.uniform(0.25, 0.75, size=2) * [h, w]
        rays = r.integers(50, 200)
        return np.concatenate([center, [rays], _ray_lengths(r, rays, radius, floor=None)])

    drawn = _per_image(rngs, one, x)
    weight = _star(drawn[:, :2], drawn[:, 3:], drawn[:, 2], exponent, x)
    return 1 + weight * (x - 1)
