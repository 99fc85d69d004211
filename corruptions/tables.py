"""Published per-severity parameters of the common-corruption benchmarks.

Two tables: ``cifar`` (CIFAR-10-C, Hendrycks & Dietterich 2019, ``make_cifar_c.py``) and
``imagenet`` (ImageNet-C as implemented by the ``imagecorruptions`` package, which is also
what Kodak-C / CLIC-C were built with). Source: ``shared/reference/corruption_parameters.md``.

One deliberate difference from the ImageNet-C column of that reference: ``imagecorruptions``
replaced ImageNet-C's affine+elastic warp by its own elastic warp (alpha = 250 * k, sigma =
1% of the image size, max displacement 0.5% of the height, no affine). Since the ImageNet
scale is defined here as "what imagecorruptions does" (it is the test oracle), its parameters
are used; the ImageNet-C 244x table is kept as ``IMAGENET_C_ELASTIC`` for reference.
"""
from __future__ import annotations

import numpy as np

SCALES = ("cifar", "imagenet")
SEVERITIES = (1, 2, 3, 4, 5)

CIFAR: dict[str, list] = {
    "gaussian_noise": [0.04, 0.06, 0.08, 0.09, 0.10],
    "shot_noise": [500, 250, 100, 75, 50],
    "impulse_noise": [0.01, 0.02, 0.03, 0.05, 0.07],
    "defocus_blur": [(0.3, 0.4), (0.4, 0.5), (0.5, 0.6), (1, 0.2), (1.5, 0.1)],
    "glass_blur": [(0.05, 1, 1), (0.25, 1, 1), (0.4, 1, 1), (0.25, 1, 2), (0.4, 1, 2)],
    "motion_blur": [(6, 1), (6, 1.5), (6, 2), (8, 2), (9, 2.5)],
    "zoom_blur": [np.arange(1, end, 0.01) for end in (1.06, 1.11, 1.16, 1.21, 1.26)],
    "snow": [
        (0.1, 0.2, 1, 0.6, 8, 3, 0.95),
        (0.1, 0.2, 1, 0.5, 10, 4, 0.9),
        (0.15, 0.3, 1.75, 0.55, 10, 4, 0.9),
        (0.25, 0.3, 2.25, 0.6, 12, 6, 0.85),
        (0.3, 0.3, 1.25, 0.65, 14, 12, 0.8),
    ],
    "frost": [(1, 0.2), (1, 0.3), (0.9, 0.4), (0.85, 0.4), (0.75, 0.45)],
    "fog": [(0.2, 3), (0.5, 3), (0.75, 2.5), (1, 2), (1.5, 1.75)],
    "brightness": [0.05, 0.1, 0.15, 0.2, 0.3],
    "contrast": [0.75, 0.5, 0.4, 0.3, 0.15],
    # (alpha, sigma, affine) as fractions of the image side (32 for CIFAR).
    "elastic_transform": [
        (0, 0, 0.08), (0.05, 0.2, 0.07), (0.08, 0.06, 0.06), (0.1, 0.04, 0.05), (0.1, 0.03, 0.03)
    ],
    "pixelate": [0.95, 0.9, 0.85, 0.75, 0.65],
    "jpeg_compression": [80, 65, 58, 50, 40],
    "speckle_noise": [0.06, 0.1, 0.12, 0.16, 0.2],
    "gaussian_blur": [0.4, 0.6, 0.7, 0.8, 1],
    "spatter": [
        (0.62, 0.1, 0.7, 0.7, 0.5, 0),
        (0.65, 0.1, 0.8, 0.7, 0.5, 0),
        (0.65, 0.3, 1, 0.69, 0.5, 0),
        (0.65, 0.1, 0.7, 0.69, 0.6, 1),
        (0.65, 0.1, 0.5, 0.68, 0.6, 1),
    ],
    "saturate": [(0.3, 0), (0.1, 0), (1.5, 0), (2, 0.1), (2.5, 0.2)],
}

