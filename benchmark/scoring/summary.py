"""``summary.json``: what a run reports, computed from its results table (and the training
data's statistics) by pure functions, so ``bench verify`` recomputes exactly this. Its types,
and how it is read and written, are in ``report``."""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import fields
from pathlib import Path

import pandas as pd

from corruptions import files
from corruptions.errors import IntegrityError

from .report import ParamPoint, Provenance, SelectionEntry, SubmissionMeta, Summary
from .selection import (
    CLEAN,
    COMMON,
    THESIS_TEN,
    Baseline,
    cbar_metrics,
    select,
    split_cbar,
    wide,
    without_identity,
)


# a parameter's training-data statistics, as ``inputs.data_stats`` gives them
DATA_FIELDS = ("bpp", "bytes", "file_bytes", "relative_size", "psnr", "ssim")


def per_param(rows: pd.DataFrame, order: Sequence[str], data: dict[str, dict],
              identity: Sequence[str] = ()) -> dict:
    """Each parameter on its own (seed mean and spread): the points of accuracy against
    bpp / PSNR / SSIM (thesis Figs 3.4, 3.5), and C-bar where it was evaluated."""
    rows, cbar_rows = split_cbar(rows)
    test = wide(rows, "test", order)
    out = {}
    for param in dict.fromkeys(test.index.get_level_values("param")):
        part = test.loc[param]
        common = [c for c in part.columns if c[0] in COMMON]
        ten = [c for c in part.columns if c[0] in without_identity(THESIS_TEN, identity)]
        corrupt = part[common].mean(axis=1) if common else None
        out[param] = {
            "clean_acc": float(part[(CLEAN, 0)].mean()),
            "clean_acc_std": float(part[(CLEAN, 0)].std(ddof=0)),
            "corrupt_acc": None if corrupt is None else float(corrupt.mean()),
            "corrupt_acc_std": None if corrupt is None else float(corrupt.std(ddof=0)),
            "corrupt_acc_thesis10": float(part[ten].mean(axis=1).mean()) if ten else None,
            **{k: data.get(param, {}).get(k) for k in DATA_FIELDS},
        }
        if not cbar_rows.empty:
            bar = cbar_metrics(cbar_rows, order, param, identity)
            out[param].update(cbar_acc=bar["cbar_acc"], cbar_acc_std=bar["cbar_acc_std"])
    return out


def summarize(meta: SubmissionMeta, rows: pd.DataFrame, order: Sequence[str], *,
              modes: Sequence[str], data: dict[str, dict],
              baseline_rows: pd.DataFrame | None, provenance: Provenance,
              original: dict | None = None, identity: Sequence[str] = ()) -> Summary:
    """The whole summary; ``original``: the untransformed training images' size;
    ``identity``: the corruptions that left the evaluated images unchanged (as their
    corrupted sets' manifests measured), named in the summary and left out of the averages
    they would inflate."""
    baseline = Baseline.from_rows(baseline_rows) if baseline_rows is not None else None
    selection = select(rows, order, modes=modes, baseline=baseline,
                       data=data, identity=identity)
    return Summary(
        meta=meta, params=tuple(order), seeds=tuple(sorted(int(s) for s in rows["seed"].unique())),
        corruptions=tuple(sorted(set(rows["corruption"]) - {CLEAN})),
        identity=tuple(sorted(identity)), baseline_found=baseline is not None,
        selection={m: {s: SelectionEntry.from_dict(e) for s, e in sources.items()}
                   for m, sources in selection.items()},
        per_param={p: ParamPoint(**v) for p, v in per_param(rows, order, data, identity).items()},
        training_data=data, original_data=original, provenance=provenance)


# every summary's fields besides the meta's, in the order ``summarize`` writes them
FIELDS = ("format", "params", "seeds", "corruptions", "baseline", "selection", "per_param",
          "training_data", "original_data", "provenance")


def check_fields(summary: dict, path: Path) -> dict:
    """``summary`` when it has every field of one (a file without some cannot be shown or
    rechecked: one line naming it and what is missing)."""
    if not isinstance(summary, dict):
        raise IntegrityError(f"{path}: not a summary (a JSON {type(summary).__name__})")
    missing = [k for k in (*(f.name for f in fields(SubmissionMeta)
                             if f.name not in SubmissionMeta.OPTIONAL), *FIELDS)
               if k not in summary]
    if missing:
        raise IntegrityError(f"{path}: not a summary (no {', '.join(missing)})")
    for key in ("submission", "profile"):  # they name folders and pages
        files.check_name(summary[key], f"{path}: {key}")
    return summary


def recompute(summary: Summary, rows: pd.DataFrame,
              baseline_rows: pd.DataFrame | None) -> Summary:
    """A summary recomputed from its results table, with the inputs the table does not hold
    (the training data's statistics, provenance, the identity corruptions) taken from the
    summary itself: what ``bench verify`` compares against the file, field by field."""
    return summarize(summary.meta, rows, summary.params, modes=list(summary.selection),
                     data=summary.training_data, baseline_rows=baseline_rows,
                     provenance=summary.provenance, original=summary.original_data,
                     identity=summary.identity or ())
