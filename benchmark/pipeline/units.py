"""One unit of a run: (parameter or union, seed) trained, or its weights loaded, then
evaluated. ``run_unit`` is idempotent and takes everything by value or by path, so any
executor (this process, a process pool, Ray) can run it."""
from __future__ import annotations

import datetime
import json
import platform
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from corruptions import files
from corruptions.device import cpu_kind
from corruptions.errors import DataError
from corruptions.version import code_version

from ..augment import AugmentSpec, get_family
from ..augment.online import recipe_of
from ..augment.cache import load_augmented
from ..models import Normalized, create_model
from ..scoring.report import UnitProvenance
from ..scoring.results import (
    HISTORY_COLUMNS,
    OPTIONAL_HISTORY,
    RESULT_COLUMNS,
    frame,
    read_masks,
    write_masks,
)
from .evaluate import Count, FlipAveraged, evaluate
from .inputs import EvalSet, load_eval_splits
from .submission import RunSpec
from .train import build_classifier, train_classifier


@dataclass(frozen=True)
class UnitTask:
    """Everything one unit needs, by value or by path (picklable, for any executor)."""

    spec: RunSpec
    param: AugmentSpec
    seed: int
    folder: Path
    data_root: Path
    train_sets: tuple[Path, ...]
    eval_sets: tuple[EvalSet, ...]
    eval_hash: str
    num_classes: int
    device: str
    threads: int
    progress: bool = True
    weights: Path | None = None  # a checkpoint-only submission's file, as prepare resolved it
    online: AugmentSpec | None = None  # drawn anew for every batch (online.Recipe)

    @property
    def name(self) -> str:
        return f"{self.spec.id} {self.param} seed {self.seed}"

    @property
    def counts_path(self) -> Path:
        return self.folder / f"counts-{self.eval_hash}.json"

    @property
    def outcomes_path(self) -> Path:
        return self.folder / f"outcomes-{self.eval_hash}.npz"


def device_name(device: str) -> str:
    if device.startswith("cuda"):
        return torch.cuda.get_device_name(torch.device(device))
    return f"cpu ({platform.processor() or platform.machine()}, {torch.get_num_threads()} threads)"


def measured_here(device: str, threads: int, train_s: float, eval_s: float) -> UnitProvenance:
    """The record of a unit counted now, on this machine."""
    return UnitProvenance(code_version=code_version(), device=device_name(device),
                          threads=threads, cpu_kind=cpu_kind() if device == "cpu" else None,
                          torch=torch.__version__, date=datetime.date.today().isoformat(),
                          train_s=train_s, eval_s=eval_s)


@dataclass(frozen=True)
class UnitResult:
    param: str
    seed: int
    counts: tuple[Count, ...]
    history: tuple[dict, ...]
    provenance: UnitProvenance
    skipped: bool = False

    @property
    def seconds(self) -> float:
        return self.provenance.train_s + self.provenance.eval_s


def _train_images(task: UnitTask) -> tuple[np.ndarray, np.ndarray]:
    """The unit's training set: the concatenation of its members' augmented sets."""
    parts = [load_augmented(folder, verify=False) for folder in task.train_sets]
    images = np.concatenate([p[0] for p in parts])
    labels = np.concatenate([p[1] for p in parts])
    return images, labels


def _model(task: UnitTask, images: np.ndarray) -> Normalized:
    """The unit's classifier for ``images``' shape, seeded by the unit: built to be trained,
    or for a checkpoint-only submission its network with the file's weights."""
    spec = task.spec
    torch.manual_seed(task.seed)
    if not spec.weights:
        return build_classifier(spec.model, images, task.num_classes, spec.pretrained, spec.bands)
    net = create_model(spec.model, images.shape[-1], task.num_classes, images.shape[1],
                       bands=spec.bands)
    return load_weights(net, images.shape[-1], task.weights, spec.model)


