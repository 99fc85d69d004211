"""Cached augmented datasets: ``<data-root>/augmented/<dataset>/<family>/<param>/``.

One folder per (dataset split, family, parameter): ``images.npy`` (N, H, W, C) uint8,
``labels.npy``, ``bits.npy`` (per-image payload bits, codecs only) and ``manifest.json``
with the rate and distortion statistics, bytes on disk and sha256 of every file. Built once,
verified when reused; every file is written atomically and the manifest last, so a folder
with a manifest is complete.
"""
from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
from tqdm import tqdm

from corruptions import store
from corruptions.rng import image_rngs

from ..datasets import Dataset, dataset_slug
from ..errors import BenchError, IntegrityError
from ..version import code_version
from . import metrics
from .registry import AugmentContext, Family

log = logging.getLogger(__name__)
CHUNK = 4096


def augmented_dir(data_root: Path, dataset: str, split: str, family: Family, value) -> Path:
    return (Path(data_root) / "augmented" / f"{dataset_slug(dataset)}-{split}" / family.name
            / family.label(value))


def _stats(values: np.ndarray) -> dict:
    return {"mean": float(np.mean(values)), "std": float(np.std(values))}


def build_augmented(ds: Dataset, family: Family, value, out: Path, *, seed: int = 0,
                    progress: bool = True, ctx: AugmentContext | None = None) -> dict:
    """Transform a (fixed-size) dataset split with one family parameter and cache it."""
    if not ds.fixed_size:
        raise BenchError(f"{ds.name}: augmented datasets need images of one size")
    family.check(value, ds.images.shape)
    n = len(ds)
    images = np.empty_like(ds.images)
    bits = np.empty(n) if family.is_codec else None
    file_bits = np.empty(n) if family.is_codec else None
    estimate = np.full(n, np.nan)
    psnr, ssim = np.empty(n), np.empty(n)
    with tqdm(total=n, unit="img", desc=f"{family.name}:{family.label(value)}",
              disable=not progress or None) as bar:
        for start in range(0, n, CHUNK):
            idx = range(start, min(n, start + CHUNK))
            clean = ds.images[start:idx.stop]
            res = family.fn(clean, value, image_rngs(seed, f"augment:{family.name}", 0, idx), ctx)
            images[start:idx.stop] = res.images
            if bits is not None:
                bits[start:idx.stop] = res.bits
                file_bits[start:idx.stop] = res.file_bits if res.file_bits is not None else res.bits
                if res.estimated_bits is not None:
                    estimate[start:idx.stop] = res.estimated_bits
            psnr[start:idx.stop] = metrics.psnr(clean, res.images)
            ssim[start:idx.stop] = metrics.ssim(clean, res.images)
            bar.update(len(idx))
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    (out / store.MANIFEST).unlink(missing_ok=True)  # the folder is incomplete until the end
    files = {"images.npy": store.write_bytes(out / "images.npy", store.npy_bytes(images)),
             "labels.npy": store.write_bytes(out / "labels.npy", store.npy_bytes(ds.labels))}
    pixels = int(np.prod(ds.images.shape[1:3]))
    manifest = {
        "format": "augmented-set/1", "dataset": ds.name, "split": ds.split,
        "family": family.name, "param": family.label(value), "seed": seed, "n_images": n,
        "image_shape": list(ds.images.shape[1:]), "code_version": code_version(),
        "psnr": _stats(psnr), "ssim": _stats(ssim),
    }
    if bits is not None:
        files["bits.npy"] = store.write_bytes(out / "bits.npy", store.npy_bytes(bits))
        manifest["bpp"] = _stats(bits / pixels)  # payload: entropy-coded bits only
        manifest["file_bpp"] = _stats(file_bits / pixels)  # whole file, headers included
        if not np.isnan(estimate).any():  # learned codecs: the likelihood estimate beside it
            manifest["bpp_estimate"] = _stats(estimate / pixels)
    manifest["bytes_on_disk"] = sum((out / f).stat().st_size for f in files)
    manifest["files"] = files
    store.write_manifest(out, manifest)
    return manifest


def load_augmented(folder: Path, verify: bool = True) -> tuple[np.ndarray, np.ndarray, dict]:
    """(images, labels, manifest) of a cached set; raises naming a damaged or missing file."""
    folder = Path(folder)
    manifest = store.read_manifest(folder)
    if manifest is None:
        raise BenchError(f"{folder}: no augmented set here (no {store.MANIFEST})")
    for rel, digest in manifest["files"].items():
        path = folder / rel
        if not path.is_file():
            raise IntegrityError(f"{path}: missing file of the augmented set")
        if verify and store.sha256_file(path) != digest:
            raise IntegrityError(f"{path}: damaged (sha256 differs from the manifest)")
    return np.load(folder / "images.npy"), np.load(folder / "labels.npy"), manifest


def ensure_augmented(ds: Dataset, family: Family, value, data_root: Path, *, seed: int = 0,
                     progress: bool = True, device: str = "cpu") -> tuple[Path, dict]:
    """The cached set for (ds, family, value): reused when it verifies, else (re)built."""
    folder = augmented_dir(data_root, ds.name, ds.split, family, value)
    ctx = AugmentContext(ds.name, Path(data_root), device, progress)
    manifest = store.read_manifest(folder) if folder.is_dir() else None
    if manifest is not None and manifest.get("n_images") == len(ds) and manifest.get("seed") == seed:
        try:
            load_augmented(folder)
            log.info("reusing %s (verified)", folder)
            return folder, manifest
        except IntegrityError as e:
            log.warning("%s; rebuilding", e)
    return folder, build_augmented(ds, family, value, folder, seed=seed, progress=progress,
                                   ctx=ctx)
