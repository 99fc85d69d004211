"""Datasets behind one small API: uint8 NHWC images, int64 labels, deterministic splits.

Every loader returns a :class:`Dataset`; every failure a user can cause (unknown name or
split, missing or damaged files, a download that cannot happen offline) is a
:class:`~corruptions.errors.DataError` whose one-line message names the path involved, so the
CLI can print it and exit 2. New datasets register themselves the way timm registers models::

    @register_dataset("my-set")
    def my_set(split: str, root: Path) -> Dataset:
        ...

Split rules, fixed so that numbers from different runs and machines compare:

* ``fashion-mnist``, ``mnist``, ``cifar10``, ``cifar100``: validation is 5000 images of the
  official train set picked by ``np.random.default_rng(0).permutation``; train is the rest;
  test is the official test set; ``all`` is official train then official test. All kept in
  ascending index order. Names are ``train-000123`` / ``test-000123`` (the official index),
  so a name never changes with the split and never collides across splits.
* ``kodak``: train kodim01-10, validation kodim11-12, test kodim13-24.
* ``skimage``: train astronaut, chelsea, coffee, ihc; validation motorcycle_left; test
  motorcycle_right.
* ``photos`` (learned-codec rate-distortion): train kodim01-12 and all six scikit-image
  photos, test kodim13-24, no validation.
* ``imagefolder:PATH``: ``train/``, ``val/`` or ``validation/``, ``test/`` sub-folders if
  present, else a seeded 80/10/10 split within each class.
"""
from __future__ import annotations

import gzip
import logging
import os
import socket
import struct
import zlib
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from corruptions.errors import DataError
from corruptions.registries import Registry

log = logging.getLogger(__name__)

SPLITS = ("train", "validation", "test", "all")
VALIDATION_SIZE = 5000
# Seconds a torchvision download may stall on one socket operation: a firewalled machine
# must fail with a clear error instead of hanging.
DOWNLOAD_TIMEOUT_S = 30.0
FASHION_MNIST_DIR = Path("/usr/share/datasets/fashion-mnist")
IMAGE_EXTENSIONS = {".png", ".jpg", ".jpeg", ".bmp", ".ppm", ".tif", ".tiff"}
# torchvision's FashionMNIST.classes (a test checks they agree), spelled out so the default
# dataset loads without the two-second torchvision import.
FASHION_MNIST_CLASSES = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal",
                         "Shirt", "Sneaker", "Bag", "Ankle boot"]

Loader = Callable[[str, Path], "Dataset"]
REGISTRY: Registry[Loader] = Registry("dataset", error=DataError)


def dataset_slug(spec: str) -> str:
    """A dataset spec as a folder name (``imagefolder:/a/b`` -> ``a_b``)."""
    return spec.replace("imagefolder:", "").strip("/").replace("/", "_") or "imagefolder"


@dataclass
class Dataset:
    """Images with labels: an (N,H,W,C) uint8 array when shapes agree, else a list."""

    name: str
    split: str
    images: np.ndarray | list[np.ndarray]
    labels: np.ndarray
    names: list[str]
    classes: list[str]

    def __post_init__(self) -> None:
        self.labels = np.asarray(self.labels, dtype=np.int64)
        if not len(self.images) == len(self.labels) == len(self.names):
            raise ValueError(f"{self.name}/{self.split}: {len(self.images)} images, "
                             f"{len(self.labels)} labels, {len(self.names)} names")

    def __len__(self) -> int:
        return len(self.labels)

    @property
    def fixed_size(self) -> bool:
        return isinstance(self.images, np.ndarray)

    @property
    def channels(self) -> int:
        first = self.images if self.fixed_size else self.images[0]
        return int(first.shape[-1])

    def subset(self, indices: Sequence[int] | np.ndarray) -> Dataset:
        """The chosen images in the given order; restacked if their shapes now agree."""
        idx = np.asarray(indices, dtype=np.int64).reshape(-1)
        images = (self.images[idx] if self.fixed_size
                  else _stack_if_uniform([self.images[i] for i in idx]))
        return Dataset(self.name, self.split, images, self.labels[idx],
                       [self.names[i] for i in idx], self.classes)

    def batches(self, size: int) -> Iterator[tuple[int, np.ndarray]]:
        """(first index, images) in order, each batch of one shape: chunks of ``size`` when
        the images agree in shape, else one image at a time."""
        if self.fixed_size:
            for start in range(0, len(self), size):
                yield start, self.images[start:start + size]
        else:
            for i, image in enumerate(self.images):
                yield i, image[None]

    def shapes(self) -> list[tuple[int, ...]]:
        """The distinct image shapes, in order of first appearance."""
        if self.fixed_size:
            return [tuple(self.images.shape[1:])]
        return list(dict.fromkeys(im.shape for im in self.images))

    def head(self, n: int) -> Dataset:
        """The first ``n`` images (``--limit N``)."""
        return self.subset(np.arange(min(max(n, 0), len(self))))


