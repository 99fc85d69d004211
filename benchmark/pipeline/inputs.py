"""What a run reads, built on demand: the corrupted test and validation sets, the augmented
training sets (codecs included), and the training data's rate statistics."""
from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from corruptions import build as builder
from corruptions import files, store
from corruptions import registry as corruption_registry
from corruptions.device import cpu_count
from corruptions.errors import BenchError, DataError

from ..augment import AugmentContext, Family, get_family
from ..codecs import metrics
from ..augment.analysis import log_spectrum
from ..augment.cache import check_param, ensure_augmented, load_augmented
from ..datasets import Dataset, dataset_slug, load_dataset
from .eval_transform import clean_images, ensure_transformed
from .evaluate import EvalSplit
from .submission import RunSpec

log = logging.getLogger(__name__)


def corrupted_dir(data_root: Path, dataset: str, split: str, limit: int | None,
                  suite: str = "c") -> Path:
    """``<root>/corrupted/<dataset>-c`` (``-c-bar`` for C-bar) for the whole test split
    (what ``bench build-corruptions`` writes by default), else
    ``<dataset>-<split>-c[-n<limit>]``."""
    name = dataset_slug(dataset) + ("" if split == "test" else f"-{split}")
    name += store.SUITE_SUFFIX[suite]
    return Path(data_root) / "corrupted" / (name + (f"-n{limit}" if limit else ""))


def ensure_corrupted(ds: Dataset, data_root: Path, limit: int | None, corruptions: tuple[str, ...],
                     severities: tuple[int, ...], seed: int, device: str,
                     progress: bool) -> store.CorruptedSet:
    """The corrupted set of a split (its first ``limit`` images) with every corruption and
    severity the submission asks for (of one suite): reused when a built folder covers them,
    else extended (resumed) or rebuilt."""
    suite = corruption_registry.suite_of(corruptions)
    out = corrupted_dir(data_root, ds.name, ds.split, limit, suite)
    old = store.read_manifest(out) if out.is_dir() else None
    covers = old is not None and old.get("seed") == seed and (
        set(corruptions) <= set(old["corruptions"]) and set(severities) <= set(old["severities"]))
    if not covers:
        extend = (old is not None and old.get("seed") == seed
                  and old["severities"] == list(severities))
        wanted = list(dict.fromkeys([*(old["corruptions"] if extend else []), *corruptions]))
        log.info("building %s: %d corruptions x %d severities x %d images", out, len(wanted),
                 len(severities), len(ds))
        builder.build(ds.images, ds.labels, ds.names, out, dataset=ds.name, split=ds.split,
                      corruptions=wanted, severities=severities, seed=seed,
                      limit=limit, device=device,
                      workers=cpu_count() if device == "cpu" and len(ds) >= 1000 else 1,
                      resume=extend, progress=progress)
    cs = store.open_corrupted(out)
    if covers:  # reused as found: check every file once (a build or resume just hashed them)
        cs.verify_all()
    if len(cs.labels) != len(ds) or not np.array_equal(cs.labels, ds.labels):
        raise DataError(f"{out}: its labels are not those of {ds.name} [{ds.split}]; "
                        "remove the folder to rebuild it")
    return cs


def _head(ds: Dataset, n: int | None, split_name: str) -> Dataset:
    """The first ``n`` images, named so that cached sets of different sizes never mix."""
    if not n or n >= len(ds):
        return ds
    sub = ds.head(n)
    sub.split = f"{split_name}-n{n}"
    return sub


@dataclass(frozen=True)
class EvalSet:
    """One evaluation set as a unit reads it: the first ``limit`` images of ``split`` (all:
    None) and their corrupted set (or the same passed through a unit's parameter, with
    ``evaluation.transform``), whose manifest's sha256 names it in hashes and provenance."""

    split: str
    limit: int | None
    folder: Path
    manifest_sha256: str
    suite: str = "c"  # "cbar": CIFAR-10-C-bar, on test only

    @property
    def provenance_name(self) -> str:
        return f"corrupted-{'cbar-' if self.suite == 'cbar' else ''}{self.split}"


