"""A corruption x severity grid of one image: what each corruption does, at a glance."""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from . import engine
from .tables import SEVERITIES


def preview_figure(image: np.ndarray, names: Sequence[str], *, scale: str, seed: int = 0,
                   index: int = 0, title: str = ""):
    """A matplotlib ``Figure`` (save it with ``savefig``): one row per corruption, the clean image then severities 1-5.
    ``index`` is the image's index in its split, which seeds its random draws as in the
    built sets."""
    from matplotlib.figure import Figure  # no pyplot: a caller's backend stays as it is

    img = np.asarray(image)[None]
    cols = ["clean", *[f"severity {s}" for s in SEVERITIES]]
    fig = Figure(figsize=(1.6 * len(cols), 1.6 * len(names)))
    axes = fig.subplots(len(names), len(cols), squeeze=False)
    grey = img.shape[-1] == 1
    for r, name in enumerate(names):
        row = [img[0]] + [engine.corrupt(img, name, s, scale=scale, seed=seed, indices=[index])[0]
                          for s in SEVERITIES]
        for c, tile in enumerate(row):
            ax = axes[r, c]
            ax.imshow(tile[..., 0] if grey else tile, cmap="gray" if grey else None, vmin=0,
                      vmax=255, interpolation="nearest")
            ax.set_xticks([])
            ax.set_yticks([])
            if r == 0:
                ax.set_title(cols[c], fontsize=8)
            if c == 0:
                ax.set_ylabel(name, fontsize=7)
    if title:
        fig.suptitle(title, fontsize=9)
    fig.tight_layout(rect=(0, 0, 1, 1 - 0.3 / fig.get_figheight()))
    return fig
