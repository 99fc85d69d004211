"""Per-image outcomes made by hand with a known accuracy, for the verdict tests."""
from __future__ import annotations

import numpy as np


def outcomes(accuracies, images: int, seeds: int = 2, shuffled: bool = False,
             draw: int = 0) -> np.ndarray:
    """(settings, seeds, images) bool: each setting gets exactly its accuracy's share of the
    images right, for every seed. Nested (the images a setting gets right include those of
    every less accurate one, so differences are certain) unless ``shuffled`` (each setting
    its own images, drawn at random: differences of a point or two are then noise); calls
    with another ``draw`` shuffle independently of each other."""
    rng = np.random.default_rng(draw)
    out = np.zeros((len(accuracies), seeds, images), bool)
    for i, acc in enumerate(accuracies):
        right = np.arange(images) < round(acc * images)
        out[i] = rng.permutation(right) if shuffled else right
    return out