@dataclass(frozen=True)
class AugmentedSet:
    """One member parameter's augmented training set and its manifest (bpp, PSNR, ...).
    An online family's set is one draw per image, what one epoch sees: it describes the
    training data, while the units train on the untransformed images (``base``) and draw
    anew every epoch."""

    label: str
    folder: Path
    manifest: dict
    base: Path | None = None

    @property
    def trains_on(self) -> Path:
        return self.base or self.folder


@dataclass(frozen=True)
class TrainingData:
    """What a report says of the training data, computed once when the sets are prepared:
    the original images' size (``original_stats``), each grid entry's bpp, bytes, stored
    size, PSNR and SSIM (``data_stats``), and the mean spectra (thesis Fig 4.7)."""

    original: dict
    per_param: dict[str, dict]
    spectra: dict[str, np.ndarray]


@dataclass
class Inputs:
    """What every unit of a run reads: the training split, the augmented sets per member
    parameter, the evaluation sets; and what the report says of them."""

    train: Dataset
    augmented: dict[str, AugmentedSet]  # by member label
    eval_sets: tuple[EvalSet, ...]
    manifests: dict[str, str]  # name -> sha256 of a manifest file (provenance)
    training: TrainingData
    identity: tuple[str, ...] = ()  # corruptions that left every evaluated image unchanged
    weights: Path | None = None  # a checkpoint-only submission's file, resolved and checked
    seconds: dict[str, float] = field(default_factory=dict)
    # evaluation.transform: parameter label -> split -> its transformed evaluation set
    transformed: dict[str, dict[str, EvalSet]] = field(default_factory=dict)


def prepare_eval(dataset: str, data_root: Path, test_images: int | None,
                 validation_images: int | None, corruptions: tuple[str, ...],
                 severities: tuple[int, ...], seed: int, device: str, progress: bool,
                 cbar: tuple[str, ...] = ()) -> tuple[EvalSet, ...]:
    """The corrupted test and validation sets, built when missing, and the C-bar set of the
    test split when ``cbar`` names any (it is evaluated, never selected on).
    ``validation_images=0`` or a dataset without a validation split leaves held-out
    selection out."""
    out = []
    for split, limit in (("test", test_images), ("validation", validation_images)):
        if split == "validation" and validation_images == 0:
            continue
        try:
            ds = load_dataset(dataset, split, data_root)
        except DataError:
            if split == "validation":
                log.warning("%s has no validation split: held-out selection is skipped", dataset)
                continue
            raise
        limit = limit if limit and limit < len(ds) else None
        ds = ds.head(limit) if limit else ds
        for suite, names in (("c", corruptions), ("cbar", cbar if split == "test" else ())):
            if names:
                cs = ensure_corrupted(ds, data_root, limit, names, severities, seed, device,
                                      progress)
                out.append(EvalSet(split, limit, cs.folder,
                                   files.sha256_file(cs.folder / store.MANIFEST), suite))
    return tuple(out)


def eval_manifests(sets: tuple[EvalSet, ...]) -> dict[str, str]:
    """The provenance names of the corrupted sets' manifests."""
    return {e.provenance_name: e.manifest_sha256 for e in sets}


def identity_corruptions(corruptions: tuple[str, ...], sets: tuple[EvalSet, ...]
                         ) -> tuple[str, ...]:
    """Those of ``corruptions`` that left every image of every evaluated set holding them
    unchanged, as the corrupted sets' builder measured (``saturate`` on grey images)."""
    manifests = [store.read_manifest(e.folder) or {} for e in sets]
    found = []
    for name in corruptions:
        holding = [m for m in manifests if name in m.get("corruptions", ())]
        if holding and all(name in store.identity_corruptions(m) for m in holding):
            found.append(name)
    return tuple(sorted(found))


def transformed_manifests(label: str, sets: dict[str, EvalSet]) -> dict[str, str]:
    """The provenance names of parameter ``label``'s transformed evaluation sets' manifests."""
    return {f"transformed-{label}-{split}": t.manifest_sha256 for split, t in sets.items()}


