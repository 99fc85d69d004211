"""The figures of a submission's page, drawn by matplotlib as SVG (the corruption preview as
PNG). Each figure function writes one file and returns a ``Figure`` whose ``alt`` text says
what the picture shows in words, so the page reads without the image and without colour.

Lines and points differ by marker and line style as well as colour; the heat map prints its
numbers in each cell.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from benchmark.augment.analysis import REFERENCE
from benchmark.codecs.bjontegaard import DEFAULT_FIT, bd
from benchmark.scoring.report import SelectionEntry
from benchmark.scoring.reports import BASELINE, HELD_OUT  # the entry every figure shows
from benchmark.scoring.selection import CLEAN, COMMON, chosen_accuracy, chosen_label, is_cbar
from corruptions import files

from .board import Report, Table, family_label, kind_of

MARKERS = "os^Dv<>pXh*"
STYLES = ("-", "--", "-.", ":")


@dataclass(frozen=True)
class Figure:
    file: str      # relative to the page's folder
    title: str
    alt: str
    caption: str


def _plt():
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    matplotlib.rcParams.update({"svg.hashsalt": "bench", "font.size": 8,
                                "axes.spines.top": False, "axes.spines.right": False})
    return plt


def _save(fig, path: Path) -> None:
    plt = _plt()
    path.parent.mkdir(parents=True, exist_ok=True)
    fmt = path.suffix.lstrip(".")
    with files.atomic_path(path) as tmp:
        fig.savefig(tmp, format=fmt, metadata={"Date": None} if fmt == "svg" else None,
                    dpi=100, bbox_inches="tight")
    plt.close(fig)


def held_out(report: Report) -> SelectionEntry | None:
    return report.entry(*HELD_OUT)


def _pct(x) -> str:
    return "n/a" if x is None else f"{100 * x:.1f}%"


def severity_curves(reports: Sequence[Report], this: Report, out: Path) -> Figure:
    """Thesis Fig 4.1: accuracy against severity (0 = clean), one line per submission."""
    plt = _plt()
    fig, ax = plt.subplots(figsize=(5.2, 3.4))
    words = []
    for i, rep in enumerate(reports):
        e = held_out(rep)
        if not e or not e.severity_acc:
            continue
        xs = [0] + [int(s) for s in e.severity_acc]
        ys = [100 * e.clean_acc] + [100 * v for v in e.severity_acc.values()]
        me = rep is this
        ax.plot(xs, ys, marker=MARKERS[i % len(MARKERS)], ls=STYLES[i % len(STYLES)],
                lw=2.4 if me else 1.0, alpha=1 if me else 0.7,
                label=f"{rep.id} ({family_label(rep)})" + (" ◀" if me else ""))
        if me:
            words = [f"severity {x}: {y:.1f}%" for x, y in zip(xs, ys)]
    ax.set_xlabel("severity (0 = clean)")
    ax.set_ylabel("accuracy %")
    ax.set_xticks(range(6))
    ax.legend(fontsize=6, frameon=False, loc="lower left")
    _save(fig, out)
    return Figure(out.name, "Accuracy against severity",
                  f"Line chart of accuracy against corruption severity for every submission of "
                  f"this table; {this.id}: " + ", ".join(words).replace("severity 0", "clean"),
                  "BDA, parameter chosen on the held-out validation split; mean over the 15 "
                  "common corruptions at each severity (thesis Fig 4.1).")


def heatmap(rows: pd.DataFrame, report: Report, out: Path) -> Figure | None:
    """Thesis Figs 4.2 and 4.6: accuracy of the chosen parameter per corruption and severity."""
    e = held_out(report)
    if not e:
        return None
    line = chosen_accuracy(rows, report.summary.params, e.chosen)
    label = chosen_label(e.chosen)
    corr = [c for c in report.summary.corruptions if c != CLEAN]
    sev = sorted({s for c, s in line.index if c != CLEAN})
    grid = np.array([[line.get((c, s), np.nan) for s in sev] for c in corr]) * 100
    plt = _plt()
    fig, ax = plt.subplots(figsize=(0.55 * len(sev) + 2.2, 0.26 * len(corr) + 1.0))
    im = ax.imshow(grid, cmap="viridis", vmin=0, vmax=100, aspect="auto")
    for (i, j), v in np.ndenumerate(grid):
        if np.isfinite(v):
            ax.text(j, i, f"{v:.0f}", ha="center", va="center", fontsize=6,
                    color="white" if v < 55 else "black")
    ax.set_xticks(range(len(sev)), [str(s) for s in sev])
    marks = [c + ("" if c in COMMON else " †" if is_cbar(c) else " *") for c in corr]
    ax.set_yticks(range(len(corr)), marks, fontsize=6)
    ax.set_xlabel("severity")
    fig.colorbar(im, fraction=0.05, label="accuracy %")
    _save(fig, out)
    worst = np.unravel_index(np.nanargmin(grid), grid.shape)
    return Figure(out.name, "Accuracy per corruption and severity",
                  f"Heat map of accuracy for parameter {label}, corruptions by row, "
                  f"severities by column, each cell labelled with its value; the lowest is "
                  f"{corr[worst[0]]} at severity {sev[worst[1]]} with {grid[worst]:.0f}%.",
                  f"Parameter {label} (BDA, held-out choice), mean over seeds; * marks the "
                  "4 extra corruptions"
                  + (", † the CIFAR-10-C-bar ones" if any(map(is_cbar, corr)) else "")
                  + " (thesis Figs 4.2, 4.6).")


SCATTER_Y = {"corrupt_acc": ("corrupt", "the 15 common corruptions"),
             "cbar_acc": ("C-bar", "the CIFAR-10-C-bar corruptions")}


def scatter(reports: Sequence[Report], this: Report, out: Path,
            metric: str = "corrupt_acc") -> Figure | None:
    """Thesis Fig 4.3: clean against corrupt accuracy, every submission of the table; with
    ``metric="cbar_acc"`` the same against C-bar accuracy (None where this report has none)."""
    name, what = SCATTER_Y[metric]
    e = held_out(this)
    if not e or getattr(e, metric) is None:
        return None
    plt = _plt()
    fig, ax = plt.subplots(figsize=(4.8, 3.6))
    for i, rep in enumerate(reports):
        point = held_out(rep)
        if not point or getattr(point, metric) is None:
            continue
        me = rep is this
        xy = (100 * point.clean_acc, 100 * getattr(point, metric))
        ax.scatter(*xy, marker=MARKERS[i % len(MARKERS)], s=70 if me else 30,
                   edgecolor="black" if me else "none", zorder=3 if me else 2)
        ax.annotate(rep.id, xy, fontsize=6, xytext=(4, 3), textcoords="offset points",
                    fontweight="bold" if me else "normal")
    ax.set_xlabel("clean accuracy %")
    ax.set_ylabel(f"{name} accuracy %")
    _save(fig, out)
    return Figure(out.name, f"Clean against {name} accuracy",
                  f"Scatter plot of clean against {name} accuracy, one labelled point per "
                  f"submission; {this.id} is at {_pct(e.clean_acc)} clean, "
                  f"{_pct(getattr(e, metric))} {name}.",
                  f"BDA, held-out choice (thesis Fig 4.3); {name} = mean over {what}.")


TRACK_MARKERS = {"reference": ("*", 150), "combination": ("D", 55), None: ("o", 40)}


# where a point's label may sit, in points from it: right above, right below, left above,
# left below, then further out; (dx, dy, horizontal alignment)
LABEL_SPOTS = ((4, 3, "left"), (4, -8, "left"), (-4, 3, "right"), (-4, -8, "right"),
               (4, 10, "left"), (-4, 10, "right"), (4, -15, "left"), (-4, -15, "right"))


def label_offsets(ax, xy: list[tuple[float, float]], labels: list[str],
                  fontsize: float) -> list[tuple[float, float, str]]:
    """Per point, the first of ``LABEL_SPOTS`` whose label box overlaps no label placed
    before it (the first spot where all do): a track holds points close together, and
    labels printed over each other name none of them. Boxes are estimated from the text's
    length at ``fontsize``, in points."""
    scale = 72.0 / ax.figure.dpi
    placed: list[tuple[float, float, float, float]] = []
    out = []
    for (x, y), text in zip(xy, labels):
        px, py = (v * scale for v in ax.transData.transform((x, y)))
        w, h = 0.6 * fontsize * len(text), fontsize
        boxes = [(px + dx - (w if ha == "right" else 0), py + dy, w, h)
                 for dx, dy, ha in LABEL_SPOTS]
        free = [k for k, b in enumerate(boxes) if not any(_overlap(b, o) for o in placed)]
        k = free[0] if free else 0
        placed.append(boxes[k])
        out.append(LABEL_SPOTS[k])
    return out


def _overlap(a: tuple[float, float, float, float], b: tuple[float, float, float, float]) -> bool:
    return a[0] < b[0] + b[2] and b[0] < a[0] + a[2] and a[1] < b[1] + b[3] and b[1] < a[1] + a[3]


def track_scatter(table: Table, out: Path, metric: str = "corrupt_acc") -> Figure | None:
    """Thesis Fig 4.3 for a whole track, on the index: clean against corrupt (or C-bar)
    accuracy of every submission at its held-out BDA pick, the reference recipes as stars,
    combinations as diamonds, the baseline ringed; None where fewer than two have it."""
    name, what = SCATTER_Y[metric]
    points = []
    for rep in {r.report.id: r.report for r in table.rows}.values():
        e = held_out(rep)
        if e is not None and getattr(e, metric) is not None:
            points.append((rep, 100 * e.clean_acc, 100 * getattr(e, metric)))
    if len(points) < 2:
        return None
    plt = _plt()
    fig, ax = plt.subplots(figsize=(6.4, 4.4))
    for kind, (marker, size) in TRACK_MARKERS.items():
        mine = [p for p in points if kind_of(p[0]) == kind]
        if mine:
            ax.scatter([p[1] for p in mine], [p[2] for p in mine], marker=marker, s=size,
                       label=kind or "compression and the rest", zorder=3 if kind else 2)
    ax.autoscale_view()
    offsets = label_offsets(ax, [(x, y) for _, x, y in points], [p[0].id for p in points], 6)
    for (rep, x, y), (dx, dy, ha) in zip(points, offsets):
        base = rep.id == BASELINE
        if base:
            ax.scatter([x], [y], s=220, facecolors="none", edgecolors="black", zorder=4)
        ax.annotate(rep.id, (x, y), fontsize=6, xytext=(dx, dy), textcoords="offset points",
                    ha=ha, fontweight="bold" if base or kind_of(rep) == "reference" else "normal")
    ax.set_xlabel("clean accuracy %")
    ax.set_ylabel(f"{name} accuracy %")
    ax.legend(fontsize=7, loc="best")
    _save(fig, out)
    refs = [p for p in points if kind_of(p[0]) == "reference"]
    best = max(points, key=lambda p: p[2])
    return Figure(out.name, f"Clean against {name} accuracy, every submission of the track",
                  f"Scatter plot of clean against {name} accuracy, one labelled point per "
                  f"submission ({len(points)}, {len(refs)} of them reference recipes drawn as "
                  f"stars); the highest {name} accuracy is {best[0].id}'s, "
                  f"{best[2]:.1f}% at {best[1]:.1f}% clean.",
                  f"BDA, held-out choice (thesis Fig 4.3), every submission of this track; "
                  f"{name} = mean over {what}; the baseline is ringed.")


def _x_of(points: dict[str, dict], key: str = "bpp") -> tuple[list, str, list[str]]:
    """bpp when the parameters differ in rate, else the parameters themselves."""
    labels = list(points)
    bpp = [points[p].get(key) for p in labels]
    if None not in bpp and len(set(bpp)) > 1:
        return bpp, "training-data bpp", labels
    return list(range(len(labels))), "parameter", labels


def param_curves(report: Report, out: Path) -> Figure:
    """Thesis Fig 3.4: clean and corrupt accuracy of every parameter against its bpp."""
    points = {p: v.to_dict() for p, v in report.summary.per_param.items()}
    xs, xlabel, labels = _x_of(points)
    plt = _plt()
    fig, ax = plt.subplots(figsize=(4.8, 3.2))
    for key, name, marker, ls in (("clean_acc", "clean", "o", "-"),
                                  ("corrupt_acc", "corrupt (15)", "s", "--")):
        ys = [points[p][key] for p in labels]
        if None in ys:
            continue
        err = [100 * (points[p].get(key + "_std") or 0) for p in labels]
        ax.errorbar(xs, [100 * y for y in ys], yerr=err, marker=marker, ls=ls, label=name,
                    capsize=2)
    if xlabel == "parameter":
        ax.set_xticks(xs, labels, rotation=30, fontsize=6)
    else:
        for x, p in zip(xs, labels):
            ax.annotate(p, (x, 100 * points[p]["clean_acc"]), fontsize=5, xytext=(2, 3),
                        textcoords="offset points")
    ax.set_xlabel(xlabel)
    ax.set_ylabel("accuracy %")
    ax.legend(fontsize=7, frameon=False)
    _save(fig, out)
    words = "; ".join(f"{p}: clean {_pct(points[p]['clean_acc'])}, corrupt "
                      f"{_pct(points[p]['corrupt_acc'])}" for p in labels)
    return Figure(out.name, "Accuracy of every parameter",
                  f"Clean (circles, solid) and corrupt (squares, dashed) accuracy against "
                  f"{xlabel}: {words}.",
                  "Mean over seeds, bars one standard deviation (thesis Fig 3.4).")


def _rd_points(rep: Report) -> list[tuple[float, float, str]]:
    data = {p: d for p, d in rep.summary.training_data.items()
            if "+" not in p and d.get("bpp") is not None and d.get("psnr") is not None}
    return sorted((d["bpp"], d["psnr"], p) for p, d in data.items())


def rd_curves(reports: Sequence[Report], this: Report, out: Path) -> Figure | None:
    """Thesis Fig 3.2: PSNR of the training data against its bpp, per compressing family,
    each with its Bjøntegaard delta against the JPEG submission of the table (same images)."""
    plt = _plt()
    fig, ax = plt.subplots(figsize=(4.8, 3.2))
    words, drawn, deltas = [], 0, []
    # the JPEG rows themselves, not a combination that stacks an online stage on them
    jpeg = next((r for r in reports if r.summary.meta.family == REFERENCE
                 and not r.summary.meta.online), None)
    ref = _rd_points(jpeg) if jpeg else []
    for i, rep in enumerate(reports):
        pts = _rd_points(rep)
        if len({p[0] for p in pts}) < 2:
            continue
        me = rep is this
        label = f"{family_label(rep)} ({rep.id})"
        if ref and rep is not jpeg:
            r = bd([p[0] for p in ref], [p[1] for p in ref], [p[0] for p in pts],
                   [p[1] for p in pts])
            if r.psnr_db is not None:
                label += f", BD {r.psnr_db:+.2f} dB"
                deltas.append(f"{rep.id} {r.psnr_db:+.2f} dB BD-PSNR"
                              + (f" ({r.rate_pct:+.1f}% BD-rate)" if r.rate_pct is not None else ""))
        ax.plot([p[0] for p in pts], [p[1] for p in pts], marker=MARKERS[i % len(MARKERS)],
                ls=STYLES[i % len(STYLES)], lw=2.4 if me else 1.0, label=label)
        drawn += 1
        if me:
            words = [f"{p} at {b:.2f} bpp: {q:.1f} dB" for b, q, p in pts]
    if not drawn:
        plt.close(fig)
        return None
    ax.set_xlabel("bits per pixel")
    ax.set_ylabel("PSNR (dB)")
    ax.legend(fontsize=6, frameon=False)
    _save(fig, out)
    own = ("; ".join(words) if words else
           f"{this.id}'s family does not change the rate, so it has no curve of its own")
    bd_words = (f" Bjøntegaard deltas against {jpeg.id} ({DEFAULT_FIT} fit over log10 bpp, "
                f"overlapping range): {'; '.join(deltas)}." if deltas else "")
    return Figure(out.name, "Rate-distortion of the training data",
                  f"Line chart of PSNR against bits per pixel of the training sets of every "
                  f"compressing submission in this table. {own}.",
                  "Each point is one parameter's training set, against the original images "
                  f"(thesis Fig 3.2).{bd_words}")


def spectra(spectra: dict[str, np.ndarray], report: Report, out: Path) -> Figure | None:
    """Thesis Fig 4.7: log-magnitude spectrum of the original training data, and each
    parameter's difference from it."""
    if "original" not in spectra:
        return None
    labels = [p for p in spectra if p != "original"]
    plt = _plt()
    n = 1 + len(labels)
    fig, axes = plt.subplots(1, n, figsize=(1.7 * n + 0.6, 2.1), squeeze=False)
    base = spectra["original"]
    axes[0, 0].imshow(base, cmap="magma")
    axes[0, 0].set_title("original", fontsize=7)
    lim = max((np.abs(spectra[p] - base).max() for p in labels), default=1.0) or 1.0
    im = None
    removed = []
    for ax, p in zip(axes[0, 1:], labels):
        d = spectra[p] - base
        im = ax.imshow(d, cmap="RdBu_r", vmin=-lim, vmax=lim)
        ax.set_title(p, fontsize=7)
        removed.append(f"{p}: mean change {d.mean():+.3f}")
    for ax in axes[0]:
        ax.set_xticks([])
        ax.set_yticks([])
    if im is not None:
        fig.colorbar(im, ax=list(axes[0, 1:]), fraction=0.03, label="Δ log(1+|F|)")
    _save(fig, out)
    return Figure(out.name, "Fourier spectrum of the training data",
                  "Mean log-magnitude spectra, low frequencies at the centre: the original "
                  "training images, then each parameter's difference from them (blue: energy "
                  "removed, red: added); " + "; ".join(removed) + ".",
                  "Thesis Fig 4.7.")


