"""Build a corrupted test set: every (corruption, severity) of a dataset split, on disk.

Work is cut into tasks of one corruption, one severity and a chunk of images; with
``workers > 1`` they run in a pool of processes (one torch thread each), otherwise in this
process. Each image's randomness is keyed by its dataset index, so the files do not depend
on the chunking or the worker count. A corruption's file is written (atomically) as soon as
all its tasks are done, and the manifest is rewritten after each one: that is what
``resume`` relies on.
"""
from __future__ import annotations

import concurrent.futures as cf
import contextlib
import logging
import multiprocessing as mp
import signal
import time
from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass
from multiprocessing import shared_memory
from pathlib import Path

import cv2
import numpy as np
import torch
from tqdm import tqdm

from . import engine, files, reference, registry, store, tables
from .device import resolve_device
from .errors import BenchError
from .spectrum import SpectrumAccumulator, combine
from .version import code_version

log = logging.getLogger(__name__)

BACKENDS = ("engine", "imagecorruptions")
FORMAT = "corrupted-set/1"


@dataclass(frozen=True)
class BuildSpec:
    """Everything that determines the bytes of a build (recorded in the manifest)."""

    dataset: str
    split: str
    scale: str
    seed: int
    severities: tuple[int, ...]
    limit: int | None
    backend: str
    layout: str


def choose_layout(images) -> str:
    """CIFAR-10-C arrays for small fixed-size sets, PNG folders for large or mixed ones."""
    if isinstance(images, np.ndarray) and max(images.shape[1:3]) <= tables.CIFAR_MAX_SIDE:
        return "npy"
    return "png"


def default_scale_for(images) -> str:
    shapes = [images.shape[1:3]] if isinstance(images, np.ndarray) else [i.shape[:2] for i in images]
    return tables.default_scale(max(s[0] for s in shapes), max(s[1] for s in shapes))


def check_backend(backend: str, scale: str | None) -> None:
    if backend not in BACKENDS:
        raise BenchError(f"unknown backend {backend!r}; known: {', '.join(BACKENDS)}")
    if scale is not None and scale not in tables.SCALES:
        raise BenchError(f"unknown scale {scale!r}; known: {', '.join(tables.SCALES)}")
    if backend == "imagecorruptions" and scale == "cifar":
        raise BenchError("--backend imagecorruptions implements only --scale imagenet")



# --------------------------------------------------------------------------- tasks
_IMAGES = None  # the dataset's images, per worker process


def init_worker(images, threads: int) -> None:
    global _IMAGES
    _IMAGES = images
    torch.set_num_threads(threads)
    cv2.setNumThreads(threads)  # one core per worker: no oversubscription
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent handles Ctrl-C


@dataclass(frozen=True)
class Task:
    corruption: str
    severity: int
    indices: tuple[int, ...]
    scale: str
    seed: int
    backend: str
    device: str
    png_dir: str | None  # the set's folder for the png layout (else ``rows`` is set)
    names: tuple[str, ...] = ()
    profile: bool = True  # measure the frequency profile of this chunk
    rows: tuple[str, tuple[int, ...], int] | None = None  # (shared array, its shape, offset)


class SharedRows:
    """The uint8 result array of one corruption in shared memory: workers write their rows
    in place instead of pickling them back (which cost more than cheap corruptions)."""

    def __init__(self, shape: tuple[int, ...]):
        self.shape = tuple(shape)
        self._shm = shared_memory.SharedMemory(create=True, size=max(1, int(np.prod(shape))))
        self.name = self._shm.name
        self.array = np.ndarray(self.shape, np.uint8, buffer=self._shm.buf)
        _LOCAL_ROWS[self.name] = self.array

    def close(self) -> None:
        _LOCAL_ROWS.pop(self.name, None)
        del self.array
        self._shm.close()
        self._shm.unlink()


_LOCAL_ROWS: dict[str, np.ndarray] = {}  # arrays created by this process
_ATTACHED: list = []  # this worker's current (name, SharedMemory, array)


