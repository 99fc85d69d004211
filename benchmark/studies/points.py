"""The per-parameter points of committed run reports, as flat arrays: what the studies built
on ``bench run`` (thesis Figs 3.4 / 3.5, seed 004's storage) read. Every value comes from a
``summary.json`` that ``bench verify`` recomputes from its rows, so these studies inherit
that check."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from corruptions.errors import DataError

from ..scoring.reports import RunFolder, held_out_pick, report_summary
from ..scoring.statistics import CLEAN_CELL, Bootstrap, choice_outcomes, replicates

TEXT = ("submission", "family", "param")
NUMBERS = ("bpp", "bytes", "file_bytes", "relative_size", "psnr", "ssim", "clean_acc",
           "clean_acc_std", "corrupt_acc", "corrupt_acc_std")


def gather(reports_root: Path, profile: str, submissions: tuple[str, ...]
           ) -> dict[str, np.ndarray]:
    """One entry per (submission, parameter) of each report, unions left out (they are not a
    point of a rate curve): text columns as unicode arrays, numbers as float64 (NaN where a
    report has none), plus ``chosen``: 1 where the parameter is the report's BDA pick on
    the held-out validation split."""
    cols: dict[str, list] = {k: [] for k in (*TEXT, *NUMBERS, "chosen")}
    for sub in submissions:
        s = report_summary(reports_root, sub, profile)
        held_out = held_out_pick(s)
        for param, d in s.per_param.items():
            if "+" in param:
                continue
            cols["submission"].append(sub)
            cols["family"].append(s.meta.family)
            cols["param"].append(param)
            for k in NUMBERS:
                value = getattr(d, k)
                cols[k].append(np.nan if value is None else float(value))
            cols["chosen"].append(1.0 if param == held_out else 0.0)
    return {k: np.asarray(v, dtype=np.str_ if k in TEXT else np.float64)
            for k, v in cols.items()}


def clean_outcomes(reports_root: Path, profile: str, submissions: tuple[str, ...]
                   ) -> dict[str, np.ndarray]:
    """Per-image outcomes on the clean test set of ``gather``'s entries, in its order:
    ``clean_correct`` (entries, seeds, images) and the ``seeds``, what the verdicts' intervals
    are resampled from. Every report must have kept its outcomes and run the same seeds on
    the same images, so that the entries pair."""
    correct, seeds = [], None
    for sub in submissions:
        folder = RunFolder.at(reports_root, sub, profile)
        s, found = folder.summary(), folder.required_outcomes()
        for param in s.per_param:
            if "+" in param:
                continue
            o = choice_outcomes(*found, param)
            if seeds is None:
                seeds, images = o.seeds, o.images
            if (o.seeds, o.images) != (seeds, images):
                raise DataError(f"{folder.folder}: seeds {o.seeds} on {o.images} test images, "
                                f"the others {seeds} on {images}: not paired")
            correct.append(o.correct[:, o.cells.index(CLEAN_CELL), :])
    return {"clean_correct": np.stack(correct).astype(bool),
            "seeds": np.asarray(seeds, dtype=np.int64)}


def accuracy_replicates(arrays: dict[str, np.ndarray], boot: Bootstrap) -> np.ndarray:
    """(entries, replicates): each entry's clean accuracy under the bootstrap's draws of
    seeds and test images (``clean_outcomes``'), the same draws for every entry, so that
    differences between entries are paired."""
    seeds = tuple(int(s) for s in arrays["seeds"])
    return np.stack([replicates(c, seeds, boot) for c in arrays["clean_correct"]])


def rows_of(arrays: dict[str, np.ndarray], where: np.ndarray | None = None) -> list[dict]:
    """The entries as dicts (NaN as None), in order."""
    n = len(arrays["param"])
    idx = np.arange(n) if where is None else np.flatnonzero(where)
    out = []
    for i in idx:
        row = {k: str(arrays[k][i]) for k in TEXT}
        for k in (*NUMBERS, "chosen"):
            v = float(arrays[k][i])
            row[k] = None if np.isnan(v) else v
        out.append(row)
    return out