def training_curves(history: pd.DataFrame, out: Path) -> Figure | None:
    """Loss and training accuracy per epoch, one line per parameter (mean over seeds)."""
    if history.empty:
        return None
    plt = _plt()
    fig, (a, b) = plt.subplots(1, 2, figsize=(6.4, 2.6))
    mean = history.groupby(["param", "epoch"], sort=False)[["loss", "accuracy"]].mean()
    words = []
    for i, param in enumerate(dict.fromkeys(history["param"])):
        h = mean.loc[param]
        kw = dict(marker=MARKERS[i % len(MARKERS)], ls=STYLES[i % len(STYLES)], ms=3, label=param)
        a.plot(h.index, h["loss"], **kw)
        b.plot(h.index, 100 * h["accuracy"], **kw)
        words.append(f"{param}: loss {h['loss'].iloc[-1]:.3f}, accuracy "
                     f"{100 * h['accuracy'].iloc[-1]:.1f}% after epoch {h.index[-1]}")
    a.set_xlabel("epoch")
    a.set_ylabel("training loss")
    b.set_xlabel("epoch")
    b.set_ylabel("training accuracy %")
    b.legend(fontsize=6, frameon=False)
    _save(fig, out)
    return Figure(out.name, "Training curves",
                  "Training loss and accuracy per epoch, one line per parameter; " +
                  "; ".join(words) + ".", "Mean over seeds, on the augmented training data.")