def register_dataset(name: str, *, override: bool = False) -> Callable[[Loader], Loader]:
    """Make ``load_dataset(name)`` call ``fn(split, data_root)``."""
    return REGISTRY.decorator(name, lambda fn: fn, override=override)


def dataset_names() -> list[str]:
    return sorted(REGISTRY)


def resolve_data_root(data_root: str | Path | None = None) -> Path:
    """The explicit argument, else ``$BENCH_DATA``, else ``./data``."""
    if data_root is None:
        data_root = os.environ.get("BENCH_DATA") or "data"
    return Path(data_root).expanduser()


# What the benchmark itself writes under a data root (corrupted sets, augmented sets, trained
# codecs, transformed test sets); everything else there (Kodak, downloaded CIFAR, a
# submission's weights) was given to it and cannot be rebuilt.
BUILT_FOLDERS = ("augmented", "codecs", "corrupted", "transformed")


def link_sources(data_root: Path, into: Path) -> list[str]:
    """Link every given (not built) entry of ``data_root`` into the fresh data root ``into``:
    a rerun from scratch rebuilds what the benchmark builds, but a fresh machine is given
    the source datasets as this one was. Idempotent (a resumed scratch keeps its links)."""
    into = Path(into)
    into.mkdir(parents=True, exist_ok=True)
    linked = []
    if not Path(data_root).is_dir():
        return linked
    for entry in sorted(Path(data_root).iterdir()):
        target = into / entry.name
        if entry.name in BUILT_FOLDERS or target.exists() or target.is_symlink():
            continue
        target.symlink_to(entry.resolve(), target_is_directory=entry.is_dir())
        linked.append(entry.name)
    return linked


def load_dataset(spec: str, split: str = "test", data_root: str | Path | None = None) -> Dataset:
    """Load a registered dataset or ``imagefolder:PATH``; the split is checked first so a
    typo fails before any slow read."""
    if split not in SPLITS:
        raise DataError(f"unknown split {split!r}; known: {', '.join(SPLITS)}")
    if spec.startswith("imagefolder:"):
        path = spec.partition(":")[2]
        if not path:
            raise DataError("imagefolder needs a path: imagefolder:PATH")
        ds = _load_imagefolder(Path(path).expanduser(), split)
    elif spec in REGISTRY:
        ds = REGISTRY.get(spec)(split, resolve_data_root(data_root))
    else:
        raise DataError(f"unknown dataset {spec!r}; known: {', '.join(dataset_names())}, "
                        "or imagefolder:PATH")
    log.debug("loaded %s/%s: %d images", ds.name, ds.split, len(ds))
    return ds


# ---------------------------------------------------------------------------- helpers


def _stack_if_uniform(images: list[np.ndarray]) -> np.ndarray | list[np.ndarray]:
    if images and all(im.shape == images[0].shape for im in images):
        return np.stack(images)
    return images


def _read_image(path: Path, mode: str | None = "RGB") -> np.ndarray:
    """Decode one file to (H,W,C) uint8; ``mode=None`` keeps grey files grey."""
    try:
        with Image.open(path) as im:
            if mode is None:
                mode = "L" if im.mode in ("1", "L", "LA") else "RGB"
            arr = np.array(im.convert(mode), dtype=np.uint8)
    except (OSError, ValueError) as e:
        raise DataError(f"cannot read image {path}: {e}") from e
    return arr[..., None] if arr.ndim == 2 else arr


