"""The reference codec zoo: trained BLS and BMSHJ codecs shipped with the package.

A learned codec that sits below JPEG in rate-distortion is not the codec the thesis trained
on, and training one that does not takes longer than a run should. So, for the embedded
classification dataset, the benchmark ships one codec per family and grid lambda, trained
with ``ZOO_RECIPES`` (``bench codec zoo --train`` reproduces them), with their RD on the
test split measured from real bitstreams and the Bjøntegaard deltas against JPEG on the same
images. ``bench verify`` (``benchmark.verify.zoo``) checks each file's sha256 and re-measures
its RD: exactly on the CPU kind the index records, within a cross-CPU tolerance on another
(``--zoo-sample N`` re-measures N codecs drawn from the commit, as CI does; every file's sha256
is checked regardless).

Files: ``benchmark/codecs/zoo/<dataset>/<family>-<lambda>.pt.xz``, an LZMA-compressed
``torch.save`` of the state dict: parameters rounded to float16 (half the bytes; the frozen
coding tables are recomputed from the rounded weights before saving, so what is shipped is
exactly what was measured), buffers and frozen integer tables as they are (the Gaussian
conditional's 64 tables compress ~20x). The index ``zoo.json`` beside them records, per
codec, its file, sha256, size, recipe and RD; and the BD table of the set.
"""
from __future__ import annotations

import functools
import hashlib
import io
import json
import logging
import lzma
import os
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass, field
from multiprocessing import get_context
from pathlib import Path

import numpy as np
import torch

from corruptions import files
from corruptions.device import cpu_kind
from corruptions.errors import BenchError, IntegrityError

from ...datasets import dataset_slug, load_dataset
from ..bjontegaard import DEFAULT_FIT, bd
from ..metrics import psnr, ssim
from ..models import CodecConfig, FactorizedPrior, build_codec
from ..recipe import SMALL_SIDE, CodecRecipe
from ..roundtrip import round_trip
from ..train import checkpoint_path, train_recipe

log = logging.getLogger(__name__)

ZOO_ROOT = Path(__file__).resolve().parent  # the code and its weights, side by side
INDEX = "zoo.json"
FAMILIES = ("bls", "bmshj")
LAMBDAS = (0.001, 0.003, 0.005, 0.012, 0.033, 0.05, 0.1)  # the thesis' grid
THREADS = 1  # per training process, and for every RD measurement (the weights and the
# reconstructions' last bits depend on it)
MEASURE_CHUNK = 500


def small_image_recipe(family: str, channels: int) -> CodecRecipe:
    """The zoo's recipe for small images (up to ``SMALL_SIDE``): warm start from a base codec
    at lambda 0.012 (the grid's middle in log scale) trained for 12000 steps, then 3000 steps
    at each grid lambda (0.012 included), batches of 64 whole images, mixed quantisation.
    Separate codecs per lambda, as the thesis."""
    return CodecRecipe(CodecConfig(family, channels, N=32, M=48, depth=3), steps=3000,
                       batch_size=64, lr=1e-3, quant="mixed", init_lmbda=0.012, init_steps=12000)


def photo_recipe(family: str, channels: int) -> CodecRecipe:
    """The recipe for photographs (and any set of mixed or large sizes), sized for a 2-core
    CPU: the published 4-stage transforms at half width (N=64, M=96: 0.15-0.25 s a step
    against about 0.8 s at N=128, M=192), 128 px crops, batches of 8, mixed quantisation; a
    base codec at lambda 0.012 trained for 10000 steps, then 1500 steps per lambda (on 2
    cores about 40 minutes for the base and 6 per lambda). Measured on Kodak (kodim13-24),
    BLS at lambdas 0.0018/0.003/0.012/0.05/0.18: 0.187/0.259/0.516/0.782/0.976 bpp at
    26.95/27.87/29.59/30.36/30.61 dB, +0.97 dB BD-PSNR over JPEG (-21.4% BD-rate) between
    0.19 and 0.98 bpp, +3.9 dB at the low end, -1.7 dB at the top (the curve flattens above
    0.6 bpp: capacity and training length); -2.3 dB against CompressAI's bmshj2018-factorized
    (``reports/codecs/photos``). BMSHJ with it at the same lambdas: 0.209 to 1.012 bpp at
    27.16 to 30.78 dB, +0.70 dB over JPEG, -3.6 dB against the published
    bmshj2018-hyperprior (its hyperprior buys nothing over BLS at this length). A 4000-step base gave -0.41 dB
    against JPEG; a base at
    lambda 0.05 instead was worse at the top (29.2 dB at 0.93 bpp, ``bench codec train``)."""
    return CodecRecipe(CodecConfig(family, channels, N=64, M=96, depth=4), steps=1500,
                       batch_size=8, lr=1e-3, patch=128, quant="mixed", init_lmbda=0.012,
                       init_steps=10000)


