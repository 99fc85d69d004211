"""The thesis' analyses of an augmentation: rate-distortion (Table 3.1, Figure 3.2) and the
mean Fourier magnitude spectrum of the transformed data (Figure 4.7)."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from ..codecs.bjontegaard import DEFAULT_FIT, bd
from ..codecs.metrics import psnr, ssim
from ..datasets import Dataset
from .anchors import PublishedCurve
from .cache import ensure_augmented
from .registry import Family, get_family

REFERENCE = "jpeg"  # every BD number is against JPEG on the same images


def rd_rows(ds: Dataset, families: list[Family], data_root: Path, device: str = "cpu",
            progress: bool = True, codec: tuple = (),
            params: dict[str, list] | None = None) -> list[dict]:
    """One row per (family, parameter of its grid, or of ``params[family]`` when given): bpp,
    PSNR, SSIM (mean and std), and for learned codecs the likelihood-estimated bpp and the
    recipe of the codec that made it."""
    rows = []
    for family in families:
        for value in (params or {}).get(family.name) or family.grid:
            _, m = ensure_augmented(ds, family, value, data_root, device=device, progress=progress,
                                    codec=codec)
            rows.append({"family": family.name, "param": m["param"],
                         "bpp": m.get("bpp", {}).get("mean"), "bpp_std": m.get("bpp", {}).get("std"),
                         "file_bpp": m.get("file_bpp", {}).get("mean"),
                         "psnr": m["psnr"]["mean"], "psnr_std": m["psnr"]["std"],
                         "bpp_estimate": m.get("bpp_estimate", {}).get("mean"),
                         "ssim": m["ssim"]["mean"], "ssim_std": m["ssim"]["std"],
                         "codec": m.get("transform", {}).get("codec")})
    return rows


def jpeg_curve(images: np.ndarray) -> list[dict]:
    """JPEG at its grid on the same images: the reference of every BD number (the codec
    zoo's ``reference``)."""
    family = get_family("jpeg")
    pixels = images.shape[1] * images.shape[2]
    out = []
    for q in family.grid:
        res = family.fn(images, q, None)
        out.append({"quality": q, "bpp": float(np.mean(res.bits / pixels)),
                    "psnr": float(np.mean(psnr(images, res.images))),
                    "ssim": float(np.mean(ssim(images, res.images)))})
    return out


def rd_curves(rows: list[dict]) -> dict[str, tuple[list[float], list[float]]]:
    """family -> (bpp, PSNR) of the rows that have a rate."""
    out: dict[str, tuple[list[float], list[float]]] = {}
    for r in rows:
        if r["bpp"] is not None:
            out.setdefault(r["family"], ([], []))
            out[r["family"]][0].append(r["bpp"])
            out[r["family"]][1].append(r["psnr"])
    return out


def bd_summary(rows: list[dict], published: tuple[PublishedCurve, ...] = (),
               fit: str = DEFAULT_FIT) -> dict[str, dict]:
    """BD-PSNR and BD-rate of every measured family and published curve against the JPEG
    rows (same images); the published curves against the same-named family too."""
    curves = rd_curves(rows)
    if REFERENCE not in curves:
        return {}
    ref = curves[REFERENCE]
    out = {name: bd(*ref, *c, fit=fit).as_dict() for name, c in curves.items() if name != REFERENCE}
    for p in published:
        out[p.name] = {**bd(*ref, p.bpp, p.psnr, fit=fit).as_dict(), "source": p.source}
        if p.family in curves:  # ours against the published codec of the same family
            out[f"{p.family} vs {p.name}"] = bd(p.bpp, p.psnr, *curves[p.family], fit=fit).as_dict()
    return out


def plot_rd(rows: list[dict], title: str, path: Path, published: tuple[PublishedCurve, ...] = (),
            bd_table: dict[str, dict] | None = None) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(10, 4))
    for family in dict.fromkeys(r["family"] for r in rows):
        pts = sorted((r for r in rows if r["family"] == family and r["bpp"] is not None),
                     key=lambda r: r["bpp"])
        if not pts:
            continue
        for ax, key in zip(axes, ("psnr", "ssim")):
            bdr = (bd_table or {}).get(family, {}).get("bd_psnr_db")
            label = family if bdr is None else f"{family} (BD {bdr:+.2f} dB vs jpeg)"
            ax.errorbar([r["bpp"] for r in pts], [r[key] for r in pts],
                        yerr=[r[f"{key}_std"] for r in pts], marker="o", capsize=3, label=label)
    for p in published:
        bdr = (bd_table or {}).get(p.name, {}).get("bd_psnr_db")
        axes[0].plot(p.bpp, p.psnr, "--", marker="x", alpha=0.7,
                     label=f"{p.name}, published{'' if bdr is None else f' (BD {bdr:+.2f} dB)'}")
    if published:
        axes[0].annotate(f"published: {published[0].source}", (0.01, 0.01),
                         xycoords="figure fraction", fontsize=6)
    for ax, label in zip(axes, ("PSNR (dB)", "SSIM")):
        ax.set_xlabel("bits per pixel (payload)")
        ax.set_ylabel(label)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
    fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path, dpi=100, format="png")
    plt.close(fig)


def log_spectrum(images: np.ndarray, batch: int = 4096) -> np.ndarray:
    """Mean over images of log(1 + |DFT2|) of each image's grey level (mean over channels,
    pixels in [0, 1]), centred (DC in the middle). Unnormalised, so two sets' spectra can be
    subtracted (thesis Fig 4.7 shows augmented minus original)."""
    total = np.zeros(images.shape[1:3])
    for i in range(0, len(images), batch):
        x = images[i:i + batch].astype(np.float64).mean(axis=-1) / 255
        mag = np.abs(np.fft.fftshift(np.fft.fft2(x, axes=(1, 2)), axes=(1, 2)))
        total += np.log1p(mag).sum(axis=0)
    return total / len(images)


def mean_log_spectrum(images: np.ndarray) -> np.ndarray:
    """``log_spectrum`` normalised to [0, 1], for a picture of one set."""
    s = log_spectrum(images)
    return (s - s.min()) / max(s.max() - s.min(), 1e-12)


def plot_spectrum(spectrum: np.ndarray, title: str, path: Path) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(4, 4))
    im = ax.imshow(spectrum, cmap="viridis", vmin=0, vmax=1)
    ax.set_title(title, fontsize=9)
    ax.set_xticks([])
    ax.set_yticks([])
    fig.colorbar(im, fraction=0.046)
    fig.tight_layout()
    fig.savefig(path, dpi=100, format="png")
    plt.close(fig)