def load_eval_splits(dataset: str, data_root: Path, sets: tuple[EvalSet, ...],
                     corruptions: tuple[str, ...], severities: tuple[int, ...]) -> list[EvalSplit]:
    """Each split's clean images and its corrupted sets (C, then C-bar on test), narrowed to
    the corruptions and severities asked for (each set was verified when it was
    prepared)."""
    out: dict[str, EvalSplit] = {}
    for e in sets:
        cs = store.open_corrupted(e.folder, verify=False)
        if e.split not in out:
            ds = load_dataset(dataset, e.split, data_root)
            ds = ds.head(e.limit) if e.limit else ds
            images = ds.images
            transformed = clean_images(cs) if cs is not None else None
            # a set through the unit's own parameter holds its clean images too
            out[e.split] = EvalSplit(e.split, images if transformed is None else transformed,
                                     ds.labels)
        if cs is not None:
            out[e.split].corrupted += (cs.narrowed(corruptions, severities),)
    return list(out.values())


def weights_path(spec: RunSpec, data_root: Path) -> Path:
    """A checkpoint-only submission's weights file, which must lie under the data root."""
    root = Path(data_root).resolve()
    path = (root / spec.weights).resolve()
    if not path.is_relative_to(root):
        raise BenchError(f"model.weights {spec.weights!r} resolves outside the data root {root}")
    if not path.is_file():
        raise DataError(f"model.weights: no such file {path}")
    return path


def training_split(spec: RunSpec, data_root: Path) -> Dataset:
    """The training images a run trains on (its first ``training.images``), named as its
    augmented sets are cached."""
    return _head(load_dataset(spec.dataset, "train", data_root), spec.train_images, "train")