ZOO_RECIPES = {"fashion-mnist": lambda family: small_image_recipe(family, 1)}


def zoo_recipe(dataset: str, family: str) -> CodecRecipe | None:
    """The recipe of ``dataset``'s shipped codecs, if it has a zoo."""
    make = ZOO_RECIPES.get(dataset_slug(dataset))
    return make(family) if make else None


def on_demand_recipe(family: str, channels: int, side: int, fixed_size: bool) -> CodecRecipe:
    """What a dataset without a zoo trains its codecs with (once, then cached): the zoo's
    small-image recipe for small fixed-size images (CIFAR-10, MNIST, small image folders),
    else the photograph recipe (Kodak, ``photos``, folders of photographs)."""
    if fixed_size and side <= SMALL_SIDE:
        return small_image_recipe(family, channels)
    return photo_recipe(family, channels)


# --------------------------------------------------------------------------- the index
@dataclass(frozen=True)
class RDPoint:
    """Mean over the images of bits per pixel (payload), PSNR (dB) and SSIM."""

    bpp: float
    psnr: float
    ssim: float
    images: int


@dataclass(frozen=True)
class ZooCodec:
    family: str
    lmbda: float
    file: str  # relative to the dataset's zoo folder
    sha256: str
    bytes: int
    recipe: dict
    rd: RDPoint

    @classmethod
    def from_dict(cls, d: dict) -> ZooCodec:
        return cls(**{**d, "rd": RDPoint(**d["rd"])})


@dataclass(frozen=True)
class ZooIndex:
    dataset: str
    split: str
    threads: int
    codecs: tuple[ZooCodec, ...]
    jpeg: tuple[dict, ...] = ()  # {"quality": q, "bpp": .., "psnr": .., "ssim": ..}
    bd: dict = field(default_factory=dict)  # family -> BDResult.as_dict() against JPEG
    cpu: str = ""  # the CPU kind the RD was measured on (``cpu_kind``); "" unknown

    def find(self, family: str, lmbda: float) -> ZooCodec | None:
        return next((c for c in self.codecs if c.family == family and c.lmbda == lmbda), None)

    def as_dict(self) -> dict:
        return {"dataset": self.dataset, "split": self.split, "threads": self.threads,
                "codecs": [asdict(c) for c in self.codecs], "jpeg": list(self.jpeg),
                "bd": self.bd, "cpu": self.cpu}


def zoo_folder(dataset: str, root: Path = ZOO_ROOT) -> Path:
    return Path(root) / dataset_slug(dataset)


def zoo_datasets(root: Path = ZOO_ROOT) -> list[str]:
    """The datasets that have a zoo under ``root``."""
    return sorted(p.parent.name for p in Path(root).glob(f"*/{INDEX}"))


def read_index(dataset: str, root: Path = ZOO_ROOT) -> ZooIndex | None:
    """The zoo of ``dataset`` (None when it has none). Read once per version of the file:
    every learned-codec call on a zoo dataset asks for it."""
    path = zoo_folder(dataset, root) / INDEX
    if not path.is_file():
        return None
    return _read_index(path, path.stat().st_mtime_ns)


@functools.lru_cache(maxsize=16)
def _read_index(path: Path, mtime_ns: int) -> ZooIndex:
    try:
        d = json.loads(path.read_text())
        return ZooIndex(d["dataset"], d["split"], d["threads"],
                        tuple(ZooCodec.from_dict(c) for c in d["codecs"]),
                        tuple(d.get("jpeg", ())), d.get("bd", {}), d.get("cpu", ""))
    except (ValueError, KeyError, TypeError) as e:
        raise BenchError(f"{path}: not a codec zoo index ({type(e).__name__}: {e})") from None


