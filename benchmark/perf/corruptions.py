"""``bench perf corruptions``: this engine against imagecorruptions, measured in one run.

Part 1: the 15 common corruptions x 5 severities on the same centre crops of the Kodak
images (the skimage photographs when Kodak is absent), once through the engine as
``build-corruptions`` runs it (chunks over a pool of ``workers`` processes, one torch thread
each) and once through imagecorruptions' per-image loop (one process, as its users run it).

Part 2: the wall time of the full Fashion-MNIST-C build (10k test images x 19 x 5) against
the same per-image reference loop timed on a sample of those images padded to 32 px (the
reference refuses smaller images), extrapolated to the full volume on one core.

``--set cbar``: the full Fashion-MNIST-C-bar build (10k x 10 x 5) against its target of
60 s on 2 CPU cores, and each corruption's images per second on a sample, run as the
builder runs it. Its reference code is no package (an oracle outside the repository), so
no ratio against it is measured here.
"""
from __future__ import annotations

import argparse
import json
import logging
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
from tqdm import tqdm

import corruptions as C
from corruptions import build as builder
from corruptions import reference
from corruptions.device import cpu_count, resolve_device
from corruptions.errors import DataError

from ..datasets import load_dataset

log = logging.getLogger(__name__)


def centre_crops(data_root: str | None, size: int) -> tuple[np.ndarray, str]:
    try:
        ds = load_dataset("kodak", "all", data_root)
    except DataError:
        log.info("Kodak not found under the data root; using the skimage photographs")
        ds = load_dataset("skimage", "all", data_root)
    crops = []
    for img in ds.images:
        h, w = img.shape[:2]
        if min(h, w) >= size:
            top, left = (h - size) // 2, (w - size) // 2
            crops.append(img[top:top + size, left:left + size])
    return np.stack(crops), ds.name


MIN_SECONDS = 1.0  # fast corruptions are repeated until a measurement lasts this long


def _seconds_per_pass(fn) -> float:
    passes, start = 0, time.perf_counter()
    while True:
        fn()
        passes += 1
        elapsed = time.perf_counter() - start
        if elapsed >= MIN_SECONDS:
            return elapsed / passes


def time_engine(images: np.ndarray, names: list[str], workers: int,
                device: str = "cpu") -> dict[str, float]:
    """Seconds per corruption (all 5 severities), run as the builder runs it."""
    seconds = {}
    with builder.corrupter(images, scale="imagenet", workers=workers, device=device) as corrupt:
        for name in tqdm(names, desc="engine", unit="corruption", disable=None):
            corrupt(name)  # warm-up: caches, lazy imports
            seconds[name] = _seconds_per_pass(lambda: corrupt(name))
    return seconds


def time_reference(images: np.ndarray, names: list[str]) -> dict[str, float]:
    """Seconds per corruption for imagecorruptions' per-image loop (scaled up when sampled)."""
    package = reference.load()
    np.random.seed(0)
    seconds = {}
    for name in tqdm(names, desc="reference", unit="corruption", disable=None):
        def one_pass():
            for s in C.SEVERITIES:
                for img in images:
                    package.corrupt(img, severity=s, corruption_name=name)

        for s in C.SEVERITIES:  # warm-up, as for the engine
            package.corrupt(images[0], severity=s, corruption_name=name)

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            seconds[name] = _seconds_per_pass(one_pass)
    return seconds


def _pad32(images: np.ndarray) -> np.ndarray:
    rgb = np.repeat(images, 3, axis=-1) if images.shape[-1] == 1 else images
    h, w = rgb.shape[1:3]
    return np.pad(rgb, ((0, 0), (0, max(0, 32 - h)), (0, max(0, 32 - w)), (0, 0)), mode="edge")


def _timed_build(ds, names: list[str], workers: int, device: str) -> tuple[float, int]:
    """Seconds to build ``names`` on the whole split as ``bench build-corruptions`` does (into
    a folder thrown away after), and the corrupted images that made."""
    with tempfile.TemporaryDirectory(prefix="fmnist-c-") as tmp:
        start = time.perf_counter()
        builder.build(ds.images, ds.labels, ds.names, Path(tmp), dataset="fashion-mnist",
                      split="test", corruptions=names, workers=workers, device=device)
        wall = time.perf_counter() - start
    return wall, len(ds) * len(names) * len(C.SEVERITIES)


def full_build(data_root: str | None, workers: int, device: str = "cpu") -> dict:
    ds = load_dataset("fashion-mnist", "test", data_root)
    names = C.names("all")
    wall, volume = _timed_build(ds, names, workers, device)
    sample = _pad32(ds.images[:8])
    ref = time_reference(sample, names)
    ref_rate = len(sample) * len(names) * len(C.SEVERITIES) / sum(ref.values())
    return {"images": volume, "workers": workers, "wall_s": round(wall, 2),
            "img_per_s": round(volume / wall, 1),
            "reference_img_per_s_one_core": round(ref_rate, 1),
            "reference_wall_s_extrapolated": round(volume / ref_rate, 1),
            "ratio": round(volume / wall / ref_rate, 2)}


