"""Cached augmented datasets: ``<data-root>/augmented/<dataset>/<family>/<param>/``.

One folder per (dataset split, family, parameter): ``images.npy`` (N, H, W, C) uint8 (or
``images.npz``, one array per image, when sizes differ),
``labels.npy``, ``bits.npy`` (per-image payload bits, codecs only) and ``manifest.json``
with the rate and distortion statistics, bytes on disk and sha256 of every file. Built once,
verified when reused; every file is written atomically and the manifest last, so a folder
with a manifest is complete.
"""
from __future__ import annotations

import io
import logging
from pathlib import Path

import numpy as np
from tqdm import tqdm

from corruptions import files, store
from corruptions.errors import BenchError, IntegrityError
from corruptions.rng import image_rngs
from corruptions.version import code_version

from ..datasets import Dataset, dataset_slug
from ..codecs import metrics
from .registry import AugmentContext, Family

log = logging.getLogger(__name__)
CHUNK = 4096


def augmented_dir(data_root: Path, dataset: str, split: str, family: Family, value) -> Path:
    return (Path(data_root) / "augmented" / f"{dataset_slug(dataset)}-{split}" / family.name
            / family.label(value))


def _stats(values: np.ndarray) -> dict:
    return {"mean": float(np.mean(values)), "std": float(np.std(values))}


def check_param(family: Family, value, ds: Dataset) -> None:
    """The family's parameter check against every image shape of the split."""
    for shape in ds.shapes():
        family.check(value, (len(ds), *shape))


def provenance(family: Family, value, ctx: AugmentContext) -> dict:
    """What decides a cached set besides the family, parameter and images: a learned codec's
    recipe and weights, and the family's version past the first (so a fixed family's old
    sets are rebuilt, and sets of an unchanged family stay valid)."""
    found = family.provenance(value, ctx) if family.provenance else {}
    return found if family.version == 1 else {**found, "family_version": family.version}


def _images_file(images: np.ndarray | list[np.ndarray]) -> tuple[str, bytes]:
    """One array when shapes agree; else an .npz with one array per image, in order."""
    if isinstance(images, np.ndarray):
        return "images.npy", files.npy_bytes(images)
    buf = io.BytesIO()
    np.savez(buf, **{f"{i:06d}": im for i, im in enumerate(images)})
    return "images.npz", buf.getvalue()


def build_augmented(ds: Dataset, family: Family, value, out: Path, *, seed: int = 0,
                    progress: bool = True, ctx: AugmentContext | None = None) -> dict:
    """Transform a dataset split with one family parameter and cache it (images of mixed
    sizes are transformed one at a time and stored one array each)."""
    check_param(family, value, ds)
    n = len(ds)
    images: np.ndarray | list = np.empty_like(ds.images) if ds.fixed_size else [None] * n
    pixels = np.array([im.shape[0] * im.shape[1] for im in ds.images], dtype=np.float64)
    bits = np.empty(n) if family.is_codec else None
    file_bits = np.empty(n) if family.is_codec else None
    estimate = np.full(n, np.nan)
    psnr, ssim = np.empty(n), np.empty(n)
    with tqdm(total=n, unit="img", desc=f"{family.name}:{family.label(value)}",
              disable=not progress or None) as bar:
        for start, clean in ds.batches(CHUNK):
            stop = start + len(clean)
            res = family.fn(clean, value, image_rngs(seed, f"augment:{family.name}", 0,
                                                     range(start, stop)), ctx)
            if ds.fixed_size:
                images[start:stop] = res.images
            else:
                images[start] = res.images[0]
            if bits is not None:
                bits[start:stop] = res.bits
                file_bits[start:stop] = res.file_bits if res.file_bits is not None else res.bits
                if res.estimated_bits is not None:
                    estimate[start:stop] = res.estimated_bits
            psnr[start:stop] = metrics.psnr(clean, res.images)
            ssim[start:stop] = metrics.ssim(clean, res.images)
            bar.update(len(clean))
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    (out / store.MANIFEST).unlink(missing_ok=True)  # the folder is incomplete until the end
    for stale in ("images.npy", "images.npz"):
        (out / stale).unlink(missing_ok=True)
    name, data = _images_file(images)
    written = {name: files.write_bytes(out / name, data),
               "labels.npy": files.write_bytes(out / "labels.npy", files.npy_bytes(ds.labels))}
    manifest = {
        "format": "augmented-set/1", "dataset": ds.name, "split": ds.split,
        "family": family.name, "param": family.label(value), "seed": seed, "n_images": n,
        "image_shape": list(ds.images.shape[1:]) if ds.fixed_size else None,
        "code_version": code_version(), "transform": provenance(family, value, ctx) if ctx else {},
        "psnr": _stats(psnr), "ssim": _stats(ssim),
    }
    if bits is not None:
        written["bits.npy"] = files.write_bytes(out / "bits.npy", files.npy_bytes(bits))
        manifest["bpp"] = _stats(bits / pixels)  # payload: entropy-coded bits only
        manifest["file_bpp"] = _stats(file_bits / pixels)  # whole file, headers included
        if not np.isnan(estimate).any():  # learned codecs: the likelihood estimate beside it
            manifest["bpp_estimate"] = _stats(estimate / pixels)
    manifest["bytes_on_disk"] = sum((out / f).stat().st_size for f in written)
    manifest["files"] = written
    store.write_manifest(out, manifest)
    return manifest


def load_augmented(folder: Path, verify: bool = True
                   ) -> tuple[np.ndarray | list[np.ndarray], np.ndarray, dict]:
    """(images, labels, manifest) of a cached set; raises naming a damaged or missing file.
    Images come back as one array, or a list when the set holds mixed sizes."""
    folder = Path(folder)
    manifest = store.read_manifest(folder)
    if manifest is None:
        raise BenchError(f"{folder}: no augmented set here (no {store.MANIFEST})")
    for rel, digest in manifest["files"].items():
        path = folder / rel
        if not path.is_file():
            raise IntegrityError(f"{path}: missing file of the augmented set")
        if verify and files.sha256_file(path) != digest:
            raise IntegrityError(f"{path}: damaged (sha256 differs from the manifest)")
    if "images.npz" in manifest["files"]:
        arrays = files.read_npz(folder / "images.npz")
        images = [arrays[k] for k in sorted(arrays)]
    else:
        images = np.load(folder / "images.npy")
    return images, np.load(folder / "labels.npy"), manifest


def ensure_augmented(ds: Dataset, family: Family, value, data_root: Path, *, seed: int = 0,
                     progress: bool = True, device: str = "cpu",
                     codec: tuple = ()) -> tuple[Path, dict]:
    """The cached set for (ds, family, value): reused when it verifies and was made the
    same way (same seed, size and, for a learned codec, the same codec), else (re)built."""
    folder = augmented_dir(data_root, ds.name, ds.split, family, value)
    ctx = AugmentContext(ds.name, Path(data_root), device, progress, codec)
    manifest = store.read_manifest(folder) if folder.is_dir() else None
    if (manifest is not None and manifest.get("n_images") == len(ds)
            and manifest.get("seed") == seed
            and manifest.get("transform", {}) == provenance(family, value, ctx)):
        try:
            load_augmented(folder)
            log.info("reusing %s (verified)", folder)
            return folder, manifest
        except IntegrityError as e:
            log.warning("%s; rebuilding", e)
    return folder, build_augmented(ds, family, value, folder, seed=seed, progress=progress,
                                   ctx=ctx)
