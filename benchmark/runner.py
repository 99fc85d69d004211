"""``bench run``: a submission's units trained and evaluated, then its reports written.

A *unit* is one (parameter or union, seed): train a classifier on the augmented training set,
then count its correct predictions on the clean and corrupted test (and validation) images.
Units are idempotent: each writes its counts last, atomically, under
``runs/<id>/<profile>/<training hash>/<param>/seed<k>/``, and a unit whose counts exist is
skipped; a killed unit resumes from its last epoch checkpoint. Everything a unit needs is
built first, in this process (corrupted sets, augmented sets, their codecs), so units can
run in this process, in ``--jobs N`` local processes, or on a Ray cluster.
"""
from __future__ import annotations

import concurrent.futures as cf
import json
import logging
import multiprocessing as mp
import platform
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from corruptions import build as builder
from corruptions import files, store
from corruptions.device import cpu_count, resolve_device
from corruptions.errors import BenchError, DataError
from corruptions.version import code_version

from .augment import AugmentSpec, get_family
from .augment.cache import ensure_augmented, load_augmented
from .datasets import Dataset, dataset_slug, load_dataset
from .evaluate import Count, EvalSplit, evaluate
from .models import Normalized, create_model
from .results import HISTORY_COLUMNS, RESULT_COLUMNS, frame, read_results, write_parquet
from .submission import RunSpec
from .summary import summarize
from .train import NonFiniteLoss, build_classifier, train_classifier

log = logging.getLogger(__name__)
EXECUTORS = ("local", "ray")


# --------------------------------------------------------------------------- inputs
def corrupted_dir(data_root: Path, dataset: str, split: str, limit: int | None) -> Path:
    """``<root>/corrupted/<dataset>-c`` for the whole test split (what ``bench
    build-corruptions`` writes by default), else ``<dataset>-<split>-c[-n<limit>]``."""
    name = dataset_slug(dataset) + ("" if split == "test" else f"-{split}") + "-c"
    return Path(data_root) / "corrupted" / (name + (f"-n{limit}" if limit else ""))


def ensure_corrupted(ds: Dataset, data_root: Path, limit: int | None, corruptions: tuple[str, ...],
                     severities: tuple[int, ...], seed: int, device: str,
                     progress: bool) -> store.CorruptedSet:
    """The corrupted set of a split (its first ``limit`` images) with every corruption and
    severity the submission asks for: reused when a built folder covers them, else extended
    (resumed) or rebuilt."""
    out = corrupted_dir(data_root, ds.name, ds.split, limit)
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


@dataclass
class Inputs:
    """What every unit of a run reads: the training split, the augmented sets per member
    parameter, the evaluation splits."""

    train: Dataset
    augmented: dict[str, tuple[Path, dict]]  # member label -> (folder, manifest)
    eval_dirs: dict[str, tuple[int | None, Path | None]]  # split -> (limit, corrupted dir)
    manifests: dict[str, str]  # name -> sha256 of a manifest file (provenance)
    seconds: dict[str, float] = field(default_factory=dict)


def prepare_eval(dataset: str, data_root: Path, test_images: int | None,
                 validation_images: int | None, corruptions: tuple[str, ...],
                 severities: tuple[int, ...], seed: int, device: str, progress: bool
                 ) -> tuple[dict[str, tuple[int | None, Path]], dict[str, str]]:
    """The corrupted test and validation sets (built when missing): split -> (limit, folder),
    and the sha256 of their manifests. ``validation_images=0`` or a dataset without a
    validation split leaves held-out selection out."""
    eval_dirs, manifests = {}, {}
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
        cs = ensure_corrupted(ds.head(limit) if limit else ds, data_root, limit, corruptions,
                              severities, seed, device, progress)
        eval_dirs[split] = (limit, cs.folder)
        manifests[f"corrupted-{split}"] = files.sha256_file(cs.folder / store.MANIFEST)
    return eval_dirs, manifests


