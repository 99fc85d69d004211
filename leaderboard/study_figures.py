"""The figures of the studies' pages, one function per study name, drawn from the study's
committed arrays (``arrays.npz``) with the same conventions as ``figures``: SVG, markers and
line styles besides colour, alt text that states the numbers."""
from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np

from .figures import MARKERS, STYLES, Figure, _plt, _save

FAMILY_ORDER = ("jpeg", "bls", "bmshj")


def _families(a: dict) -> list[str]:
    return [f for f in FAMILY_ORDER if (a["family"] == f).any()]


def _sorted(a: dict, family: str, x: str):
    m = (a["family"] == family) & ~np.isnan(a[x])
    order = np.argsort(a[x][m], kind="stable")
    return {k: v[m][order] for k, v in a.items() if len(v) == len(a["family"])}


def _baseline_line(ax, a: dict) -> float | None:
    base = a["clean_acc"][a["family"] == "none"]
    if not len(base):
        return None
    ax.axhline(100 * base[0], color="black", lw=1, label="original data")
    return float(base[0])


def compressed_training(summary: dict, a: dict, folder: Path) -> list[Figure]:
    plt = _plt()
    figs = []
    fig, ax = plt.subplots(figsize=(4.8, 3.2))
    base = _baseline_line(ax, a)
    words = []
    for i, f in enumerate(_families(a)):
        d = _sorted(a, f, "bpp")
        ax.errorbar(d["bpp"], 100 * d["clean_acc"], yerr=100 * d["clean_acc_std"],
                    marker=MARKERS[i], ls=STYLES[i], capsize=2, label=f)
        words.append(f"{f}: " + ", ".join(f"{b:.2f} bpp {100 * c:.1f}%"
                                          for b, c in zip(d["bpp"], d["clean_acc"])))
    ax.set_xlabel("training-data bpp (payload)")
    ax.set_ylabel("clean test accuracy %")
    ax.legend(fontsize=7, frameon=False)
    _save(fig, folder / "accuracy_bpp.svg")
    figs.append(Figure("accuracy_bpp.svg", "Accuracy against the training data's bit rate",
                       "Clean accuracy against bpp per family" +
                       (f", original data {100 * base:.1f}%" if base else "") + ": " +
                       "; ".join(words) + ".",
                       "Thesis Fig 3.4: mean over seeds, bars one standard deviation; the black "
                       "line is the model trained on the original images."))
    fig, axes = plt.subplots(1, 2, figsize=(7.2, 3.0), sharey=True)
    words = []
    for ax, x, label in ((axes[0], "psnr", "PSNR dB"), (axes[1], "ssim", "SSIM")):
        _baseline_line(ax, a)
        for i, f in enumerate(_families(a)):
            d = _sorted(a, f, x)
            ax.errorbar(d[x], 100 * d["clean_acc"], yerr=100 * d["clean_acc_std"],
                        marker=MARKERS[i], ls=STYLES[i], capsize=2, label=f)
            words.append(f"{f} {x}: " + ", ".join(f"{v:.3g} {100 * c:.1f}%"
                                                  for v, c in zip(d[x], d["clean_acc"])))
        ax.set_xlabel(f"training-data {label}")
    axes[0].set_ylabel("clean test accuracy %")
    axes[1].legend(fontsize=7, frameon=False)
    _save(fig, folder / "accuracy_distortion.svg")
    figs.append(Figure("accuracy_distortion.svg", "Accuracy against the training data's distortion",
                       "Clean accuracy against PSNR (left) and SSIM (right): " + "; ".join(words) + ".",
                       "Thesis Fig 3.5: the same points as above, placed by distortion instead "
                       "of rate."))
    return figs


def storage(summary: dict, a: dict, folder: Path) -> list[Figure]:
    plt = _plt()
    fig, ax = plt.subplots(figsize=(4.8, 3.2))
    base = a["clean_acc"][a["family"] == "none"]
    if not len(base):
        return []
    ax.axvspan(13.77, 34.69, color="0.9", label="seed 004: 14-34%")
    ax.axhline(100.0, color="black", lw=1, label="original data")
    words = []
    for i, f in enumerate(_families(a)):
        d = _sorted(a, f, "relative_size")
        kept = 100 * d["clean_acc"] / base[0]
        ax.plot(100 * d["relative_size"], kept, marker=MARKERS[i], ls=STYLES[i], label=f"{f} files")
        if f == "jpeg":
            ax.plot(100 * d["bytes"] / a["original_png"][0], kept, marker=MARKERS[i], ls=":",
                    mfc="none", label="jpeg payload only")
        words.append(f"{f}: " + ", ".join(f"{p} {100 * r:.1f}% size {k:.1f}% accuracy" for p, r, k
                                          in zip(d["param"], d["relative_size"], kept)))
    ax.set_xlabel("stored size, % of the original as PNG files")
    ax.set_ylabel("clean accuracy, % of the original data's")
    ax.legend(fontsize=6, frameon=False)
    _save(fig, folder / "storage.svg")
    return [Figure("storage.svg", "Storage against accuracy kept",
                   "Relative size against relative clean accuracy: " + "; ".join(words) + ".",
                   "Seed 004 Table III: each point is one parameter's training set; the grey band "
                   "is the range the paper reports for JPEG at compression ratio 0.3.")]


FIGURES: dict[str, Callable[[dict, dict, Path], list[Figure]]] = {
    "compressed-training": compressed_training,
    "storage": storage,
}


def study_figures(summary: dict, arrays: dict, folder: Path) -> list[Figure]:
    fn = FIGURES.get(summary["study"])
    return fn(summary, arrays, folder) if fn else []
