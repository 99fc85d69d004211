"""A study's report folder, written whole (arrays, then the summary that ``summarize`` makes
of them), and read back; ``benchmark.verify.studies`` checks it."""
from __future__ import annotations

import datetime
import io
import logging
import time
from pathlib import Path

import numpy as np
import torch

from corruptions import files
from corruptions.device import cpu_kind
from corruptions.errors import IntegrityError
from corruptions.version import code_version

from ..scoring.reports import read_summary
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
    found, summary, config = load_study(folder)
    if found.name != study.name:
        raise IntegrityError(f"{folder}: a report of {found.name}, not of {study.name}")
    prov = {**summary["provenance"], "summarized_by": code_version()}
    return Path(folder), write_study(folder, study, summary["profile"], config,
                                     read_arrays(folder), prov)


def load_study(folder: Path) -> tuple[Study, dict, object]:
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
    config = load_study(folder)[2]
    return {name for name in (getattr(config, "dataset", None),
                              getattr(config, "codec_dataset", None)) if name}
