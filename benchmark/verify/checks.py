"""The checks of a run report that need no rerun: its ``summary.json`` recomputed from its
own ``results.parquet`` (and the baseline's, for mCE) by ``summary.recompute``, the same
function ``bench run`` ends with, compared field by field (integers exactly, floats to
``FLOAT_RTOL``), so any difference is drift: an edited number, or code that changed since;
its rows against their per-image outcomes; its ``statistics.json`` against the outcomes."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from corruptions.errors import IntegrityError

from ..scoring.reports import (
    BASELINE,
    OUTCOMES,
    RESULTS,
    STATISTICS,
    SUMMARY,
    RunFolder,
    read_summary,
)
from ..scoring.report import Summary
from ..scoring.results import OUTCOME_KEY
from ..scoring.selection import CLEAN
from ..scoring.statistics import Bootstrap, baseline_report, folder_statistics
from ..scoring.summary import recompute
from .compare import ROW_KEY, Mismatch, diff, row_label, plain

NOT_RECOMPUTED = ("provenance",)  # taken from the summary itself by recompute()


def _baseline_rows(summary: Summary, folder: RunFolder) -> pd.DataFrame | None:
    """The rows the summary's mCE is relative to: none where it says no baseline was found,
    and a missing baseline report is an error (the summary could not be rechecked)."""
    if not summary.baseline_found:
        return None
    found = baseline_report(folder.root, summary.meta.profile)
    if found is None:
        raise IntegrityError(f"{folder.path(SUMMARY)}: its mCE is relative to the {BASELINE} "
                             f"report of {folder.root} [{summary.meta.profile}], which is "
                             "missing")
    return found.rows


def check_summary(folder: Path | RunFolder) -> list[Mismatch]:
    """Every field of ``folder/summary.json`` as written (provenance aside; a key the types do
    not know is named too) against its recomputation from ``folder/results.parquet`` (and
    the baseline's beside it, for mCE)."""
    report = RunFolder.of(folder)
    path = report.path(SUMMARY)
    summary = report.summary()
    fresh = recompute(summary, report.results(), _baseline_rows(summary, report)).to_dict()
    fresh = json.loads(json.dumps(fresh))  # the file's own types: str keys, lists
    return [Mismatch(path, f, a, b) for f, a, b in diff(read_summary(path), fresh)
            if f.split(".")[0].split("[")[0] not in NOT_RECOMPUTED]


def check_outcomes(folder: Path | RunFolder) -> list[Mismatch]:
    """Every row of ``folder/results.parquet`` against its per-image outcomes: the same rows
    in the same order, the same ``n``, and ``correct`` equal to the images marked correct."""
    report = RunFolder.of(folder)
    path = report.path(OUTCOMES)
    rows = report.results()
    keys, masks = report.required_outcomes()
    if len(keys) != len(rows):
        return [Mismatch(path, "rows", len(rows), len(keys))]
    out = []
    for col in OUTCOME_KEY + ["n"]:
        bad = np.flatnonzero(rows[col].to_numpy() != keys[col].to_numpy())
        out += [Mismatch(path, f"row {i}.{col}", plain(rows[col].iat[i]), plain(keys[col].iat[i]))
                for i in bad[:20]]
    if out:
        return out
    marked = np.array([int(m.sum()) for m in masks], np.int64)
    bad = np.flatnonzero(rows["correct"].to_numpy() != marked)
    return [Mismatch(report.path(RESULTS), f"row{row_label(tuple(rows[k].iat[i] for k in ROW_KEY))}"
                     ".correct", plain(rows["correct"].iat[i]), int(marked[i])) for i in bad[:20]]


def check_identity(folder: Path | RunFolder) -> list[Mismatch]:
    """The corruptions a summary names as the identity on its images (left out of the
    unseen pick and the thesis-ten average): each among its corruptions and, where the
    report kept per-image outcomes, each of its rows classified image for image as the clean
    row of the same split, parameter and seed (the same images, the same model)."""
    report = RunFolder.of(folder)
    path, summary = report.path(SUMMARY), report.summary()
    identity = summary.identity or ()
    out = [Mismatch(path, "identity", c, "not one of its corruptions")
           for c in identity if c not in summary.corruptions]
    found = report.outcomes()
    if out or not identity or found is None:
        return out
    keys, masks = found
    clean = {(k.split, k.param, k.seed): m for k, m in zip(keys.itertuples(), masks)
             if k.corruption == CLEAN}
    for k, m in zip(keys.itertuples(), masks):
        if k.corruption in identity and not np.array_equal(m, clean.get((k.split, k.param, k.seed))):
            out.append(Mismatch(report.path(OUTCOMES), f"identity: {k.corruption} {k.severity} "
                                f"[{k.split}, {k.param}, seed {k.seed}]",
                                "classified as the clean images", "classified otherwise"))
    return out[:20]


def check_statistics(folder: Path | RunFolder) -> list[Mismatch]:
    """``statistics.json`` against ``statistics.folder_statistics`` recomputed from the
    outcomes (the baseline's too) with the bootstrap it records; a report with outcomes but
    no statistics, or the reverse, is named."""
    report = RunFolder.of(folder)
    path, stored = report.path(STATISTICS), report.statistics()
    has_outcomes = report.path(OUTCOMES).is_file()
    if stored is None:
        return [Mismatch(path, "(file)", "(absent)", "present")] if has_outcomes else []
    if not has_outcomes:
        return [Mismatch(path, "(file)", "present", "(no outcomes to derive it from)")]
    b = stored.get("bootstrap", {})
    boot = Bootstrap(int(b.get("seed", 0)), int(b.get("replicates", 2000)), float(b.get("level", 0.95)))
    fresh = json.loads(json.dumps(folder_statistics(report, boot)))
    return [Mismatch(path, f, a, b) for f, a, b in diff(stored, fresh)]