def prepare(spec: RunSpec, data_root: Path, device: str, progress: bool) -> Inputs:
    """Build what is missing: corrupted test and validation sets, augmented training sets
    (codecs trained on demand), with progress bars."""
    seconds = {}
    train = training_split(spec, data_root)
    family = get_family(spec.family)
    members = list(dict.fromkeys(m for s in spec.grid for m in s.members()))
    for member in members if not spec.weights else ():  # against the images' shapes,
        check_param(family, member.values[0], train)     # before anything is built
    t0 = time.perf_counter()
    eval_sets = prepare_eval(spec.dataset, data_root, spec.test_images, spec.validation_images,
                             spec.corruptions, spec.severities, spec.corruption_seed, device,
                             progress, spec.cbar)
    manifests = eval_manifests(eval_sets)
    seconds["corrupted sets"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    augmented, weights = {}, None
    if spec.weights:  # its bytes, not its path, decide the unit (and go into provenance)
        weights = weights_path(spec, data_root)
        manifests["weights"] = files.sha256_file(weights)
    else:
        base = None
        if family.kind == "online":
            base, _ = ensure_augmented(train, get_family("none"), "-", data_root,
                                       progress=progress, device=device)
            manifests["augmented-untransformed"] = files.sha256_file(base / store.MANIFEST)
        for member in members:
            folder, manifest = ensure_augmented(train, family, member.values[0], data_root,
                                                progress=progress, device=device,
                                                codec=spec.codec)
            augmented[member.label] = AugmentedSet(member.label, folder, manifest, base)
            manifests[f"augmented-{member.label}"] = files.sha256_file(folder / store.MANIFEST)
    seconds["augmented sets (codecs included)"] = time.perf_counter() - t0
    transformed = {}
    if spec.test_transform:
        t0 = time.perf_counter()
        transformed = prepare_transformed(spec, family, eval_sets, data_root, device,
                                          progress)
        for label, sets in transformed.items():
            manifests.update(transformed_manifests(label, sets))
        seconds["evaluation sets transformed"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    training = describe_training(spec, train, augmented)
    seconds["training data described (sizes, spectra)"] = time.perf_counter() - t0
    return Inputs(train=train, augmented=augmented, eval_sets=eval_sets, manifests=manifests,
                  training=training, weights=weights, seconds=seconds, transformed=transformed,
                  identity=identity_corruptions(spec.corruptions + spec.cbar, eval_sets))


def prepare_transformed(spec: RunSpec, family: Family, eval_sets: tuple[EvalSet, ...],
                        data_root: Path, device: str, progress: bool
                        ) -> dict[str, dict[str, EvalSet]]:
    """Every evaluation set through every grid parameter of ``family`` (the spec's, resolved
    by ``prepare``) (``evaluation.transform``)."""
    ctx = AugmentContext(spec.dataset, Path(data_root), device, progress, spec.codec)
    splits = {e.split: (e, _head(load_dataset(spec.dataset, e.split, data_root), e.limit, e.split),
                        store.open_corrupted(e.folder, verify=False))
              for e in eval_sets}
    out: dict[str, dict[str, EvalSet]] = {}
    for s in spec.grid:
        out[s.label] = {}
        for split, (e, ds, cs) in splits.items():
            folder = ensure_transformed(ds, cs, family, s.values[0], spec.corruptions,
                                        spec.severities, ctx)
            out[s.label][split] = EvalSet(split, e.limit, folder,
                                          files.sha256_file(folder / store.MANIFEST))
    return out


def describe_training(spec: RunSpec, train: Dataset,
                      augmented: dict[str, AugmentedSet]) -> TrainingData:
    """The report's view of the training data, each augmented set read once (for its
    spectrum, and for its PNG size where it is no codec's output)."""
    pixels = int(np.prod(train.images.shape[1:3])) if train.fixed_size else None
    spectra = ({"original": log_spectrum(np.asarray(train.images))}
               if train.fixed_size and not spec.weights else {})
    stored = {}
    for label, a in augmented.items():
        images = None
        if "file_bpp" not in a.manifest or spectra:
            images = load_augmented(a.folder, verify=False)[0]
        stored[label] = _stored_bytes(a.manifest, pixels, images)
        if spectra:
            spectra[label] = log_spectrum(images)
    original = original_stats(train)
    return TrainingData(original, data_stats(spec, train, augmented, stored, original), spectra)


def original_stats(train: Dataset) -> dict:
    """The training images a run starts from, as stored: raw uint8 bytes and one PNG file
    each (the "original size" every relative size is measured against, seed 004)."""
    return {"images": len(train), "raw_bytes": int(sum(im.size for im in train.images)),
            "png_bytes": metrics.png_bytes(train.images)}


def data_stats(spec: RunSpec, train: Dataset, augmented: dict[str, AugmentedSet],
               stored: dict[str, float | None], original: dict) -> dict[str, dict]:
    """Per grid entry: bpp and bytes of the payload (entropy-coded bits; raw uint8 for
    families that do not compress), ``file_bytes`` as stored (``stored``, per member: a
    codec's whole files; PNG files for the others), ``relative_size`` = file_bytes over the
    original's PNG bytes, PSNR and SSIM against the originals. A union sums the bytes and
    averages the rest."""
    out = {}
    pixels = int(np.prod(train.images.shape[1:3])) if train.fixed_size else None
    for s in spec.grid:
        parts = [augmented[m.label] for m in s.members()] if augmented else []
        if not parts:
            out[s.label] = dict.fromkeys(("bpp", "bytes", "file_bytes", "relative_size", "psnr",
                                          "ssim"))
            continue
        man = [a.manifest for a in parts]
        bpp = [m["bpp"]["mean"] if "bpp" in m else 8.0 * train.channels for m in man]
        size = [b * m["n_images"] * pixels / 8 if pixels else None for b, m in zip(bpp, man)]
        sizes = [stored[m.label] for m in s.members()]
        total = int(round(sum(sizes))) if None not in sizes else None
        out[s.label] = {"bpp": float(np.mean(bpp)),
                        "bytes": int(round(sum(size))) if None not in size else None,
                        "file_bytes": total,
                        "relative_size": None if total is None else total / original["png_bytes"],
                        "psnr": float(np.mean([m["psnr"]["mean"] for m in man])),
                        "ssim": float(np.mean([m["ssim"]["mean"] for m in man]))}
    return out


def _stored_bytes(manifest: dict, pixels: int | None, images: np.ndarray | None) -> float | None:
    """A set's size on disk as a user would keep it: a codec's files (JPEG with its headers,
    a learned codec's bitstreams), else its ``images`` as PNG files."""
    if "file_bpp" in manifest:
        return manifest["file_bpp"]["mean"] * manifest["n_images"] * pixels / 8 if pixels else None
    return float(metrics.png_bytes(images))
