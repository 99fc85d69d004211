"""The committed capacity sweep (``reports/perf/capacity.json``, whose choice every
``capacity`` profile trains) under ``bench verify``: the table recomputed from its own
measured rows always (front, target, choice), its rows held to the configurations the code
sweeps, and, under ``--rerun perf``, rows trained and scored again from nothing. A row's
accuracies are compared (exactly on the CPU kind that measured it); its seconds are the
machine's and are not."""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..datasets import load_dataset
from ..perf.capacity import (
    CANDIDATES,
    DATASET,
    TABLE,
    candidate_of,
    measure,
    read_table,
    tabulate,
)
from .compare import Mismatch, Tolerance, compare_arrays, diff, tolerance_for

RERUN_NUMBERS = ("params", "val_acc", "val_acc_flip")  # what a rerun must reproduce


@dataclass(frozen=True)
class PerfRow:
    """One row of a committed sweep table: what ``--rerun perf[:N]`` trains again."""

    table: Path
    name: str
    cpu_kind: str | None = None  # the kind the table was measured on


def perf_tables(reports_root: Path) -> list[Path]:
    """The committed sweep tables: ``reports/perf/capacity.json``."""
    path = Path(reports_root) / "perf" / TABLE
    return [path] if path.is_file() else []


def perf_rows(reports_root: Path) -> list[PerfRow]:
    """Every row of every committed sweep table, in table order."""
    out = []
    for path in perf_tables(reports_root):
        table = read_table(path)
        out += [PerfRow(path, r["name"], table.get("cpu")) for r in table["rows"]]
    return out


def check_capacity_table(path: Path) -> list[Mismatch]:
    """The table against ``tabulate`` of its own rows; each row named for the configuration
    it holds; and its configurations those ``CANDIDATES`` sweeps, so the committed table is
    what ``bench perf capacity`` makes of today's code."""
    table = read_table(path)
    fresh = json.loads(json.dumps(tabulate(
        table["rows"], images=table["images"], validation_images=table["validation_images"],
        threads=table["threads"], cpu=table["cpu"])))
    out = [Mismatch(path, f, a, b) for f, a, b in diff(table, fresh)]
    out += [Mismatch(path, f"rows[{i}].name", r["name"], candidate_of(r).name)
            for i, r in enumerate(table["rows"]) if candidate_of(r).name != r["name"]]
    swept = sorted(c.name for c in CANDIDATES)
    listed = sorted(r["name"] for r in table["rows"])
    if listed != swept:
        out.append(Mismatch(path, "rows (configurations)", listed, swept))
    return out


def rerun_tolerance(path: Path) -> Tolerance | None:
    return tolerance_for(read_table(path).get("cpu"))


def rerun_capacity_rows(path: Path, names: list[str], data_root: Path) -> list[Mismatch]:
    """The rows ``names`` of the table trained and scored again under the table's own
    images and thread count: parameters and validation accuracies (plain, flipped) as
    committed, exactly on the recorded CPU kind."""
    table = read_table(path)
    train = load_dataset(DATASET, "train", data_root).head(table["images"])
    validation = load_dataset(DATASET, "validation", data_root).head(table["validation_images"])
    rows = {r["name"]: r for r in table["rows"]}
    committed, fresh = {}, {}
    for name in names:
        row = rows[name]
        again = measure(candidate_of(row), train, validation, table["threads"])
        for k in RERUN_NUMBERS:
            committed[f"{name}|{k}"] = np.asarray(row[k])
            fresh[f"{name}|{k}"] = np.asarray(again[k])
    return compare_arrays(committed, fresh, path, rerun_tolerance(path))
