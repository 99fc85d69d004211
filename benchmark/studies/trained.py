"""The classifiers ``bench run`` trained, for studies that probe them: found under the runs
root by the same unit folder the runner uses, trained first (by ``bench run`` itself) when
absent, so a study on a fresh machine gets exactly the models the reports were made with."""
from __future__ import annotations

import logging
from dataclasses import replace
from pathlib import Path

import torch

from corruptions.errors import BenchError, DataError

from ..augment import AugmentSpec
from ..datasets import load_dataset
from ..models import Normalized, create_model
from ..pipeline.submission import RunSpec
from ..scoring.reports import held_out_pick, report_summary
from .base import StudyContext

log = logging.getLogger(__name__)
BEST = "best"  # the parameter a report chose by BDA on the held-out validation split


def resolve_param(spec: RunSpec, param: str, reports_root: Path) -> str:
    """``best`` -> the report's held-out BDA pick; any other label must be in the grid."""
    if param == BEST:
        chosen = held_out_pick(report_summary(reports_root, spec.id, spec.profile))
        if chosen is None:
            raise DataError(f"{spec.id} [{spec.profile}]: no held-out BDA pick to call best")
        return chosen
    labels = ["-"] if spec.weights else list(spec.labels)
    if param not in labels:
        raise BenchError(f"{spec.id} [{spec.profile}]: no parameter {param!r}; the grid is "
                         f"{', '.join(labels)}")
    return param


def trained_classifiers(spec: RunSpec, label: str, ctx: StudyContext) -> list[tuple[int, Normalized]]:
    """(seed, model in eval mode) for every seed of the unit ``label``; units not trained
    yet are trained first, and only they (the submission narrowed to ``label``)."""
    from ..pipeline.runner import run_units, unit_folder

    if spec.weights:
        raise BenchError(f"{spec.id}: a checkpoint-only submission has no trained units to probe")
    paths = [(seed, unit_folder(spec, ctx.runs_root, label, seed) / "model.pt")
             for seed in spec.seeds]
    if not all(p.is_file() for _, p in paths):
        log.info("%s [%s] %s: no trained models under %s; training them first", spec.id,
                 spec.profile, label, ctx.runs_root)
        run_units(replace(spec, grid=(AugmentSpec.parse(spec.family, label),)),
                  data_root=ctx.data_root, runs_root=ctx.runs_root, device=ctx.device,
                  progress=ctx.progress)
    test = load_dataset(spec.dataset, "test", ctx.data_root)
    channels, side = test.channels, test.images.shape[1]
    out = []
    for seed, path in paths:
        net = create_model(spec.model, channels, len(test.classes), side, bands=spec.bands)
        model = Normalized(net, [0.0] * channels, [1.0] * channels)
        model.load_state_dict(torch.load(path, map_location="cpu", weights_only=True))
        out.append((seed, model.eval()))
    return out