# --------------------------------------------------------------------------- files
def _pack(model: FactorizedPrior) -> bytes:
    params = {name for name, _ in model.named_parameters()}
    state = {k: (v.half() if k in params else v) for k, v in model.state_dict().items()}
    buf = io.BytesIO()
    torch.save({"config": model.config.as_dict(), "state": state}, buf)
    return lzma.compress(buf.getvalue(), preset=9)


def _unpack(data: bytes, device: str = "cpu") -> FactorizedPrior:
    obj = torch.load(io.BytesIO(lzma.decompress(data)), map_location="cpu", weights_only=True)
    model = build_codec(CodecConfig(**obj["config"]))
    model.load_state_dict({k: (v.float() if v.dtype == torch.float16 else v)
                           for k, v in obj["state"].items()})
    return model.to(device).eval()


def half_rounded(model: FactorizedPrior) -> FactorizedPrior:
    """A copy of ``model`` with float16-rounded parameters and tables frozen from them: the
    codec the zoo ships."""
    out = build_codec(model.config)
    out.load_state_dict(model.state_dict())
    with torch.no_grad():
        for p in out.parameters():
            p.copy_(p.half().float())
    out.update()
    return out.eval()


def _entry(dataset: str, family: str, lmbda: float, root: Path) -> ZooCodec | None:
    index = read_index(dataset, root)
    return index.find(family, lmbda) if index else None


def load_zoo_codec(dataset: str, family: str, lmbda: float, device: str = "cpu",
                   root: Path = ZOO_ROOT) -> FactorizedPrior | None:
    """The shipped codec, its file checked against the index's sha256 (None: not in the zoo)."""
    entry = _entry(dataset, family, lmbda, root)
    if entry is None:
        return None
    path = zoo_folder(dataset, root) / entry.file
    if not path.is_file():
        raise IntegrityError(f"{path}: codec zoo file is missing")
    data = path.read_bytes()
    if hashlib.sha256(data).hexdigest() != entry.sha256:
        raise IntegrityError(f"{path}: sha256 differs from {INDEX} (damaged or replaced)")
    return _unpack(data, device)


def zoo_provenance(dataset: str, family: str, lmbda: float, root: Path = ZOO_ROOT) -> dict | None:
    entry = _entry(dataset, family, lmbda, root)
    if entry is None:
        return None
    return {"zoo": f"{dataset_slug(dataset)}/{entry.file}", "sha256": entry.sha256,
            "codec": entry.recipe, "lambda": lmbda}


# --------------------------------------------------------------------------- measuring
def measure(model: FactorizedPrior, images: np.ndarray, threads: int = THREADS) -> RDPoint:
    """RD of a codec from its real bitstreams, with pinned threads. Deterministic: the images
    are copied to fresh C-order memory first, because oneDNN's convolutions give results
    that differ in the last bits with the input's strides (a loaded split whose channel axis
    has stride 0 and its ``head()`` copy code some latents differently)."""
    images = np.array(images, order="C", copy=True)
    before = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        bpp, q, s = [], [], []
        pixels = images.shape[1] * images.shape[2]
        for i in range(0, len(images), MEASURE_CHUNK):
            x = images[i:i + MEASURE_CHUNK]
            res = round_trip(model, x)
            bpp.append(res.bits / pixels)
            q.append(psnr(x, res.images))
            s.append(ssim(x, res.images))
    finally:
        torch.set_num_threads(before)
    return RDPoint(float(np.mean(np.concatenate(bpp))), float(np.mean(np.concatenate(q))),
                   float(np.mean(np.concatenate(s))), len(images))


# JPEG's RD curve on the zoo's test images ({"quality", "bpp", "psnr", "ssim"} per point):
# given by the caller, since JPEG is an augmentation family, a layer above the codecs
Reference = Callable[[np.ndarray], list[dict]]