def _rows(name: str, shape: tuple[int, ...]) -> np.ndarray:
    if name in _LOCAL_ROWS:
        return _LOCAL_ROWS[name]
    if not _ATTACHED or _ATTACHED[0] != name:
        if _ATTACHED:
            _ATTACHED[1].close()
            _ATTACHED.clear()
        # spawned workers share the creator's resource tracker, which the creator's unlink()
        # settles; attaching registers the same name again (a no-op there)
        shm = shared_memory.SharedMemory(name=name)
        _ATTACHED.extend([name, shm, np.ndarray(shape, np.uint8, buffer=shm.buf)])
    return _ATTACHED[2]


def corrupt_fn(backend: str) -> Callable[..., np.ndarray]:
    if backend == "engine":
        return engine.corrupt
    return lambda imgs, name, sev, scale, seed, indices, device: reference.corrupt(
        imgs, name, sev, seed=seed, indices=indices)


def run_task(task: Task, images=None):
    """Corrupt one chunk into the shared rows (npy) or PNG files; returns (task,
    {file: sha256} or None, spectrum sums)."""
    images = _IMAGES if images is None else images
    batch = np.stack([images[i] for i in task.indices])
    out = corrupt_fn(task.backend)(batch, task.corruption, task.severity, scale=task.scale,
                                   seed=task.seed, indices=task.indices, device=task.device)
    acc = SpectrumAccumulator()
    if task.profile:
        acc.add(batch, out)
    if task.rows is not None:
        name, shape, offset = task.rows
        _rows(name, shape)[[offset + i for i in task.indices]] = out
        return task, None, acc
    hashes = {}
    for img, nm in zip(out, task.names):
        rel = f"{task.corruption}/{task.severity}/{nm}.png"
        path = Path(task.png_dir) / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        hashes[rel] = files.write_bytes(path, store.png_bytes(img))
    return task, hashes, acc


CHUNK_PIXELS = 1 << 20  # a task's images: about a megapixel, at most 1024 of them