def _one_line(e: BaseException) -> str:
    text = " ".join(str(e).split()) or type(e).__name__
    return text if len(text) <= 200 else text[:197] + "..."


@contextmanager
def _socket_timeout(seconds: float) -> Iterator[None]:
    """torchvision's urlopen has no timeout of its own; bound it only while we download."""
    old = socket.getdefaulttimeout()
    socket.setdefaulttimeout(seconds)
    try:
        yield
    finally:
        socket.setdefaulttimeout(old)


def _torchvision(cls_name: str, root: Path, train: bool, folder: str,
                 also: Path | None = None):
    """A torchvision dataset from ``root``: local files first, then one download attempt.

    ``also`` is a place already looked in, named in the error so the user sees both."""
    import torchvision.datasets as tvd

    cls = getattr(tvd, cls_name)
    try:
        return cls(root=str(root), train=train, download=False)
    except Exception as local:  # not found, or damaged: a download may repair it
        log.debug("%s not usable under %s (%s); trying to download", cls_name, root / folder,
                 _one_line(local))
    try:
        with _socket_timeout(DOWNLOAD_TIMEOUT_S):
            return cls(root=str(root), train=train, download=True)
    except Exception as e:
        where = " or ".join(str(p) for p in (also, root / folder) if p)
        raise DataError(f"{cls_name} not found in {where}, and the download failed: "
                        f"{_one_line(e)}") from e


def _official_splits(name: str, split: str, classes: list[str],
                     read: Callable[[bool], tuple[np.ndarray, np.ndarray]]) -> Dataset:
    """Carve train/validation out of the official train set; see the module docstring."""
    def part(train: bool) -> tuple[np.ndarray, np.ndarray, list[str]]:
        x, y = read(train)
        prefix = "train" if train else "test"
        return x, y, [f"{prefix}-{i:06d}" for i in range(len(y))]

    if split == "test":
        return Dataset(name, split, *part(False), classes)
    x, y, names = part(True)
    if split == "all":
        xt, yt, nt = part(False)
        return Dataset(name, split, np.concatenate([x, xt]), np.concatenate([y, yt]),
                       names + nt, classes)
    val = np.sort(np.random.default_rng(0).permutation(len(y))[:VALIDATION_SIZE])
    idx = val if split == "validation" else np.setdiff1d(np.arange(len(y)), val)
    return Dataset(name, split, x[idx], y[idx], [names[i] for i in idx], classes)


def _tv_arrays(ds) -> tuple[np.ndarray, np.ndarray]:
    x = np.asarray(ds.data, dtype=np.uint8)
    return (x[..., None] if x.ndim == 3 else x), np.asarray(ds.targets, dtype=np.int64)


# ------------------------------------------------------------------------ MNIST family


def _read_idx(path: Path, ndim: int) -> np.ndarray:
    """An idx file of uint8 (the MNIST format): magic 0x0000 08 <ndim>, big-endian dims."""
    try:
        with gzip.open(path, "rb") as f:
            raw = f.read()
    except (OSError, EOFError) as e:
        raise DataError(f"cannot read {path}: {_one_line(e)}") from e
    head = 4 + 4 * ndim
    if len(raw) < head or raw[:4] != bytes((0, 0, 0x08, ndim)):
        raise DataError(f"{path} is not a uint8 idx file with {ndim} dimensions "
                        f"(magic {raw[:4].hex() or 'missing'})")
    shape = struct.unpack(f">{ndim}I", raw[4:head])
    if len(raw) - head != int(np.prod(shape)):
        raise DataError(f"{path} is truncated or damaged: header says {shape}, "
                        f"{len(raw) - head} bytes of data")
    return np.frombuffer(raw, np.uint8, offset=head).reshape(shape).copy()