CBAR_TARGET_S = 60.0
CBAR_SAMPLE = 2000


def cbar_build(data_root: str | None, workers: int, device: str = "cpu") -> dict:
    """The full C-bar build of the Fashion-MNIST test split, and per corruption its rate on
    the first ``CBAR_SAMPLE`` images (pool warm, caches filled)."""
    ds = load_dataset("fashion-mnist", "test", data_root)
    names = C.names("cbar")
    sample = np.ascontiguousarray(ds.images[:CBAR_SAMPLE])
    rates = {}
    with builder.corrupter(sample, scale="cifar", workers=workers, device=device) as corrupt:
        for name in tqdm(names, desc="per corruption", unit="corruption", disable=None):
            corrupt(name)
            rates[name] = round(len(sample) * len(C.SEVERITIES) / _seconds_per_pass(
                lambda: corrupt(name)), 1)
    wall, volume = _timed_build(ds, names, workers, device)
    return {"images": volume, "workers": workers, "device": device, "wall_s": round(wall, 2),
            "img_per_s": round(volume / wall, 1), "target_s": CBAR_TARGET_S,
            "target_over_wall": round(CBAR_TARGET_S / wall, 2),
            "sample_img_per_s": rates}


def format_cbar(r: dict) -> str:
    lines = [f"Fashion-MNIST-C-bar build: {r['images']} images (10k x 10 x 5) in "
             f"{r['wall_s']:.1f} s ({r['img_per_s']:.0f} img/s, {r['workers']} worker(s) on "
             f"{r['device']}); target {r['target_s']:.0f} s: target / wall = {r['target_over_wall']:.2f}",
             f"{'corruption':<32} {'img/s':>9}   (first {CBAR_SAMPLE} images, 5 severities)"]
    lines += [f"{name:<32} {rate:>9.1f}" for name, rate in r["sample_img_per_s"].items()]
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    device = resolve_device(args.device)
    workers = cpu_count() if device == "cpu" else 1  # on CUDA the engine runs in-process
    if args.set == "cbar":
        result = cbar_build(args.data_root, workers, device)
        print(json.dumps(result, indent=1) if args.json else format_cbar(result))
        return 0
    images, source = centre_crops(args.data_root, args.size)
    names = C.names("common")
    log.info("engine: %d crops of %d px from %s, %s, %d workers", len(images), args.size,
             source, device, workers)
    engine_s = time_engine(images, names, workers, device)
    log.info("reference: imagecorruptions per-image loop (glass_blur is slow: minutes)")
    ref_s = time_reference(images, names)
    n = len(images) * len(C.SEVERITIES)
    rows = {name: {"engine_img_per_s": round(n / engine_s[name], 1),
                   "reference_img_per_s": round(n / ref_s[name], 1),
                   "ratio": round(ref_s[name] / engine_s[name], 2)} for name in names}
    total_e, total_r = sum(engine_s.values()), sum(ref_s.values())
    result = {
        "crops": {"source": source, "count": len(images), "size": args.size},
        "workers": workers,
        "device": device,
        "per_corruption": rows,
        "overall": {"engine_img_per_s": round(n * len(names) / total_e, 1),
                    "reference_img_per_s": round(n * len(names) / total_r, 1),
                    "ratio": round(total_r / total_e, 2),
                    "min_ratio": min(r["ratio"] for r in rows.values())},
    }
    if not args.skip_build:
        log.info("full Fashion-MNIST-C build (950k images)...")
        result["fashion_mnist_c_build"] = full_build(args.data_root, workers, device)
    print(json.dumps(result, indent=1) if args.json else format_result(result))
    return 0


def format_result(r: dict) -> str:
    lines = [f"crops: {r['crops']['count']} x {r['crops']['size']} px from {r['crops']['source']}, "
             f"15 common corruptions x 5 severities; engine on {r.get('device', 'cpu')}, "
             f"{r['workers']} worker(s)",
             f"{'corruption':<18} {'engine img/s':>13} {'reference img/s':>16} {'ratio':>7}"]
    for name, row in r["per_corruption"].items():
        lines.append(f"{name:<18} {row['engine_img_per_s']:>13.1f} "
                     f"{row['reference_img_per_s']:>16.1f} {row['ratio']:>7.2f}")
    o = r["overall"]
    lines.append(f"{'overall':<18} {o['engine_img_per_s']:>13.1f} {o['reference_img_per_s']:>16.1f} "
                 f"{o['ratio']:>7.2f}   (min per corruption {o['min_ratio']:.2f}; "
                 "targets >= 10 overall, >= 3 each)")
    b = r.get("fashion_mnist_c_build")
    if b:
        lines.append(f"full Fashion-MNIST-C build: {b['images']} images in {b['wall_s']:.1f} s "
                     f"({b['img_per_s']:.0f} img/s, {b['workers']} workers); reference per-image "
                     f"loop {b['reference_img_per_s_one_core']:.0f} img/s on one core "
                     f"(~{b['reference_wall_s_extrapolated']:.0f} s); ratio {b['ratio']:.1f} "
                     "(target 10x the official code's ~700 img/s, under 180 s)")
    return "\n".join(lines)