def load_eval_splits(dataset: str, data_root: Path, eval_dirs, corruptions: tuple[str, ...],
                     severities: tuple[int, ...]) -> list[EvalSplit]:
    """Each split's clean images and its corrupted set, narrowed to the corruptions and
    severities asked for (the set was verified when it was prepared)."""
    out = []
    for split, limit, folder in eval_dirs:
        ds = load_dataset(dataset, split, data_root)
        ds = ds.head(limit) if limit else ds
        cs = store.open_corrupted(folder, verify=False) if folder else None
        if cs is not None:
            cs.corruptions = [c for c in cs.corruptions if c in corruptions]
            cs.severities = [s for s in cs.severities if s in severities]
        out.append(EvalSplit(split, ds.images, ds.labels, cs))
    return out


def prepare(spec: RunSpec, data_root: Path, device: str, progress: bool) -> Inputs:
    """Build what is missing: corrupted test and validation sets, augmented training sets
    (codecs trained on demand), with progress bars."""
    seconds = {}
    t0 = time.perf_counter()
    eval_dirs, manifests = prepare_eval(spec.dataset, data_root, spec.test_images,
                                        spec.validation_images, spec.corruptions,
                                        spec.severities, spec.corruption_seed, device, progress)
    seconds["corrupted sets"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    train = _head(load_dataset(spec.dataset, "train", data_root), spec.train_images, "train")
    family = get_family(spec.family)
    augmented = {}
    if not spec.weights:
        for member in dict.fromkeys(m for s in spec.grid for m in s.members()):
            folder, manifest = ensure_augmented(train, family, member.values[0], data_root,
                                                progress=progress, device=device,
                                                codec=spec.codec)
            augmented[member.label] = (folder, manifest)
            manifests[f"augmented-{member.label}"] = files.sha256_file(folder / store.MANIFEST)
    seconds["augmented sets (codecs included)"] = time.perf_counter() - t0
    return Inputs(train, augmented, eval_dirs, manifests, seconds)


def data_stats(spec: RunSpec, inputs: Inputs) -> dict[str, dict]:
    """Per grid entry: bpp and bytes of the training data as stored compressed (payload
    bits; raw uint8 for families that do not compress), PSNR and SSIM against the originals.
    A union sums the bytes and averages the rest."""
    out = {}
    train = inputs.train
    pixels = int(np.prod(train.images.shape[1:3])) if train.fixed_size else None
    for s in spec.grid:
        parts = [inputs.augmented[m.label][1] for m in s.members()] if inputs.augmented else []
        if not parts:
            out[s.label] = {"bpp": None, "bytes": None, "psnr": None, "ssim": None}
            continue
        bpp = [m["bpp"]["mean"] if "bpp" in m else 8.0 * train.channels for m in parts]
        size = [b * m["n_images"] * pixels / 8 if pixels else None for b, m in zip(bpp, parts)]
        out[s.label] = {"bpp": float(np.mean(bpp)),
                        "bytes": int(round(sum(size))) if None not in size else None,
                        "psnr": float(np.mean([m["psnr"]["mean"] for m in parts])),
                        "ssim": float(np.mean([m["ssim"]["mean"] for m in parts]))}
    return out


# --------------------------------------------------------------------------- units
@dataclass(frozen=True)
class UnitTask:
    """Everything one unit needs, by value or by path (picklable, for any executor)."""

    spec: RunSpec
    param: AugmentSpec
    seed: int
    folder: Path
    data_root: Path
    train_sets: tuple[Path, ...]
    eval_dirs: tuple[tuple[str, int | None, str | None], ...]
    eval_hash: str
    num_classes: int
    device: str
    threads: int
    progress: bool = True

    @property
    def name(self) -> str:
        return f"{self.spec.id} {self.param} seed {self.seed}"

    @property
    def counts_path(self) -> Path:
        return self.folder / f"counts-{self.eval_hash}.json"


@dataclass(frozen=True)
class UnitResult:
    param: str
    seed: int
    counts: tuple[Count, ...]
    history: tuple[dict, ...]
    train_s: float
    eval_s: float
    skipped: bool = False


def _train_images(task: UnitTask) -> tuple[np.ndarray, np.ndarray]:
    """The unit's training set: the concatenation of its members' augmented sets."""
    parts = [load_augmented(folder, verify=False) for folder in task.train_sets]
    images = np.concatenate([p[0] for p in parts])
    labels = np.concatenate([p[1] for p in parts])
    return images, labels


def _model(task: UnitTask, images: np.ndarray, num_classes: int) -> Normalized:
    spec = task.spec
    torch.manual_seed(task.seed)
    if spec.weights:
        return load_weights(spec, task.data_root, images, num_classes)
    return build_classifier(spec.model, images, num_classes, spec.pretrained)


def load_weights(spec: RunSpec, data_root: Path, images: np.ndarray, num_classes: int) -> Normalized:
    """A checkpoint-only submission's weights: a file under the data root, read with
    ``weights_only=True``. A ``bench run`` model.pt (normalisation included) or a bare network
    state dict (then the network takes [0, 1] images)."""
    root = Path(data_root).resolve()
    path = (root / spec.weights).resolve()
    if not path.is_relative_to(root):
        raise BenchError(f"model.weights {spec.weights!r} resolves outside the data root {root}")
    if not path.is_file():
        raise DataError(f"model.weights: no such file {path}")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:
        raise DataError(f"model.weights: {path} is not a plain PyTorch state dict ({e})") from None
    net = create_model(spec.model, images.shape[-1], num_classes, images.shape[1])
    channels = images.shape[-1]
    model = Normalized(net, [0.0] * channels, [1.0] * channels)
    try:
        if any(k.startswith("net.") for k in state):
            model.load_state_dict(state)
        else:
            net.load_state_dict(state)
    except RuntimeError as e:
        raise DataError(f"model.weights: {path} does not fit {spec.model}: "
                        f"{str(e).splitlines()[0]}") from None
    return model


def run_unit(task: UnitTask) -> UnitResult:
    """Train (or resume, or load) then evaluate one unit; idempotent."""
    torch.set_num_threads(task.threads)
    if task.counts_path.exists():
        done = json.loads(task.counts_path.read_text())
        return UnitResult(task.param.label, task.seed, tuple(Count(**c) for c in done["counts"]),
                          tuple(done["history"]), done["train_s"], done["eval_s"], skipped=True)
    splits = load_eval_splits(task.spec.dataset, task.data_root, task.eval_dirs,
                              task.spec.corruptions, task.spec.severities)
    num_classes = task.num_classes
    t0 = time.perf_counter()
    final = task.folder / "model.pt"
    history: list[dict] = []
    if task.spec.weights:
        model = _model(task, splits[0].images, num_classes)
    else:
        images, labels = _train_images(task)
        model = _model(task, images, num_classes)
        if final.exists():
            model.load_state_dict(torch.load(final, map_location="cpu", weights_only=True))
            history = json.loads((task.folder / "history.json").read_text())
        else:
            model, history = train_classifier(
                model, images, labels, task.spec.train, seed=task.seed, device=task.device,
                checkpoint=task.folder / "checkpoint.pt", progress=task.progress,
                name=task.name)
            files.write_json(task.folder / "history.json", history)
            _save_state(final, model)
    train_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    counts = evaluate(model, splits, task.device, progress=task.progress, name=f"eval {task.name}")
    eval_s = time.perf_counter() - t0
    task.folder.mkdir(parents=True, exist_ok=True)
    files.write_json(task.counts_path, {"counts": [asdict(c) for c in counts],
                                        "history": history, "train_s": train_s,
                                        "eval_s": eval_s})
    return UnitResult(task.param.label, task.seed, tuple(counts), tuple(history), train_s, eval_s)


def _save_state(path: Path, model: torch.nn.Module) -> None:
    import io
    buf = io.BytesIO()
    torch.save({k: v.cpu() for k, v in model.state_dict().items()}, buf)
    path.parent.mkdir(parents=True, exist_ok=True)
    files.write_bytes(path, buf.getvalue())


# --------------------------------------------------------------------------- executors
def _init_worker(threads: int) -> None:
    torch.set_num_threads(threads)


def execute(tasks: list[UnitTask], executor: str = "local", jobs: int = 1,
            ray_address: str | None = None) -> list[UnitResult | BaseException]:
    """Run every task; a unit that fails yields its exception, the others go on."""
    if executor == "ray":
        return _execute_ray(tasks, ray_address)
    if executor != "local":
        raise BenchError(f"unknown executor {executor!r}; known: {', '.join(EXECUTORS)}")
    if jobs <= 1:
        out = []
        for t in tasks:
            try:
                out.append(run_unit(t))
            except NonFiniteLoss as e:
                out.append(e)
        return out
    results: list = [None] * len(tasks)
    with cf.ProcessPoolExecutor(jobs, mp_context=mp.get_context("spawn"),
                                initializer=_init_worker, initargs=(tasks[0].threads,)) as pool:
        futures = {pool.submit(run_unit, t): i for i, t in enumerate(tasks)}
        for f in cf.as_completed(futures):
            try:
                results[futures[f]] = f.result()
            except NonFiniteLoss as e:
                results[futures[f]] = e
    return results


def _execute_ray(tasks: list[UnitTask], address: str | None) -> list:
    try:
        import ray
    except ImportError:
        raise BenchError("--executor ray needs Ray: pip install '.[ray]'") from None
    if not ray.is_initialized():
        try:
            ray.init(address=address or "auto")
        except ConnectionError as e:
            raise BenchError(f"--executor ray: no Ray cluster at {address or 'auto'} ({e})") from None
    gpus = 1 if tasks and tasks[0].device.startswith("cuda") else 0
    remote = ray.remote(num_cpus=tasks[0].threads if tasks else 1, num_gpus=gpus)(run_unit)
    refs = [remote.remote(t) for t in tasks]
    out = []
    for ref in refs:
        try:
            out.append(ray.get(ref))
        except ray.exceptions.RayTaskError as e:
            cause = e.as_instanceof_cause()
            if isinstance(cause, NonFiniteLoss):
                out.append(cause)
            else:
                raise
    return out


# --------------------------------------------------------------------------- the run
@dataclass
class RunReport:
    folder: Path
    summary: dict
    seconds: dict[str, float]
    units: int
    skipped: int


def training_hash(spec: RunSpec) -> str:
    """What decides a unit's weights besides its parameter and seed (both in its path): the
    grid and the seed list are left out, so adding a parameter or a seed retrains nothing."""
    cfg = json.loads(spec.resolved)
    training = {k: v for k, v in cfg["training"].items() if k != "seeds"}
    return _digest({"dataset": cfg["dataset"], "model": cfg["model"], "training": training,
                    "family": cfg["augmentation"]["family"], "codec": cfg["codec"]})


def plan(spec: RunSpec, inputs: Inputs, data_root: Path, runs_root: Path, device: str,
         threads: int, progress: bool) -> list[UnitTask]:
    base = Path(runs_root) / spec.id / spec.profile / training_hash(spec)
    eval_dirs = tuple((split, limit, str(folder)) for split, (limit, folder) in inputs.eval_dirs.items())
    eval_hash = _digest({"evaluation": spec.config_hash("evaluation"),
                         "sets": {k: v for k, v in inputs.manifests.items()
                                  if k.startswith("corrupted")},
                         "corruptions": spec.corruptions, "severities": spec.severities})
    grid = spec.grid if not spec.weights else (AugmentSpec("none", ("-",)),)
    seeds = spec.seeds if not spec.weights else spec.seeds[:1]
    return [UnitTask(spec, s, seed, base / s.label / f"seed{seed}", Path(data_root),
                     tuple(inputs.augmented[m.label][0] for m in s.members()) if not spec.weights
                     else (), eval_dirs, eval_hash, len(inputs.train.classes), device, threads,
                     progress)
            for s in grid for seed in seeds]


def _digest(obj) -> str:
    import hashlib
    return hashlib.sha256(json.dumps(obj, sort_keys=True, default=str).encode()).hexdigest()[:12]


def rows_of(base: dict, results: list[UnitResult]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The results and history tables of finished units; ``base`` holds the columns every
    row shares (submission, profile, dataset, model, family)."""
    rows, hist = [], []
    for r in results:
        for c in r.counts:
            rows.append({**base, "split": c.split, "param": r.param, "seed": r.seed,
                         "corruption": c.corruption, "severity": c.severity, "band": c.band,
                         "n": c.n, "correct": c.correct, "accuracy": c.correct / c.n})
        for h in r.history:
            hist.append({"submission": base["submission"], "profile": base["profile"], "param": r.param,
                         "seed": r.seed, **h})
    return frame(rows, RESULT_COLUMNS), frame(hist, HISTORY_COLUMNS)


def device_name(device: str) -> str:
    if device.startswith("cuda"):
        return torch.cuda.get_device_name(torch.device(device))
    return f"cpu ({platform.processor() or platform.machine()}, {torch.get_num_threads()} threads)"


def run_submission(spec: RunSpec, *, data_root: Path, runs_root: Path = Path("runs"),
                   reports_root: Path = Path("reports"), device: str = "auto", jobs: int = 1,
                   executor: str = "local", ray_address: str | None = None,
                   progress: bool = True) -> RunReport:
    """The whole flow for one submission and profile; see the module docstring."""
    start = time.perf_counter()
    device = resolve_device(device)
    inputs = prepare(spec, Path(data_root), device, progress)
    threads = max(1, cpu_count() // max(jobs, 1)) if executor == "local" else 1
    tasks = plan(spec, inputs, data_root, runs_root, device, threads, progress)
    results = execute(tasks, executor, jobs, ray_address)
    failed = [r for r in results if isinstance(r, BaseException)]
    if failed:
        raise failed[0]
    rows, history = rows_of({"submission": spec.id, "profile": spec.profile,
                             "dataset": spec.dataset, "model": spec.model,
                             "family": spec.family}, results)
    seconds = dict(inputs.seconds)
    seconds["training (units)"] = sum(r.train_s for r in results if not r.skipped)
    seconds["evaluation (units)"] = sum(r.eval_s for r in results if not r.skipped)
    t0 = time.perf_counter()
    folder = Path(reports_root) / spec.id / spec.profile
    baseline_rows = _baseline(spec, rows, Path(reports_root))
    provenance = {
        "code_version": code_version(),
        "config_hash": spec.config_hash(),
        "source": spec.source,
        "data": inputs.manifests,
        "device": device_name(device),
        "torch": torch.__version__,
        "unit_seconds": {"train": sum(r.train_s for r in results),
                         "eval": sum(r.eval_s for r in results)},
    }
    meta = {"submission": spec.id, "name": spec.name, "authors": list(spec.authors),
            "description": spec.description, "url": spec.url, "dataset": spec.dataset,
            "profile": spec.profile, "model": spec.model, "family": spec.family}
    order = list(dict.fromkeys(t.param.label for t in tasks))
    summary = summarize(meta, rows, order, modes=spec.selection,
                        data=data_stats(spec, inputs), baseline_rows=baseline_rows,
                        provenance=provenance)
    write_parquet(folder / "results.parquet", rows)
    write_parquet(folder / "history.parquet", history)
    seconds["reports"] = time.perf_counter() - t0
    seconds["total"] = time.perf_counter() - start
    summary["provenance"]["wall_s"] = round(seconds["total"], 1)
    files.write_json(folder / "summary.json", summary)
    return RunReport(folder, summary, seconds, len(tasks),
                     sum(1 for r in results if r.skipped))


def _baseline(spec: RunSpec, rows: pd.DataFrame, reports_root: Path) -> pd.DataFrame | None:
    if spec.id == "baseline":
        return rows
    path = reports_root / "baseline" / spec.profile / "results.parquet"
    if not path.is_file():
        log.info("no baseline run at %s: mCE left out, mean error reported", path)
        return None
    return read_results(path)
