"""The figures of the studies' pages, one function per study name, drawn from the study's
committed arrays (``arrays.npz``) with the same conventions as ``figures``: SVG, markers and
line styles besides colour, alt text that states the numbers."""
from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np

from benchmark.studies.spectral import group_of

from .figures import MARKERS, STYLES, Figure, _plt, _save, label_offsets

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


def _fourier_entries(summary: dict, a: dict, only: str | None = None) -> list[tuple[str, np.ndarray]]:
    """(title, mean error map over seeds) of each probed model, in the config's order."""
    out = []
    for row in summary["tables"]["bands"]["rows"]:
        if only is not None and row["submission"] != only:
            continue
        out.append((f"{row['submission']} {row['param']}",
                    a[f"{row['submission']}|{row['param']}|error"].mean(axis=0)))
    return out


def _heat(ax, m: np.ndarray, title: str, vmin: float, vmax: float, cmap: str):
    h, w = m.shape
    im = ax.imshow(100 * m, cmap=cmap, vmin=vmin, vmax=vmax,
                   extent=(-w // 2 - 0.5, w - w // 2 - 0.5, h - h // 2 - 0.5, -h // 2 - 0.5))
    ax.set_title(title, fontsize=7)
    ax.set_xlabel("horizontal frequency", fontsize=6)
    ax.tick_params(labelsize=5)
    return im


def _band_words(row: dict) -> str:
    return (f"{row['submission']} {row['param']}: low {100 * row['low_error']:.1f}%, mid "
            f"{100 * row['mid_error']:.1f}%, high {100 * row['high_error']:.1f}% error")


def fourier_heatmap(summary: dict, a: dict, folder: Path) -> list[Figure]:
    plt = _plt()
    entries = _fourier_entries(summary, a)
    if not entries:
        return []
    rows = summary["tables"]["bands"]["rows"]
    fig, axes = plt.subplots(2 if len(entries) > 1 else 1, len(entries),
                             figsize=(2.4 * len(entries), 4.6 if len(entries) > 1 else 2.4),
                             squeeze=False)
    for ax, (title, m) in zip(axes[0], entries):
        im = _heat(ax, m, title, 0, 100, "viridis")
    axes[0][0].set_ylabel("vertical frequency", fontsize=6)
    fig.colorbar(im, ax=list(axes[0]), shrink=0.8, label="error %")
    words = "; ".join(_band_words(r) for r in rows)
    caption = (f"Yin et al. 2019 Fig 1: error rate of each model under Fourier-basis noise of "
               f"L2 norm {summary['config']['eps']} at each frequency (DC at the centre), mean "
               "over seeds.")
    if len(entries) > 1:
        base = entries[0][1]
        lim = max(1.0, float(np.abs(100 * (np.stack([m for _, m in entries[1:]]) - base)).max()))
        axes[1][0].axis("off")
        axes[1][0].text(0.5, 0.5, f"second row:\nerror minus\n{entries[0][0]}", ha="center",
                        va="center", fontsize=7, transform=axes[1][0].transAxes)
        for ax, (title, m) in zip(axes[1][1:], entries[1:]):
            im2 = _heat(ax, m - base, f"{title} - {entries[0][0]}", -lim, lim, "RdBu_r")
        fig.colorbar(im2, ax=list(axes[1]), shrink=0.8, label="error difference, points")
        caption += f" Second row: the difference from {entries[0][0]} (red: more errors)."
    _save(fig, folder / "fourier.svg")
    return [Figure("fourier.svg", "Fourier heat maps", f"Band means: {words}.", caption)]


def submission_fourier(summary: dict, a: dict, submission: str, out: Path) -> Figure | None:
    """The heat map of one submission's probed model(s), for its own page."""
    entries = _fourier_entries(summary, a, submission)
    if not entries:
        return None
    plt = _plt()
    fig, axes = plt.subplots(1, len(entries), figsize=(2.6 * len(entries), 2.4), squeeze=False)
    for ax, (title, m) in zip(axes[0], entries):
        im = _heat(ax, m, title, 0, 100, "viridis")
    fig.colorbar(im, ax=list(axes[0]), shrink=0.8, label="error %")
    _save(fig, out)
    rows = [r for r in summary["tables"]["bands"]["rows"] if r["submission"] == submission]
    return Figure(out.name, "Fourier heat map",
                  "Band means: " + "; ".join(_band_words(r) for r in rows) + ".",
                  f"Error under Fourier-basis noise of L2 norm {summary['config']['eps']} at each "
                  "frequency, DC at the centre (Yin et al. 2019); the study page compares it "
                  "with the baseline.")


def preprocess(summary: dict, a: dict, folder: Path) -> list[Figure]:
    rows = summary["tables"]["codecs"]["rows"]
    plt = _plt()
    keys = (("clean_delta", "clean"), ("low_delta", "low band"), ("mid_delta", "mid band"),
            ("high_delta", "high band"), ("noise_delta", "noise"))
    fig, axes = plt.subplots(1, len(keys), figsize=(2.1 * len(keys), 2.6), sharey=True)
    words = []
    for ax, (key, title) in zip(axes, keys):
        ax.axhline(0, color="black", lw=1)
        for i, f in enumerate(FAMILY_ORDER):
            pts = sorted((r["bpp"], r[key]) for r in rows if r["family"] == f and r["bpp"] is not None)
            if not pts:
                continue
            ax.plot([p[0] for p in pts], [100 * p[1] for p in pts], marker=MARKERS[i],
                    ls=STYLES[i], label=f)
            if key == "high_delta":
                words.append(f"{f}: " + ", ".join(f"{b:.2f} bpp {100 * d:+.1f}" for b, d in pts))
        ax.set_title(title, fontsize=7)
        ax.set_xlabel("bpp of the codec's input", fontsize=6)
    axes[0].set_ylabel("accuracy change, points")
    axes[-1].legend(fontsize=6, frameon=False)
    _save(fig, folder / "preprocess.svg")
    return [Figure("preprocess.svg", "Codecs in front of the baseline classifier",
                   "High-band accuracy change against the codec's rate: " + "; ".join(words) + ".",
                   "Accuracy of the baseline classifier on codec-processed corrupted test images "
                   "minus its accuracy on the raw ones, per band, against the rate the codec "
                   "spent on them (0 = no change; seeds 002 and 004).")]


def dct_noise(summary: dict, a: dict, folder: Path) -> list[Figure]:
    rows = summary["tables"]["coefficients"]["rows"]
    plt = _plt()
    fig, ax = plt.subplots(figsize=(4.8, 3.0))
    labels = [r["setting"] for r in rows]
    x = np.arange(len(rows))
    ax.bar(x - 0.2, [100 * r["clean_acc"] for r in rows], 0.4, yerr=[100 * r["clean_std"] for r in rows],
           label="clean test", color="0.35", capsize=2)
    ax.bar(x + 0.2, [100 * r["noisy_acc"] for r in rows], 0.4, label="noisy test (training sigma)",
           color="0.75", hatch="//")
    paper = [(i, 100 * r["paper"]) for i, r in enumerate(rows) if r["paper"] is not None]
    ax.plot([p[0] for p in paper], [p[1] for p in paper], "k*", ms=8, ls="none",
            label="seed 000 (MNIST)")
    ax.set_xticks(x, labels, fontsize=7)
    ax.set_xlabel("M:sigma (28 = every coefficient)")
    ax.set_ylabel("accuracy %")
    ax.set_ylim(0, 100)
    ax.legend(fontsize=6, frameon=False, loc="lower right")
    _save(fig, folder / "dct_noise.svg")
    words = "; ".join(f"{r['setting']}: clean {100 * r['clean_acc']:.1f}%, noisy "
                      f"{100 * r['noisy_acc']:.1f}%" + (f", paper {100 * r['paper']:.1f}%"
                                                        if r["paper"] is not None else "")
                      for r in rows)
    return [Figure("dct_noise.svg", "Accuracy on the M x M DCT coefficients", words + ".",
                   "Seed 000's Conv1D on the kept coefficients, clean and with the training "
                   "noise at test time (bars: mean over seeds, whiskers one std); stars: the "
                   "paper's MNIST accuracies.")]


def band_weights(summary: dict, a: dict, folder: Path) -> list[Figure]:
    w = a["weights"][0]  # learned arm: (seeds, epochs + 1, bands)
    mean = w.mean(axis=0)
    plt = _plt()
    fig, ax = plt.subplots(figsize=(4.8, 3.0))
    for k in range(mean.shape[1]):
        ax.plot(np.arange(mean.shape[0]), mean[:, k], marker=MARKERS[k % len(MARKERS)],
                ls=STYLES[k % len(STYLES)], ms=3, label=f"band {k + 1}")
    ax.axhline(1 / mean.shape[1], color="black", lw=0.8, ls=":", label="uniform")
    ax.set_xlabel("epoch")
    ax.set_ylabel("softmax band weight")
    ax.legend(fontsize=5, frameon=False, ncol=2)
    _save(fig, folder / "band_weights.svg")
    rows = summary["tables"]["accuracy"]["rows"]
    return [Figure("band_weights.svg", "Band-weight evolution",
                   "Final weights of bands 1 to 8: " + ", ".join(f"{v:.3f}" for v in mean[-1])
                   + "; test accuracy " + ", ".join(f"{r['arm']} {100 * r['accuracy']:.2f}%"
                                                   for r in rows) + ".",
                   "Seed 001's learned softmax weights over the 8 radial DCT bands after each "
                   "epoch, mean over seeds (band 1 holds DC).")]


def reduced_models(summary: dict, a: dict, folder: Path) -> list[Figure]:
    rows = summary["tables"]["models"]["rows"]
    data = list(dict.fromkeys(r["data"] for r in rows))
    plt = _plt()
    fig, axes = plt.subplots(1, 2, figsize=(7.6, 3.0))
    words = []
    for i, d in enumerate(data):
        pts = sorted((r for r in rows if r["data"] == d), key=lambda r: r["parameters"])
        x = [r["parameters"] for r in pts]
        style = dict(marker=MARKERS[i % len(MARKERS)], ls=STYLES[i % len(STYLES)], ms=4, label=d,
                     color="black" if d == "original" else None)
        axes[0].errorbar(x, [100 * r["clean_acc"] for r in pts],
                         yerr=[100 * r["clean_acc_std"] for r in pts], capsize=2, **style)
        axes[1].plot(x, [r["change"] for r in pts], **style)
        words.append(f"{d}: " + ", ".join(f"{r['model']} {100 * r['clean_acc']:.1f}% "
                                          f"({r['change']:+.1f}%)" for r in pts))
    for ax, label in ((axes[0], "clean test accuracy %"), (axes[1], "change from the largest %")):
        ax.set_xscale("log")
        ax.set_xlabel("trainable parameters")
        ax.set_ylabel(label)
    axes[1].axhline(0, color="0.5", lw=0.8, ls=":")
    axes[0].legend(fontsize=6, frameon=False)
    _save(fig, folder / "reduced_models.svg")
    return [Figure("reduced_models.svg", "Fewer parameters, original or compressed data",
                   "; ".join(words) + ".",
                   "Thesis Fig 3.6: each model trained and tested on the original images "
                   "(black) or on BLS-compressed ones at one rate (test images compressed the "
                   "same way); left the accuracy (mean over seeds, bars one std), right its "
                   "percent change from the largest model's on the same data.")]


def _log_maps(ax_grid, maps: list[list[np.ndarray]], titles: list[list[str]]):
    """log10 magnitude heat maps on one colour scale, DC at the centre; the last image."""
    flat = np.log10(np.maximum(np.stack([m for row in maps for m in row]), 1e-6))
    lo, hi = np.percentile(flat, 1), np.percentile(flat, 99.5)
    im = None
    for axes, row, names in zip(ax_grid, maps, titles):
        for ax, m, name in zip(axes, row, names):
            im = ax.imshow(np.log10(np.maximum(m, 1e-6)), cmap="magma", vmin=lo, vmax=hi)
            ax.set_title(name, fontsize=6)
            ax.set_xticks([])
            ax.set_yticks([])
    return im


def spectral(summary: dict, a: dict, folder: Path) -> list[Figure]:
    plt = _plt()
    labels = [str(x) for x in a["setting"]]
    groups = {g: np.array([group_of(str(c)) == g for c in a["corruption"]])
              for g in ("low", "mid", "high")}
    clean = {r["setting"]: r for r in summary["tables"]["clean"]["rows"]}
    fig, axes = plt.subplots(1, len(labels), figsize=(1.3 * len(labels), 1.7), squeeze=False)
    im = _log_maps(axes, [list(a["d_map"])], [labels])
    fig.colorbar(im, ax=axes.ravel().tolist(), shrink=0.8, label="log10 |F(error)|")
    _save(fig, folder / "spectral_d.svg")
    figs = [Figure("spectral_d.svg", "D: each codec's error spectrum on clean images",
                   "; ".join(f"{s}: {clean[s]['bpp']:.2f} bpp, high-band share "
                             f"{clean[s]['d_high']:.2f}, low {clean[s]['d_low']:.2f}"
                             for s in labels) + ".",
                   "Seed 002's D = mean |F(C(x) - x)| over the clean test crops and channels, "
                   "log scale, DC at the centre (block-averaged for the picture).")]
    rows = {r["setting"]: r for r in summary["tables"]["corrupted"]["rows"]}
    for key, name, what in (("g_map", "G", "its error on the corrupted input, C(c(x)) - c(x)"),
                            ("r_map", "R", "its output against the clean image, C(c(x)) - x")):
        kept = [g for g, m in groups.items() if m.any()]
        fig, axes = plt.subplots(len(labels), len(kept), figsize=(1.4 * len(kept) + 1, 1.3 * len(labels)),
                                 squeeze=False)
        maps = [[a[key][i][groups[g]].mean(axis=0) for g in kept] for i in range(len(labels))]
        im = _log_maps(axes, maps, [[f"{s} {g}" for g in kept] for s in labels])
        fig.colorbar(im, ax=axes.ravel().tolist(), shrink=0.6, label="log10 magnitude")
        _save(fig, folder / f"spectral_{name.lower()}.svg")
        col = name.lower()
        figs.append(Figure(
            f"spectral_{name.lower()}.svg", f"{name}: {what}",
            "; ".join(f"{s}: " + ", ".join(f"{g} {rows[s][f'{col}_{g}']:.2f}" for g in kept)
                      for s in labels) + (" (G/D ratio)." if name == "G" else " (dB gained)."),
            f"Seed 002's {name}, one row per codec and rate, one column per published group "
            "of the corruptions (mean of their maps over corruptions and severities), log "
            "scale, DC at the centre."))
    return figs


def similarity(summary: dict, a: dict, folder: Path) -> list[Figure]:
    """Mintun et al.'s picture per augmentation (gain against MSD, C and C-bar marked), and
    every augmentation's gain on C against its gain on C-bar."""
    points = summary["tables"]["points"]["rows"]
    rows = summary["tables"]["augmentations"]["rows"]
    subs = [r["submission"] for r in rows]
    plt = _plt()
    cols = min(4, len(subs))
    grid = -(-len(subs) // cols)
    fig, axes = plt.subplots(grid, cols, figsize=(2.3 * cols, 2.1 * grid), squeeze=False,
                             sharey=True)
    for ax, r in zip(axes.flat, rows):
        for k, suite in enumerate(("C", "C-bar")):
            pts = [p for p in points if p["submission"] == r["submission"] and p["suite"] == suite]
            ax.scatter([p["msd"] for p in pts], [100 * p["gain"] for p in pts], s=12,
                       marker=MARKERS[k], label=suite)
        ax.axhline(0, color="black", lw=0.8)
        ax.set_title(f"{r['submission']} (rho {r['rho']:+.2f})", fontsize=7)
        ax.set_xlabel("MSD", fontsize=6)
    for ax in axes.flat[len(rows):]:
        ax.axis("off")
    axes[0][0].set_ylabel("gain over baseline, points")
    axes[0][0].legend(fontsize=6, frameon=False)
    _save(fig, folder / "msd-gain.svg")
    fig, ax = plt.subplots(figsize=(5.2, 4.0))
    marks = {"reference": "*", "compression": "o", "combination": "D", "other": "s"}
    shown = set()
    for r in rows:
        x, y = 100 * r["gain_c"], 100 * r["gain_cbar"]
        group = r.get("group", "other")  # summaries from before the groups: one kind
        ax.errorbar(x, y, xerr=[[x - 100 * r["gain_c_low"]], [100 * r["gain_c_high"] - x]],
                    yerr=[[y - 100 * r["gain_cbar_low"]], [100 * r["gain_cbar_high"] - y]],
                    fmt=marks[group], ms=7 if group == "reference" else 4, lw=0.8, capsize=2,
                    color=f"C{list(marks).index(group)}",
                    label=group if group not in shown else None)
        shown.add(group)
        ax.annotate(r["submission"], (x, y), fontsize=6, xytext=(3, 3),
                    textcoords="offset points")
    ax.axhline(0, color="black", lw=0.8)
    ax.axvline(0, color="black", lw=0.8)
    lo, hi = ax.get_xlim()
    ax.plot([lo, hi], [lo, hi], color="grey", lw=0.6, ls=":", label="as much on C-bar as on C")
    ax.legend(fontsize=6, frameon=False)
    ax.set_xlabel("gain on the common corruptions (C), points")
    ax.set_ylabel("gain on C-bar, points")
    _save(fig, folder / "c-vs-cbar.svg")
    words = "; ".join(f"{r['submission']} {100 * r['gain_c']:+.2f} on C, "
                      f"{100 * r['gain_cbar']:+.2f} on C-bar" for r in rows)
    return [Figure("msd-gain.svg", "Gain against similarity (MSD), per augmentation",
                   "Scatter plots, one per augmentation, of its gain over the baseline on each "
                   "corruption against their MSD; rank correlations: "
                   + ", ".join(f"{r['submission']} {r['rho']:+.2f}" for r in rows) + ".",
                   "One point per corruption (severities averaged), C and C-bar marked apart "
                   "(Mintun et al. 2021, Fig 2: the nearer, the larger the gain)."),
            Figure("c-vs-cbar.svg", "Gain on C against gain on C-bar",
                   f"Each augmentation's gain with 95% intervals: {words}.",
                   "BDA on validation, paired with the baseline on the same images and seeds; "
                   "above the horizontal zero line a gain survives on corruptions unlike the "
                   "common ones; below the dotted diagonal it shrinks away from C. Reference "
                   "recipes as stars, compression as circles, combinations as diamonds.")]


def budget(summary: dict, a: dict, folder: Path) -> list[Figure]:
    """Each submission's gain over the baseline at the small budget against its gain at the
    large one on the same test images, per measure (clean, C, C-bar), with both intervals."""
    config, rows = summary["config"], summary["tables"]["gains"]["rows"]
    low, high = config["low"], config["high"]
    measures = list(dict.fromkeys(r["measure"] for r in rows))
    plt = _plt()
    fig, axes = plt.subplots(1, len(measures), figsize=(3.3 * len(measures), 3.4), squeeze=False)
    for ax, measure in zip(axes[0], measures):
        mine = [r for r in rows if r["measure"] == measure]
        for k, group in enumerate(("compression", "other")):
            pts = [r for r in mine if r["group"] == group]
            for r in pts:
                x, y = 100 * r["low"], 100 * r["high"]
                ax.errorbar(x, y, xerr=[[x - 100 * r["low_low"]], [100 * r["low_high"] - x]],
                            yerr=[[y - 100 * r["high_low"]], [100 * r["high_high"] - y]],
                            fmt=MARKERS[k], ms=4, lw=0.7, capsize=2, color=f"C{k}",
                            label=group if r is pts[0] else None)
        ax.axhline(0, color="black", lw=0.8)
        ax.axvline(0, color="black", lw=0.8)
        lo, hi = ax.get_xlim()
        ax.plot([lo, hi], [lo, hi], color="grey", lw=0.6, ls=":")
        xy = [(100 * r["low"], 100 * r["high"]) for r in mine]
        ax.autoscale_view()
        for (x, y), r, (dx, dy, ha) in zip(xy, mine, label_offsets(
                ax, xy, [r["submission"] for r in mine], 5)):
            ax.annotate(r["submission"], (x, y), fontsize=5, xytext=(dx, dy), ha=ha,
                        textcoords="offset points")
        ax.set_title(f"on {measure}", fontsize=8)
        ax.set_xlabel(f"gain at {low}, points", fontsize=7)
    axes[0][0].set_ylabel(f"gain at {high}, points", fontsize=7)
    axes[0][0].legend(fontsize=6, frameon=False)
    _save(fig, folder / "gains.svg")
    flipped = [f"{r['submission']} on {r['measure']}" for r in rows if r["artefact"] == "yes"]
    return [Figure("gains.svg", f"Gain over the baseline at {low} against at {high}",
                   f"Scatter plots (clean, C, C-bar) of each submission's gain at {low} "
                   f"against its gain at {high}, on the test images both evaluated, with 95% "
                   f"intervals; conclusions at {low} that do not hold at {high}: "
                   f"{', '.join(flipped) or 'none'}.",
                   "Held-out BDA picks of each budget, paired with the baseline within a "
                   "budget; on the dotted diagonal a gain is the same at both budgets, across "
                   "a zero line its sign changed. Compression as circles, the rest as squares.")]


FIGURES: dict[str, Callable[[dict, dict, Path], list[Figure]]] = {
    "budget": budget,
    "similarity": similarity,
    "spectral": spectral,
    "reduced-models": reduced_models,
    "dct-noise": dct_noise,
    "band-weights": band_weights,
    "preprocess": preprocess,
    "compressed-training": compressed_training,
    "storage": storage,
    "fourier-heatmap": fourier_heatmap,
}


def study_figures(summary: dict, arrays: dict, folder: Path) -> list[Figure]:
    fn = FIGURES.get(summary["study"])
    return fn(summary, arrays, folder) if fn else []
