"""The two checks ``bench verify`` runs on a study report: the summary recomputed from the
committed arrays (always), and the arrays recomputed from nothing (whole, for the small
profile; one part drawn alone, for the large ones)."""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from corruptions.errors import IntegrityError

from ..studies import StudyContext
from ..studies.report import ARRAYS, SUMMARY, load_study, read_arrays, study_folders, summary_of
from .compare import Mismatch, Tolerance, compare_arrays, diff, tolerance_for
from .plan import Sample, draw_units

NOT_RECOMPUTED = ("provenance", "config")


def check_study(folder: Path) -> list[Mismatch]:
    """The summary's tables and verdicts against ``summarize`` of its own arrays."""
    study, summary, config = load_study(folder)
    fresh = json.loads(json.dumps(summary_of(study, summary["profile"], config,
                                             read_arrays(folder))))
    path = Path(folder) / SUMMARY
    return [Mismatch(path, f, a, b) for f, a, b in diff(summary, fresh)
            if f.split(".")[0].split("[")[0] not in NOT_RECOMPUTED]


def rerun_tolerance(folder: Path) -> Tolerance | None:
    """How closely a rerun here must match: exactly on the CPU kind that measured it, and
    exactly anywhere for a study computed from run reports alone (arithmetic on committed
    numbers, no trained weight whose last bits depend on the processor)."""
    study, summary, _ = load_study(folder)
    if study.from_reports:
        return None
    return tolerance_for(summary.get("provenance", {}).get("cpu_kind"))


def rerun_study(folder: Path, ctx: StudyContext) -> list[Mismatch]:
    """The arrays recomputed from the recorded config (in ``ctx``'s data and runs roots),
    compared with the committed ones: exactly on the CPU kind that measured them, within the
    cross-kind tolerance on another (``verify.Tolerance``)."""
    study, _, config = load_study(folder)
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
        study, summary, config = load_study(folder)
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
    study, _, config = load_study(ref.folder)
    part = next((p for p in study.parts(config) if p.label == ref.label), None)
    if part is None:
        raise IntegrityError(f"{ref.folder}: no part {ref.label!r} in its config")
    whole = read_arrays(ref.folder)
    reported = {k: (v[part.at[k]] if k in part.at else v) for k, v in whole.items()}
    return compare_arrays(reported, study.compute(part.config, ctx), Path(ref.folder) / ARRAYS,
                          rerun_tolerance(ref.folder))
