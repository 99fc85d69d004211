"""A study's report folder, written whole, and the two checks ``bench verify`` runs on it:
the summary recomputed from the committed arrays (always), and the arrays recomputed from
nothing (the small profile)."""
from __future__ import annotations

import datetime
import io
import json
import logging
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from corruptions import files
from corruptions.device import cpu_kind
from corruptions.errors import IntegrityError
from corruptions.version import code_version

from ..scoring.reports import read_summary
from ..scoring.verify import (
    Mismatch,
    Sample,
    Tolerance,
    compare_arrays,
    diff,
    draw_units,
    tolerance_for,
)
from .base import (
    Study,
    StudyContext,
    config_from_json,
    config_json,
    get_study,
    json_ready,
)

log = logging.getLogger(__name__)
STUDIES = "studies"  # reports/studies/<name>/<profile>/
ARRAYS = "arrays.npz"
SUMMARY = "summary.json"
FORMAT = "study/1"
NOT_RECOMPUTED = ("provenance", "config")


def study_dir(reports_root: Path, name: str, profile: str) -> Path:
    return Path(reports_root) / STUDIES / name / profile


def study_folders(reports_root: Path) -> list[Path]:
    return sorted(p.parent for p in (Path(reports_root) / STUDIES).glob(f"*/*/{SUMMARY}"))


def read_arrays(folder: Path) -> dict[str, np.ndarray]:
    return files.read_npz(Path(folder) / ARRAYS)


def summary_of(study: Study, profile: str, config, arrays: dict[str, np.ndarray]) -> dict:
    """Everything of the summary but provenance: a pure function of config and arrays."""
    body = study.summarize(config, arrays)
    return json_ready({"format": FORMAT, "study": study.name, "title": study.title,
                       "papers": list(study.papers), "profile": profile,
                       "config": config_json(config),
                       "tables": {k: t.as_dict() for k, t in body["tables"].items()},
                       "verdicts": [v.__dict__ for v in body["verdicts"]],
                       **{k: v for k, v in body.items() if k not in ("tables", "verdicts")}})


def write_study(folder: Path, study: Study, profile: str, config, arrays: dict[str, np.ndarray],
                provenance: dict) -> dict:
    """arrays.npz, then summary.json (last: a folder with a summary is complete)."""
    summary = summary_of(study, profile, config, arrays)
    summary["provenance"] = provenance
    buf = io.BytesIO()
    np.savez_compressed(buf, **arrays)
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / SUMMARY).unlink(missing_ok=True)
    files.write_bytes(folder / ARRAYS, buf.getvalue())
    files.write_json(folder / SUMMARY, summary)
    return summary


def provenance(ctx: StudyContext, seconds: float) -> dict:
    return {"code_version": code_version(), "torch": torch.__version__, "device": ctx.device,
            "cpu_kind": cpu_kind(), "date": datetime.date.today().isoformat(), "wall_s": round(seconds, 1)}


def run_study(study: Study, profile: str, ctx: StudyContext, config=None) -> tuple[Path, dict]:
    """Compute and write ``study`` under ``profile`` (its profile's config unless given)."""
    t0 = time.perf_counter()
    config = study.resolve(config if config is not None else study.profile(profile), ctx)
    arrays = study.compute(config, ctx)
    folder = study_dir(ctx.reports_root, study.name, profile)
    return folder, write_study(folder, study, profile, config, arrays,
                               provenance(ctx, time.perf_counter() - t0))


def resummarize(study: Study, folder: Path) -> tuple[Path, dict]:
    """The committed report's summary rewritten from its own arrays and config by today's
    ``summarize`` (provenance kept, ``summarized_by`` added): for a change to how a study
    reads its measurements, without measuring again."""
    found, summary, config = _load(folder)
    if found.name != study.name:
        raise IntegrityError(f"{folder}: a report of {found.name}, not of {study.name}")
    prov = {**summary["provenance"], "summarized_by": code_version()}
    return Path(folder), write_study(folder, study, summary["profile"], config,
                                     read_arrays(folder), prov)