def _fashion_mnist_debian(train: bool) -> tuple[np.ndarray, np.ndarray]:
    prefix = "train" if train else "t10k"
    img_path = FASHION_MNIST_DIR / f"{prefix}-images-idx3-ubyte.gz"
    lab_path = FASHION_MNIST_DIR / f"{prefix}-labels-idx1-ubyte.gz"
    x, y = _read_idx(img_path, 3), _read_idx(lab_path, 1)
    if x.shape[1:] != (28, 28) or len(x) != len(y) or y.max(initial=0) > 9:
        raise DataError(f"{img_path} / {lab_path} do not hold matching 28x28 images and "
                        f"labels 0..9: {x.shape} images, {y.shape} labels")
    return x[..., None], y.astype(np.int64)


@register_dataset("fashion-mnist")
def fashion_mnist(split: str, root: Path) -> Dataset:
    """Debian's dataset-fashion-mnist if installed, else torchvision's copy under ``root``."""
    names = ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz",
             "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz")
    if all((FASHION_MNIST_DIR / n).is_file() for n in names):
        read = _fashion_mnist_debian
    else:
        def read(train: bool) -> tuple[np.ndarray, np.ndarray]:
            return _tv_arrays(_torchvision("FashionMNIST", root, train, "FashionMNIST/raw",
                                           also=FASHION_MNIST_DIR))
    return _official_splits("fashion-mnist", split, list(FASHION_MNIST_CLASSES), read)


@register_dataset("mnist")
def mnist(split: str, root: Path) -> Dataset:
    import torchvision.datasets as tvd

    return _official_splits("mnist", split, list(tvd.MNIST.classes), lambda train: _tv_arrays(
        _torchvision("MNIST", root, train, "MNIST/raw")))


def _cifar(name: str, cls_name: str, folder: str, split: str, root: Path) -> Dataset:
    classes: list[str] = []

    def read(train: bool) -> tuple[np.ndarray, np.ndarray]:
        ds = _torchvision(cls_name, root, train, folder)
        classes[:] = ds.classes  # read from the files' own meta data
        return _tv_arrays(ds)

    return _official_splits(name, split, classes, read)


@register_dataset("cifar10")
def cifar10(split: str, root: Path) -> Dataset:
    return _cifar("cifar10", "CIFAR10", "cifar-10-batches-py", split, root)


@register_dataset("cifar100")
def cifar100(split: str, root: Path) -> Dataset:
    return _cifar("cifar100", "CIFAR100", "cifar-100-python", split, root)


# --------------------------------------------------------------- named photo collections


def _named_files(name: str, split: str, folder: Path, files: list[str],
                 splits: dict[str, list[str]]) -> Dataset:
    """A fixed list of photos: the label of a photo is its index in the whole collection."""
    stems = [Path(f).stem for f in files]
    chosen = list(range(len(files))) if split == "all" else [stems.index(s) for s in splits[split]]
    if not folder.is_dir():
        raise DataError(f"{name}: folder not found: {folder} (expected {files[0]} ... {files[-1]})")
    missing = [files[i] for i in chosen if not (folder / files[i]).is_file()]
    if missing:
        raise DataError(f"{name}: {len(missing)} file(s) missing in {folder}: {', '.join(missing)}")
    images = [_read_image(folder / files[i]) for i in chosen]
    return Dataset(name, split, _stack_if_uniform(images), np.array(chosen, dtype=np.int64),
                   [stems[i] for i in chosen], stems)


@register_dataset("kodak")
def kodak(split: str, root: Path) -> Dataset:
    stems = [f"kodim{i:02d}" for i in range(1, 25)]
    splits = {"train": stems[:10], "validation": stems[10:12], "test": stems[12:]}
    return _named_files("kodak", split, root / "kodak", [f"{s}.png" for s in stems], splits)


SKIMAGE_PHOTOS = ["astronaut", "chelsea", "coffee", "ihc", "motorcycle_left", "motorcycle_right"]


@register_dataset("skimage")
def skimage_photos(split: str, root: Path) -> Dataset:
    """The lossless colour photographs inside scikit-image's package; read from its folder
    because ``skimage.data`` functions may try to download."""
    import skimage.data

    stems = SKIMAGE_PHOTOS
    splits = {"train": stems[:4], "validation": ["motorcycle_left"], "test": ["motorcycle_right"]}
    folder = Path(os.path.dirname(skimage.data.__file__))
    return _named_files("skimage", split, folder, [f"{s}.png" for s in stems], splits)