def load_weights(net: torch.nn.Module, channels: int, path: Path, name: str) -> Normalized:
    """A checkpoint-only submission's weights (``path``, checked to lie under the data root
    when the inputs were prepared) in ``net`` (model ``name``, taking ``channels``), read with
    ``weights_only=True``. A ``bench run`` model.pt (normalisation included) or a bare
    network state dict (then the network takes [0, 1] images)."""
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:
        raise DataError(f"model.weights: {path} is not a plain PyTorch state dict ({e})") from None
    model = Normalized(net, [0.0] * channels, [1.0] * channels)
    try:
        if any(k.startswith("net.") for k in state):
            model.load_state_dict(state)
        else:
            net.load_state_dict(state)
    except RuntimeError as e:
        raise DataError(f"model.weights: {path} does not fit {name}: "
                        f"{str(e).splitlines()[0]}") from None
    return model


def run_unit(task: UnitTask) -> UnitResult:
    """Train (or resume, or load) then evaluate one unit; idempotent. A unit counted before
    per-image outcomes were kept is evaluated again from its saved model, not retrained."""
    torch.set_num_threads(task.threads)
    done = json.loads(task.counts_path.read_text()) if task.counts_path.exists() else None
    if done is not None and task.outcomes_path.exists():
        masks = read_masks(task.outcomes_path)
        counts = tuple(Count(**c, outcomes=m) for c, m in zip(done["counts"], masks, strict=True))
        return UnitResult(task.param.label, task.seed, counts, tuple(done["history"]),
                          UnitProvenance.read(done), skipped=True)
    splits = load_eval_splits(task.spec.dataset, task.data_root, task.eval_sets,
                              task.spec.corruptions + task.spec.cbar, task.spec.severities)
    t0 = time.perf_counter()
    final = task.folder / "model.pt"
    history: list[dict] = []
    # a checkpoint-only submission trains on nothing: its network takes the test images' shape
    images, labels = (splits[0].images, None) if task.spec.weights else _train_images(task)
    model = _model(task, images)
    if not task.spec.weights:
        if final.exists():
            model.load_state_dict(torch.load(final, map_location="cpu", weights_only=True))
            history = json.loads((task.folder / "history.json").read_text())
        else:
            model, history = train_classifier(
                model, images, labels, task.spec.train, seed=task.seed, device=task.device,
                checkpoint=task.folder / "checkpoint.pt", progress=task.progress,
                name=task.name, online=task.online and recipe_of(get_family(task.online.family),
                                                                 task.online.values[0]))
            files.write_json(task.folder / "history.json", history)
            files.write_torch(final, {k: v.cpu() for k, v in model.state_dict().items()})
    # a re-evaluation keeps the training time of the run that trained the model
    train_s = done["train_s"] if done is not None else time.perf_counter() - t0
    t0 = time.perf_counter()
    counts = evaluate(FlipAveraged(model) if task.spec.test_flip else model, splits, task.device,
                      progress=task.progress, name=f"eval {task.name}")
    eval_s = time.perf_counter() - t0
    task.folder.mkdir(parents=True, exist_ok=True)
    # outcomes first: the counts file, written last, marks the unit done
    write_masks(task.outcomes_path, [c.outcomes for c in counts])
    provenance = measured_here(task.device, task.threads, train_s, eval_s)
    files.write_json(task.counts_path, {"counts": [c.as_row() for c in counts],
                                        "history": history, "train_s": train_s,
                                        "eval_s": eval_s, "provenance": provenance.as_dict()})
    return UnitResult(task.param.label, task.seed, tuple(counts), tuple(history), provenance)


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
    extra = [c for c in OPTIONAL_HISTORY if any(c in h for h in hist)]
    return frame(rows, RESULT_COLUMNS), frame(hist, HISTORY_COLUMNS + extra)


def outcomes_of(results: list[UnitResult]) -> list:
    """The per-image outcomes of every row ``rows_of`` makes, in the same order."""
    return [c.outcomes for r in results for c in r.counts]