def bd_against_jpeg(codecs: list[ZooCodec], jpeg: list[dict], fit: str = DEFAULT_FIT) -> dict:
    out = {}
    for family in dict.fromkeys(c.family for c in codecs):
        pts = sorted((c for c in codecs if c.family == family), key=lambda c: c.lmbda)
        out[family] = bd([j["bpp"] for j in jpeg], [j["psnr"] for j in jpeg],
                         [c.rd.bpp for c in pts], [c.rd.psnr for c in pts], fit).as_dict()
    return out


# --------------------------------------------------------------------------- training
def _train_family(dataset: str, family: str, lambdas: tuple[float, ...], data_root: str,
                  threads: int, compile: bool) -> None:
    recipe = zoo_recipe(dataset, family)
    images = load_dataset(dataset, "train", data_root).images
    for lmbda in lambdas:
        train_recipe(images, recipe, lmbda, Path(data_root), dataset, threads=threads,
                     compile=compile, progress=True)


def train_zoo(dataset: str, data_root: Path, lambdas: tuple[float, ...],
              families: tuple[str, ...] = FAMILIES, workers: int | None = None,
              compile: bool = True, out_root: Path = ZOO_ROOT,
              test_images: int | None = None, *, reference: Reference) -> ZooIndex:
    """Train (resuming what the checkpoint cache holds) every codec of the zoo, one process
    per family, then round, measure and write the zoo files and index."""
    if zoo_recipe(dataset, families[0]) is None:
        raise BenchError(f"no zoo recipe for {dataset!r} (zoo datasets: {', '.join(ZOO_RECIPES)})")
    workers = workers or min(len(families), os.cpu_count() or 1)
    threads = max(1, (os.cpu_count() or 1) // workers)
    if workers > 1:
        with ProcessPoolExecutor(workers, mp_context=get_context("spawn")) as pool:
            jobs = [pool.submit(_train_family, dataset, f, lambdas, str(data_root), threads,
                                compile) for f in families]
            for job in jobs:
                job.result()
    else:
        for f in families:
            _train_family(dataset, f, lambdas, str(data_root), threads, compile)
    return export_zoo(dataset, data_root, lambdas, families, out_root, test_images,
                      reference=reference)


def export_zoo(dataset: str, data_root: Path, lambdas: tuple[float, ...],
               families: tuple[str, ...] = FAMILIES, out_root: Path = ZOO_ROOT,
               test_images: int | None = None, *, reference: Reference) -> ZooIndex:
    """The trained checkpoints of the zoo recipe -> shipped files, their RD on the test split
    (its first ``test_images``; default all), the JPEG curve on the same images and the BD
    table; the index written last."""
    test = load_dataset(dataset, "test", data_root)
    if test_images:
        test = test.head(test_images)
    folder = zoo_folder(dataset, out_root)
    folder.mkdir(parents=True, exist_ok=True)
    codecs = []
    for family in families:
        recipe = zoo_recipe(dataset, family)
        for lmbda in lambdas:
            path = checkpoint_path(data_root, dataset, recipe, lmbda)
            state = torch.load(path, map_location="cpu", weights_only=False) if path.is_file() else None
            if state is None or state["step"] < recipe.steps:
                raise BenchError(f"{path}: the zoo codec {family} lambda={lmbda:g} is not trained "
                                 "(bench codec zoo --train)")
            trained = build_codec(recipe.config)
            trained.load_state_dict(state["model"])
            model = half_rounded(trained)
            data = _pack(model)
            name = f"{family}-{lmbda:g}.pt.xz"
            sha = files.write_bytes(folder / name, data)
            rd = measure(_unpack(data), test.images)
            log.info("%s lambda=%g: %.4f bpp, %.2f dB", family, lmbda, rd.bpp, rd.psnr)
            codecs.append(ZooCodec(family, lmbda, name, sha, len(data), recipe.as_dict(), rd))
    jpeg = reference(test.images)
    index = ZooIndex(dataset_slug(dataset), "test", THREADS, tuple(codecs), tuple(jpeg),
                     bd_against_jpeg(codecs, jpeg), cpu_kind())
    files.write_json(folder / INDEX, index.as_dict())
    return index