def _load(folder: Path) -> tuple[Study, dict, object]:
    path = Path(folder) / SUMMARY
    summary = read_summary(path)
    if summary.get("format") != FORMAT or "study" not in summary:
        raise IntegrityError(f"{path}: not a study summary")
    study = get_study(summary["study"])
    files.check_name(summary.get("profile"), f"{path}: profile")
    return study, summary, config_from_json(study, summary["config"])


def study_datasets(folder: Path) -> set[str]:
    """The datasets a rerun of the study reads (its test set, and what its codecs train
    on), so that ``verify`` can load them before hours of reruns rather than stop midway."""
    config = _load(folder)[2]
    return {name for name in (getattr(config, "dataset", None),
                              getattr(config, "codec_dataset", None)) if name}


def check_study(folder: Path) -> list[Mismatch]:
    """The summary's tables and verdicts against ``summarize`` of its own arrays."""
    study, summary, config = _load(folder)
    fresh = json.loads(json.dumps(summary_of(study, summary["profile"], config,
                                             read_arrays(folder))))
    path = Path(folder) / SUMMARY
    return [Mismatch(path, f, a, b) for f, a, b in diff(summary, fresh)
            if f.split(".")[0].split("[")[0] not in NOT_RECOMPUTED]


def rerun_tolerance(folder: Path) -> Tolerance | None:
    """How closely a rerun here must match: exactly on the CPU kind that measured it."""
    return tolerance_for(_load(folder)[1].get("provenance", {}).get("cpu_kind"))


def rerun_study(folder: Path, ctx: StudyContext) -> list[Mismatch]:
    """The arrays recomputed from the recorded config (in ``ctx``'s data and runs roots),
    compared with the committed ones: exactly on the CPU kind that measured them, within the
    cross-kind tolerance on another (``verify.Tolerance``)."""
    study, _, config = _load(folder)
    return compare_arrays(read_arrays(folder), study.compute(config, ctx), Path(folder) / ARRAYS,
                          rerun_tolerance(folder))


@dataclass(frozen=True)
class PartRef:
    """One part of a committed study (``StudyPart``), as ``--rerun PROFILE:N`` draws it."""

    folder: Path
    label: str
    seconds: float  # the study's recorded time shared evenly over its parts
    cpu_kind: str | None = None  # the CPU kind the study was computed on


def study_parts(reports_root: Path, profile: str) -> list[PartRef]:
    """Every part of every study of ``profile`` that has parts, in a fixed order."""
    out = []
    for folder in study_folders(reports_root):
        if folder.name != profile:
            continue
        study, summary, config = _load(folder)
        parts = study.parts(config)
        prov = summary.get("provenance", {})
        took = float(prov.get("wall_s") or 0.0) / max(len(parts), 1)
        out += [PartRef(folder, p.label, took, prov.get("cpu_kind")) for p in parts]
    return out


def draw_parts(reports_root: Path, sample: Sample, key: str) -> list[PartRef]:
    """The study parts ``sample`` asks for (``plan_reruns``' sample: its profile, count,
    time limit and CPU kind, as the units were drawn), from ``key`` (a commit), apart from
    the run units."""
    pool = [p for p in study_parts(reports_root, sample.profile)
            if (sample.most is None or p.seconds <= sample.most) and p.cpu_kind == sample.kind]
    return draw_units(pool, sample.n, f"studies:{key}")


def rerun_part(ref: PartRef, ctx: StudyContext) -> list[Mismatch]:
    """One part recomputed from its inputs and compared with its place in the committed
    arrays (the rest of them as they are), as ``rerun_study`` compares the whole."""
    study, _, config = _load(ref.folder)
    part = next((p for p in study.parts(config) if p.label == ref.label), None)
    if part is None:
        raise IntegrityError(f"{ref.folder}: no part {ref.label!r} in its config")
    whole = read_arrays(ref.folder)
    reported = {k: (v[part.at[k]] if k in part.at else v) for k, v in whole.items()}
    return compare_arrays(reported, study.compute(part.config, ctx), Path(ref.folder) / ARRAYS,
                          rerun_tolerance(ref.folder))