IMAGENET: dict[str, list] = {
    "gaussian_noise": [0.08, 0.12, 0.18, 0.26, 0.38],
    "shot_noise": [60, 25, 12, 5, 3],
    "impulse_noise": [0.03, 0.06, 0.09, 0.17, 0.27],
    "defocus_blur": [(3, 0.1), (4, 0.5), (6, 0.5), (8, 0.5), (10, 0.5)],
    "glass_blur": [(0.7, 1, 2), (0.9, 2, 1), (1, 2, 3), (1.1, 3, 2), (1.5, 4, 2)],
    "motion_blur": [(10, 3), (15, 5), (15, 8), (15, 12), (20, 15)],
    "zoom_blur": [
        np.arange(1, 1.11, 0.01),
        np.arange(1, 1.16, 0.01),
        np.arange(1, 1.21, 0.02),
        np.arange(1, 1.26, 0.02),
        np.arange(1, 1.31, 0.03),
    ],
    "snow": [
        (0.1, 0.3, 3, 0.5, 10, 4, 0.8),
        (0.2, 0.3, 2, 0.5, 12, 4, 0.7),
        (0.55, 0.3, 4, 0.9, 12, 8, 0.7),
        (0.55, 0.3, 4.5, 0.85, 12, 8, 0.65),
        (0.55, 0.3, 2.5, 0.85, 12, 12, 0.55),
    ],
    "frost": [(1, 0.4), (0.8, 0.6), (0.7, 0.7), (0.65, 0.7), (0.6, 0.75)],
    "fog": [(1.5, 2), (2.0, 2), (2.5, 1.7), (2.5, 1.5), (3.0, 1.4)],
    "brightness": [0.1, 0.2, 0.3, 0.4, 0.5],
    "contrast": [0.4, 0.3, 0.2, 0.1, 0.05],
    # imagecorruptions' elastic warp: alpha multipliers (alpha = 250 * k).
    "elastic_transform": [0.05, 0.065, 0.085, 0.1, 0.12],
    "pixelate": [0.6, 0.5, 0.4, 0.3, 0.25],
    "jpeg_compression": [25, 18, 15, 10, 7],
    "speckle_noise": [0.15, 0.2, 0.35, 0.45, 0.6],
    "gaussian_blur": [1, 2, 3, 4, 6],
    "spatter": [
        (0.65, 0.3, 4, 0.69, 0.6, 0),
        (0.65, 0.3, 3, 0.68, 0.6, 0),
        (0.65, 0.3, 2, 0.68, 0.5, 0),
        (0.65, 0.3, 1, 0.65, 1.5, 1),
        (0.67, 0.4, 1, 0.65, 1.5, 1),
    ],
    "saturate": [(0.3, 0), (0.1, 0), (2, 0), (5, 0.1), (20, 0.2)],
}

# ImageNet-C's original elastic table (alpha, sigma, affine) x 244; not used, see module doc.
IMAGENET_C_ELASTIC = [(2, 0.7, 0.1), (2, 0.08, 0.2), (0.05, 0.01, 0.02), (0.07, 0.01, 0.02), (0.12, 0.01, 0.02)]

# CIFAR-10-C-bar (Mintun et al., NeurIPS 2021; ``cifar10_c_bar.csv`` of
# facebookresearch/augmentation-corruption): each severity's *level* on the reference's 0-10
# scale, which a corruption turns into its parameter relative to the image side (so one table
# serves every size). Source: ``shared/reference/unseen_corruptions.md``.
CBAR: dict[str, list[float]] = {
    "blue_noise_sample": [0.7, 1.4, 2.1, 3.5, 4.2],
    "brownish_noise": [2.5, 4.0, 5.5, 6.5, 7.0],
    "checkerboard_cutout": [1.0, 2.0, 3.0, 4.0, 5.0],
    "circular_motion_blur": [2.8, 3.6, 4.4, 5.2, 6.0],
    "inverse_sparkles": [1.0, 1.5, 2.5, 4.5, 5.0],
    "lines": [0.5, 1.0, 1.5, 2.0, 2.5],
    "pinch_and_twirl": [5.5, 6.0, 6.5, 8.5, 10.0],
    "ripple": [5.5, 6.0, 6.5, 7.5, 8.0],
    "sparkles": [0.7, 3.5, 5.6, 6.3, 7.0],
    "transverse_chromatic_abberation": [1.0, 2.0, 5.0, 9.0, 10.0],
}

TABLES = {"cifar": CIFAR, "imagenet": IMAGENET}

# Images up to this side length default to the CIFAR table, larger ones to the ImageNet one.
CIFAR_MAX_SIDE = 64


def default_scale(height: int, width: int) -> str:
    """The table a user of the field would pick for images of this size."""
    return "cifar" if max(height, width) <= CIFAR_MAX_SIDE else "imagenet"


def params(name: str, severity: int, scale: str):
    """The published parameter(s) of one corruption at one severity (1..5)."""
    return TABLES[scale][name][severity - 1]


def as_jsonable(value):
    """Parameters as plain JSON values for manifests."""
    if isinstance(value, np.ndarray):
        return [round(float(v), 4) for v in value]
    if isinstance(value, tuple):
        return [as_jsonable(v) for v in value]
    return value
