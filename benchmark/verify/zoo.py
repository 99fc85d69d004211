"""The codec zoo under ``bench verify``: every shipped file against the sha256 its index
records, and the RD of all (or a sample) re-measured on the images it was measured on."""
from __future__ import annotations

import hashlib
import os
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from multiprocessing import get_context
from pathlib import Path

import numpy as np

from corruptions.device import cpu_kind
from corruptions.errors import IntegrityError

from ..codecs.zoo import ZOO_ROOT, RDPoint, ZooCodec, ZooIndex, load_zoo_codec, measure, read_index
from ..datasets import load_dataset

# Across CPU kinds the codecs' float convolutions differ in the last bits, so a latent near a
# rounding boundary can flip: measured between AVX-512 and AVX2, a few bytes in 10,000 images
# (bpp 1e-5 relative) and 2e-5 dB. The tolerances are ten times that and still far below
# any digit a table shows; on the recorded kind the re-measure must be exact.
CROSS_CPU = {"bpp": 1e-4, "psnr": 1e-3, "ssim": 1e-5}  # relative, dB, absolute


@dataclass(frozen=True)
class ZooCheck:
    codec: ZooCodec
    problem: str | None  # None: the file verifies and its RD re-measures
    measured: bool = True  # False: only its sha256 was checked (not in the sample)
    exact: bool = True  # False: measured on another CPU kind, compared within ``CROSS_CPU``


def rd_agrees(measured: RDPoint, recorded: RDPoint, exact: bool) -> bool:
    if exact or measured.images != recorded.images:
        return measured == recorded
    return (abs(measured.bpp - recorded.bpp) <= CROSS_CPU["bpp"] * abs(recorded.bpp)
            and abs(measured.psnr - recorded.psnr) <= CROSS_CPU["psnr"]
            and abs(measured.ssim - recorded.ssim) <= CROSS_CPU["ssim"])


def _check_one(dataset: str, family: str, lmbda: float, root: str, data_root: str | None,
               images: int, threads: int, expected: RDPoint, measure_rd: bool,
               exact: bool) -> str | None:
    try:
        model = load_zoo_codec(dataset, family, lmbda, root=Path(root))
    except IntegrityError as e:
        return str(e)
    if not measure_rd:
        return None
    split = read_index(dataset, Path(root)).split
    test = load_dataset(dataset, split, data_root).head(images)
    rd = measure(model, test.images, threads)
    if rd_agrees(rd, expected, exact):
        return None
    return (f"RD re-measured {rd}, recorded {expected}"
            + ("" if exact else f" (beyond the cross-CPU tolerance {CROSS_CPU})"))


def sample_codecs(index: ZooIndex, sample: int | None, key: str = "") -> set[int]:
    """Which codecs to re-measure: all (``sample`` None), or ``sample`` of them drawn by
    ``key`` (CI passes the commit, so successive commits rotate through the zoo)."""
    n = len(index.codecs)
    if sample is None or sample >= n:
        return set(range(n))
    seed = int(hashlib.sha256(f"{index.dataset}:{key}".encode()).hexdigest()[:16], 16)
    return {int(i) for i in np.random.default_rng(seed).choice(n, sample, replace=False)}


def verify_zoo(dataset: str, data_root: Path | None = None, root: Path = ZOO_ROOT,
               workers: int | None = None, sample: int | None = None,
               key: str = "") -> list[ZooCheck]:
    """Every zoo file against its sha256, and the RD of all (or a ``sample``) re-measured on
    the images it was measured on (the split's first ``rd.images``), one codec per process
    with the recorded thread count: exactly on the CPU kind it was recorded on, else within
    ``CROSS_CPU``."""
    index = read_index(dataset, root)
    if index is None:
        return []
    chosen = sample_codecs(index, sample, key)
    exact = bool(index.cpu) and index.cpu == cpu_kind()
    jobs = [(dataset, c.family, c.lmbda, str(root), None if data_root is None else str(data_root),
             c.rd.images, index.threads, c.rd, i in chosen, exact)
            for i, c in enumerate(index.codecs)]
    workers = workers or max(1, (os.cpu_count() or 1) // index.threads)
    if workers > 1 and len(chosen) > 1:
        with ProcessPoolExecutor(workers, mp_context=get_context("spawn")) as pool:
            problems = list(pool.map(_check_one, *zip(*jobs)))
    else:
        problems = [_check_one(*job) for job in jobs]
    return [ZooCheck(c, p, i in chosen, exact)
            for i, (c, p) in enumerate(zip(index.codecs, problems))]