def band_evolution(history: pd.DataFrame, out: Path) -> Figure | None:
    """Seed 001's learned band weights after each epoch (mean over seeds), for models with
    the ``bands`` option; None for the others."""
    if "band_weights" not in history.columns or history.empty:
        return None
    plt = _plt()
    rows = history.sort_values(["seed", "epoch"])
    w = np.stack([np.stack(list(g["band_weights"])) for _, g in rows.groupby("seed")])
    mean, spread = w.mean(axis=0), w.std(axis=0)  # (epochs, bands)
    epochs = np.arange(1, mean.shape[0] + 1)
    fig, ax = plt.subplots(figsize=(4.8, 3.0))
    for k in range(mean.shape[1]):
        ax.errorbar(epochs, mean[:, k], yerr=spread[:, k], marker=MARKERS[k % len(MARKERS)],
                    ls=STYLES[k % len(STYLES)], ms=3, capsize=2, label=f"band {k + 1}")
    ax.axhline(1 / mean.shape[1], color="black", lw=0.8, ls=":", label="uniform")
    ax.set_xlabel("epoch")
    ax.set_ylabel("softmax band weight")
    ax.legend(fontsize=5, frameon=False, ncol=2)
    _save(fig, out)
    return Figure(out.name, "Band-weight evolution",
                  f"Band weights after epoch {epochs[-1]}, bands 1 (DC) to {mean.shape[1]}: "
                  + ", ".join(f"{v:.3f} ± {s:.3f}" for v, s in zip(mean[-1], spread[-1])) + ".",
                  f"Seed 001: the softmax weights of the radial DCT bands after each epoch, "
                  f"mean over {w.shape[0]} seed(s), bars one std; the dotted line is uniform.")


def corruption_preview(image: np.ndarray, names: Sequence[str], scale: str, seed: int,
                       dataset: str, out: Path) -> Figure:
    from corruptions.preview import preview_figure

    fig = preview_figure(image, names, scale=scale, seed=seed, index=0,
                         title=f"{dataset} test image 0, {scale} scale")
    _save(fig, out)
    return Figure(out.name, "Corruptions at each severity",
                  f"A grid of the first {dataset} test image: one row per corruption "
                  f"({', '.join(names)}), the clean image then severities 1 to 5.",
                  "Made by the engine that builds the evaluation sets (seed 0, image 0).")