def image_chunks(images, names: Sequence[str]) -> list[tuple[tuple[int, ...], tuple[str, ...]]]:
    """Index chunks of same-shape images, about ``CHUNK_PIXELS`` each."""
    groups: dict[tuple, list[int]] = defaultdict(list)
    for i in range(len(images)):
        groups[tuple(images[i].shape)].append(i)
    out = []
    for shape, idx in groups.items():
        size = max(1, min(1024, CHUNK_PIXELS // (shape[0] * shape[1])))
        for k in range(0, len(idx), size):
            part = tuple(idx[k:k + size])
            out.append((part, tuple(names[i] for i in part)))
    return out


# --------------------------------------------------------------------------- in memory
@contextlib.contextmanager
def corrupter(images: np.ndarray, *, scale: str, seed: int = 0,
              severities: Sequence[int] = tables.SEVERITIES, workers: int = 1,
              device: str = "cpu") -> Iterator[Callable[[str], np.ndarray]]:
    """``corrupt(name) -> (S*N, H, W, C)`` uint8, severity-major, for fixed-size images in
    memory: the builder's own tasks and worker pool without the files (what the speed
    benchmark times, warm pool included)."""
    chunks = image_chunks(images, [str(i) for i in range(len(images))])
    pool = None
    if workers > 1:
        pool = cf.ProcessPoolExecutor(workers, mp_context=mp.get_context("spawn"),
                                      initializer=init_worker, initargs=(images, 1))
    rows = SharedRows((len(severities) * len(images), *images.shape[1:]))

    def corrupt(name: str) -> np.ndarray:
        registry.get(name)
        tasks = [Task(name, s, idx, scale, seed, "engine", device, None, profile=False,
                      rows=(rows.name, rows.shape, k * len(images)))
                 for k, s in enumerate(severities) for idx, _ in chunks]
        if pool is None:
            for t in tasks:
                run_task(t, images)
        else:
            list(pool.map(run_task, tasks))
        return rows.array.copy()

    try:
        yield corrupt
    finally:
        rows.close()
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)


# --------------------------------------------------------------------------- build
def build(images, labels: np.ndarray, names: Sequence[str], out: Path, *, dataset: str,
          split: str, corruptions: Sequence[str], severities: Sequence[int] = tables.SEVERITIES,
          scale: str | None = None, seed: int = 0, limit: int | None = None,
          backend: str = "engine", device: str = "cpu", workers: int = 1,
          resume: bool = False, progress: bool = True) -> dict:
    """Build (or resume) a corrupted set in ``out``; returns its manifest."""
    scale = _checked_scale(images, corruptions, severities, scale, backend)
    device = resolve_device(device)
    if device != "cpu":
        workers = 1
    spec = BuildSpec(dataset, split, scale, int(seed), tuple(int(s) for s in severities),
                     limit, backend, choose_layout(images))
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    files.remove_stale_temporaries(out)
    manifest = _start_manifest(out, spec, images, labels, names, resume)
    todo = [c for c in corruptions if c not in manifest["corruptions"]]
    skipped = [c for c in corruptions if c in manifest["corruptions"]]
    if skipped:
        log.info("resume: %d corruption(s) verified and kept: %s", len(skipped), ", ".join(skipped))
    chunks = image_chunks(images, names)
    total = len(todo) * len(spec.severities) * len(images)
    pool = None
    if workers > 1 and todo:
        pool = cf.ProcessPoolExecutor(workers, mp_context=mp.get_context("spawn"),
                                      initializer=init_worker, initargs=(images, 1))
    start = time.perf_counter()
    try:
        with tqdm(total=total, unit="img", desc=f"{dataset}-c", disable=not progress or None,
                  smoothing=0.1) as bar:
            for c in todo:
                bar.set_postfix_str(c)
                _build_one(c, spec, images, chunks, out, manifest, device, pool, bar)
    except KeyboardInterrupt:
        log.warning("interrupted: finished corruptions are kept; rerun with --resume")
        raise
    finally:
        if pool is not None:
            for p in list(getattr(pool, "_processes", {}).values()):
                p.terminate()
            pool.shutdown(wait=True, cancel_futures=True)
        files.remove_stale_temporaries(out)
    elapsed = time.perf_counter() - start
    if todo:
        log.info("built %d corruption(s) x %d severities x %d images in %.1f s (%.0f img/s)",
                 len(todo), len(spec.severities), len(images), elapsed, total / max(elapsed, 1e-9))
    return manifest


def _checked_scale(images, corruptions: Sequence[str], severities: Sequence[int],
                   scale: str | None, backend: str) -> str:
    """The scale to build at, once every name, severity, the backend and the images are
    known good (bad input is one clear error before anything is written)."""
    for c in corruptions:
        if registry.get(c).suite != "c" and backend == "imagecorruptions":
            raise BenchError(f"--backend imagecorruptions has no {c} (CIFAR-10-C-bar): use "
                             "the engine")
    for s in severities:
        engine.check_severity(s)
    scale = scale or default_scale_for(images)
    check_backend(backend, scale)
    first = np.asarray(images[0])
    if first.ndim != 3 or first.dtype != np.uint8 or min(first.shape[:2]) < engine.MIN_SIDE:
        raise BenchError(f"images must be uint8 (H, W, C) of at least {engine.MIN_SIDE} px, "
                         f"got {first.dtype} {first.shape}")
    return scale


def _build_one(name: str, spec: BuildSpec, images, chunks, out: Path, manifest: dict,
               device: str, pool, bar) -> None:
    """One corruption at every severity, its files and manifest entry written whole."""
    rows = None
    if spec.layout == "npy":
        rows = SharedRows((len(spec.severities) * len(images), *images.shape[1:]))
    try:
        tasks = [Task(name, s, idx, spec.scale, spec.seed, spec.backend, device,
                      str(out) if spec.layout == "png" else None, nms,
                      rows=None if rows is None else (rows.name, rows.shape, k * len(images)))
                 for k, s in enumerate(spec.severities) for idx, nms in chunks]
        results = _run_all(tasks, pool, images, bar)
        _finish_corruption(out, manifest, spec, name, None if rows is None else rows.array,
                           results)
    finally:
        if rows is not None:
            rows.close()


@contextlib.contextmanager
def one_thread() -> Iterator[None]:
    """Torch and OpenCV on one thread, as in every worker (``init_worker``), restored after:
    a task computes the same bits in this process as in a pool."""
    saved = torch.get_num_threads(), cv2.getNumThreads()
    torch.set_num_threads(1)
    cv2.setNumThreads(1)
    try:
        yield
    finally:
        torch.set_num_threads(saved[0])
        cv2.setNumThreads(saved[1])


def _run_all(tasks: list[Task], pool, images, bar) -> list:
    """Every task's result, in the tasks' order whatever order they finish in (the spectra
    are float sums merged in this order, so a manifest does not depend on scheduling)."""
    if pool is None:
        results = []
        with one_thread():
            for t in tasks:
                results.append(run_task(t, images))
                bar.update(len(t.indices))
        return results
    futures = {pool.submit(run_task, t): i for i, t in enumerate(tasks)}
    results: list = [None] * len(tasks)
    for f in cf.as_completed(futures):
        results[futures[f]] = f.result()
        bar.update(len(tasks[futures[f]].indices))
    return results


def _finish_corruption(out: Path, manifest: dict, spec: BuildSpec, name: str,
                       rows: np.ndarray | None, results: list) -> None:
    accs: dict[int, SpectrumAccumulator] = defaultdict(SpectrumAccumulator)
    written: dict[str, str] = {}
    for task, hashes, acc in results:
        written.update(hashes or {})
        accs[task.severity] = accs[task.severity].merge(acc)
    if rows is not None:
        written[f"{name}.npy"] = files.write_bytes(out / f"{name}.npy", files.npy_bytes(rows))
    manifest["files"].update(dict(sorted(written.items())))
    manifest["profiles"][name] = profile_entry(name, spec, accs)
    order = [*registry.names("all"), *registry.names("cbar")]
    manifest["corruptions"] = sorted({*manifest["corruptions"], name},
                                     key=lambda c: order.index(c) if c in order else len(order))
    store.write_manifest(out, manifest)


def profile_entry(name: str, spec: BuildSpec, accs: dict[int, SpectrumAccumulator]) -> dict:
    c = registry.get(name)
    measured = combine(accs)
    published = c.published_band
    return {
        "code_version": code_version(),
        "category": c.category,
        "common": c.common,
        "suite": c.suite,
        "params": {str(s): tables.as_jsonable(c.params(s, spec.scale)) for s in spec.severities},
        "published_band": published,
        "measured_band": measured["band"],
        "band": published or measured["band"],
        "measured": measured,
        "severity": {str(s): accs[s].profile() for s in sorted(accs)},
        "identity": bool(accs) and all(accs[s].profile()["identity"] for s in accs),
    }


def _start_manifest(out: Path, spec: BuildSpec, images, labels, names, resume: bool) -> dict:
    try:
        old = store.read_manifest(out)
    except BenchError:
        if resume:
            raise
        old = None  # a fresh build overwrites a damaged manifest
    fresh = {
        "format": FORMAT,
        **asdict(spec),
        "severities": list(spec.severities),
        "n_images": len(images),
        "image_shape": list(images.shape[1:]) if isinstance(images, np.ndarray) else None,
        "names": list(names) if spec.layout == "png" else None,
        "code_version": code_version(),
        "corruptions": [],
        "files": {},
        "profiles": {},
    }
    labels_rel = store.LABELS
    labels_bytes = files.npy_bytes(np.tile(np.asarray(labels, np.int64), len(spec.severities)))
    if old is not None and resume:
        keys = ("format", *asdict(spec).keys(), "n_images")
        changed = [k for k in keys if old.get(k) != fresh.get(k)
                   and not (k == "severities" and old.get(k) == list(spec.severities))]
        if changed:
            raise BenchError(f"{out}: built with different settings ({', '.join(changed)}); "
                             "use another --out, or build without --resume")
        for c in list(old["corruptions"]):
            rels = [r for r in old["files"] if r == f"{c}.npy" or r.startswith(f"{c}/")]
            if rels and store.files_verify(out, {r: old["files"][r] for r in rels}):
                fresh["corruptions"].append(c)
                fresh["files"].update({r: old["files"][r] for r in rels})
                fresh["profiles"][c] = old["profiles"][c]
            else:
                log.warning("resume: %s does not verify; rebuilding it", c)
    elif old is not None:
        for rel in old.get("files", {}):
            (out / rel).unlink(missing_ok=True)
    fresh["files"][labels_rel] = files.write_bytes(out / labels_rel, labels_bytes)
    store.write_manifest(out, fresh)
    return fresh