@register_dataset("photos")
def photos(split: str, root: Path) -> Dataset:
    """Natural photographs for learned-codec rate-distortion: codecs train on kodim01-12 and
    the six scikit-image photos, and are measured on kodim13-24 (Kodak's test split). No
    classifier is trained here, so there is no validation split."""
    if split == "validation":
        raise DataError("photos has no validation split (train: kodim01-12 + the scikit-image "
                        "photos; test: kodim13-24)")
    if split == "test":
        parts = [kodak("test", root)]
    else:
        parts = [kodak("train", root), kodak("validation", root), skimage_photos("all", root)]
        if split == "all":
            parts.append(kodak("test", root))
    images = [im for p in parts for im in p.images]
    names = [f"{p.name}-{n}" for p in parts for n in p.names]
    # a photo's label is its place in the whole collection, whatever the split
    everything = ([f"kodak-kodim{i:02d}" for i in range(1, 13)]
                  + [f"skimage-{n}" for n in SKIMAGE_PHOTOS]
                  + [f"kodak-kodim{i:02d}" for i in range(13, 25)])
    return Dataset("photos", split, _stack_if_uniform(images),
                   np.array([everything.index(n) for n in names]), names, everything)


# ----------------------------------------------------------------------- image folders

_SPLIT_DIRS = {"train": ("train",), "validation": ("validation", "val"), "test": ("test",)}


def _subdirs(path: Path) -> list[Path]:
    return sorted(p for p in path.iterdir() if p.is_dir() and not p.name.startswith("."))


def _image_files(path: Path) -> list[Path]:
    return sorted(p for p in path.iterdir()
                  if p.is_file() and p.suffix.lower() in IMAGE_EXTENSIONS)


def _holdout(n: int, seed: int, split: str) -> np.ndarray:
    """80/10/10 of one class's files (at least one each held out once a class has 3)."""
    if split == "all":
        return np.arange(n)
    k = max(1, (n + 5) // 10) if n >= 3 else 0
    perm = np.random.default_rng(seed).permutation(n)
    part = {"test": perm[:k], "validation": perm[k:2 * k], "train": perm[2 * k:]}[split]
    return np.sort(part)


def _load_imagefolder(root: Path, split: str) -> Dataset:
    if not root.is_dir():
        raise DataError(f"image folder not found: {root}")
    split_dirs = {s: next((root / d for d in dirs if (root / d).is_dir()), None)
                  for s, dirs in _SPLIT_DIRS.items()}
    files: list[tuple[Path, int]] = []
    if any(split_dirs.values()):
        # Classes are the union over all split folders so a label means the same everywhere.
        classes = sorted({c.name for d in split_dirs.values() if d for c in _subdirs(d)})
        wanted = [s for s in _SPLIT_DIRS if split in (s, "all") and split_dirs[s]]
        if not wanted:
            raise DataError(f"{root} has split folders but no "
                            f"{' or '.join(_SPLIT_DIRS[split])}/ folder")
        for s in wanted:
            for c in _subdirs(split_dirs[s]):
                files += [(p, classes.index(c.name)) for p in _image_files(c)]
    else:
        classes = [c.name for c in _subdirs(root)]
        for label, cls in enumerate(classes):
            paths = _image_files(root / cls)
            # Seeded by the class name: adding a class never reshuffles the others.
            keep = _holdout(len(paths), zlib.crc32(cls.encode()), split)
            files += [(paths[i], label) for i in keep]
    if not classes:
        raise DataError(f"no class sub-folders in {root}")
    if not files:
        raise DataError(f"no images ({', '.join(sorted(IMAGE_EXTENSIONS))}) for split "
                        f"{split!r} in {root}")

    images = [_read_image(p, mode=None) for p, _ in files]
    if any(im.shape[-1] == 3 for im in images):  # grey only if every image is grey
        images = [np.repeat(im, 3, axis=-1) if im.shape[-1] == 1 else im for im in images]
    names = ["-".join(p.relative_to(root).with_suffix("").parts) for p, _ in files]
    return Dataset(f"imagefolder:{root}", split, _stack_if_uniform(images),
                   np.array([label for _, label in files], dtype=np.int64), names, classes)
