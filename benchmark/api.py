"""The Python API, for researchers with their own training code (as RobustBench's
``benchmark(model, ...)`` is for its users)::

    from benchmark.api import benchmark
    rows, summary = benchmark(my_model, "fashion-mnist", name="my_model")

``my_model`` is any ``torch.nn.Module`` that maps (B, C, H, W) images in [0, 1] to logits.
It is evaluated on the same corrupted sets, by the same code, as ``bench run`` evaluates a
submission's models; the rows and the summary have the same schema and are computed by the
same functions (one parameter ``-``, one seed).
"""
from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path

import pandas as pd
import torch
from torch import nn

import corruptions as C
from corruptions.device import resolve_device

from .datasets import resolve_data_root
from .pipeline.evaluate import evaluate
from .pipeline.inputs import eval_manifests, identity_corruptions, load_eval_splits, prepare_eval
from .pipeline.units import UnitResult, measured_here, rows_of
from .scoring.results import read_results
from .scoring.selection import MODES
from .scoring.report import Provenance, SubmissionMeta, Summary, UnitRecord
from .scoring.summary import summarize


def benchmark(model: nn.Module, dataset: str = "fashion-mnist", *, name: str = "model",
              data_root: str | Path | None = None, corruptions: str | Sequence[str] = "all",
              severities: Sequence[int] = C.SEVERITIES, test_images: int | None = None,
              validation_images: int | None = None, corruption_seed: int = 0,
              device: str = "auto", profile: str = "api", baseline: str | Path | None = None,
              cbar: str | Sequence[str] | None = None,
              progress: bool = True) -> tuple[pd.DataFrame, Summary]:
    """Evaluate ``model`` on the clean and corrupted test (and validation) images of
    ``dataset``; returns the results rows and the summary (``Summary``: ``to_dict()`` gives
    what ``summary.json`` holds). ``baseline`` is a baseline run's
    ``results.parquet`` for mCE (e.g. ``reports/baseline/cpu/results.parquet``); ``cbar``:
    CIFAR-10-C-bar corruptions to evaluate on test as well (``"cbar"``: all ten)."""
    root = resolve_data_root(data_root)
    device = resolve_device(device)
    names = tuple(C.parse_names(corruptions))
    unseen = tuple(C.parse_names(cbar)) if cbar else ()
    severities = tuple(sorted(severities))
    start = time.perf_counter()
    sets = prepare_eval(dataset, root, test_images, validation_images, names, severities,
                        corruption_seed, device, progress, unseen)
    manifests = eval_manifests(sets)
    splits = load_eval_splits(dataset, root, sets, names + unseen, severities)
    counts = evaluate(model, splits, device, progress=progress, name=f"eval {name}")
    meta = SubmissionMeta(submission=name, name=name, authors=(), description="", url=None,
                          dataset=dataset, profile=profile, model=type(model).__name__,
                          family="none")
    unit = measured_here(device, torch.get_num_threads(), 0.0, time.perf_counter() - start)
    rows, _ = rows_of(meta.row_fields(), [UnitResult("-", 0, tuple(counts), (), unit)])
    summary = summarize(
        meta, rows, ["-"],
        modes=MODES, data={}, baseline_rows=read_results(Path(baseline)) if baseline else None,
        provenance=Provenance(code_version=unit.code_version, data=manifests, device=unit.device,
                              torch=unit.torch, cpu_kind=unit.cpu_kind, date=unit.date,
                              units=(UnitRecord("-", 0, unit),),
                              wall_s=round(time.perf_counter() - start, 1)),
        identity=identity_corruptions(names + unseen, sets))
    return rows, summary
