"""Evaluation sets passed through an augmentation parameter: a model trained *and tested*
on compressed data (thesis Fig 3.6, ``evaluation.transform`` in a submission).

Each evaluation split (its clean images and its corrupted set) goes through the family at
one parameter once, and is cached beside the augmented training sets as a corrupted set of
the ``npy`` layout with one more file, ``clean.npy``:
``<data-root>/transformed/<corrupted set>/<family>/<param>/``. The manifest records the
source set's manifest digest and the transform's provenance (a learned codec's recipe and
checkpoint), so a set made from other inputs is rebuilt, never reused. Files are written
atomically and the manifest last: a folder with a manifest is complete.
"""
from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
from tqdm import tqdm

from corruptions import files, store
from corruptions.errors import BenchError
from corruptions.rng import image_rngs
from corruptions.version import code_version

from ..augment import AugmentContext, Family
from ..codecs import metrics
from ..augment.cache import CHUNK, check_param, provenance
from ..datasets import Dataset

log = logging.getLogger(__name__)
CLEAN = "clean.npy"
FORMAT = "transformed-set/1"


def transformed_dir(data_root: Path, source: Path, family: Family, value) -> Path:
    return Path(data_root) / "transformed" / Path(source).name / family.name / family.label(value)


def _transform(images: np.ndarray, family: Family, value, stream: str, severity: int,
               ctx: AugmentContext, bar) -> tuple[np.ndarray, np.ndarray | None]:
    """The images through ``family`` at ``value`` in chunks, with the bits each one cost
    (codecs); each image's randomness keyed by its index, as in the augmented sets."""
    out = np.empty_like(images)
    bits = np.empty(len(images)) if family.is_codec else None
    for start in range(0, len(images), CHUNK):
        stop = min(start + CHUNK, len(images))
        res = family.fn(images[start:stop], value,
                        image_rngs(0, stream, severity, range(start, stop)), ctx)
        out[start:stop] = res.images
        if bits is not None:
            bits[start:stop] = res.bits
        bar.update(stop - start)
    return out, bits


def ensure_transformed(ds: Dataset, source: store.CorruptedSet, family: Family, value,
                       corruptions: tuple[str, ...], severities: tuple[int, ...],
                       ctx: AugmentContext) -> Path:
    """The split ``ds`` (clean) and its corrupted set ``source``, narrowed to ``corruptions``
    x ``severities``, through ``family`` at ``value``: reused when it was made from the same
    source set the same way and covers them, else built."""
    if not ds.fixed_size or source.layout != "npy":
        raise BenchError(f"evaluation.transform needs fixed-size images in the npy layout; "
                         f"{source.folder} holds {source.layout} files")
    check_param(family, value, ds)
    out = transformed_dir(ctx.data_root, source.folder, family, value)
    made_from = {"source": source.folder.name,
                 "source_manifest": files.sha256_file(source.folder / store.MANIFEST),
                 "family": family.name, "param": family.label(value),
                 "transform": provenance(family, value, ctx)}
    old = store.read_manifest(out) if out.is_dir() else None
    if (old is not None and {k: old.get(k) for k in made_from} == made_from
            and set(corruptions) <= set(old["corruptions"])
            and set(severities) <= set(old["severities"])
            and store.files_verify(out, old["files"])):
        log.info("reusing %s (verified)", out)
        return out
    severities = tuple(sorted(severities))
    n = len(ds)
    out.mkdir(parents=True, exist_ok=True)
    (out / store.MANIFEST).unlink(missing_ok=True)  # incomplete until the end
    written = {}
    with tqdm(total=n * (1 + len(corruptions) * len(severities)), unit="img",
              desc=f"test sets through {family.name}:{family.label(value)}",
              disable=not ctx.progress or None) as bar:
        clean, bits = _transform(np.asarray(ds.images), family, value,
                                 f"test-transform:{family.name}:clean", 0, ctx, bar)
        written[CLEAN] = files.write_bytes(out / CLEAN, files.npy_bytes(clean))
        pixels = float(np.prod(clean.shape[1:3]))
        rates = {"psnr": float(np.mean(metrics.psnr(ds.images, clean))),
                 "ssim": float(np.mean(metrics.ssim(ds.images, clean))),
                 "bpp": None if bits is None else float(np.mean(bits) / pixels)}
        for c in corruptions:
            rows = np.concatenate([
                _transform(np.array(source.images(c, s)), family, value,
                           f"test-transform:{family.name}:{c}", s, ctx, bar)[0]
                for s in severities])
            written[f"{c}.npy"] = files.write_bytes(out / f"{c}.npy", files.npy_bytes(rows))
    labels = np.tile(np.asarray(source.labels, np.int64), len(severities))
    written[store.LABELS] = files.write_bytes(out / store.LABELS, files.npy_bytes(labels))
    profiles = (source.manifest or {}).get("profiles", {})
    store.write_manifest(out, {
        "format": FORMAT, **made_from, "layout": "npy", "dataset": ds.name, "split": ds.split,
        "n_images": n, "image_shape": list(clean.shape[1:]), "corruptions": list(corruptions),
        "severities": list(severities), "clean": CLEAN, "clean_rate": rates,
        "code_version": code_version(), "files": written,
        "profiles": {c: {"band": profiles[c]["band"]} for c in corruptions if c in profiles}})
    return out


def clean_images(cs: store.CorruptedSet) -> np.ndarray | None:
    """The transformed clean images of a set built here, else None (an ordinary corrupted
    set: its clean images are the dataset's)."""
    rel = (cs.manifest or {}).get("clean")
    return None if rel is None else np.load(cs.folder / rel)
