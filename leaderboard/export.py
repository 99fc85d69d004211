"""``bench export robustbench``: reports in RobustBench's corruption-leaderboard files.

Per dataset, ``<out>/<dataset>/corruptions/``: one ``model_info`` JSON per report (their keys,
percentages as strings with two decimals) and ``unaggregated_results.csv`` (two header rows,
corruption then severity; one row per model; accuracies as fractions), the layout their
``benchmark(..., to_disk=True)`` writes. Only the 15 common corruptions go in, as theirs.
A model is named ``<submission>_<profile>``.
"""
from __future__ import annotations

import io
import json
from pathlib import Path

import pandas as pd

from benchmark.scoring.report import SelectionEntry
from benchmark.scoring.selection import COMMON, chosen_accuracy
from corruptions import files
from corruptions.errors import BenchError

from .board import Report, load_reports


def model_name(report: Report) -> str:
    return f"{report.id}_{report.profile}"


def _pct(x) -> str:
    return f"{100 * x:.2f}"


def model_info(report: Report, entry: SelectionEntry) -> dict:
    m = report.summary.meta
    info = {
        "link": m.url or "",
        "name": m.name or report.id,
        "authors": ", ".join(m.authors),
        "additional_data": False,
        "number_forward_passes": 1,
        "dataset": report.dataset,
        "venue": "",
        "architecture": m.model,
        "eps": None,
        "clean_acc": _pct(entry.clean_acc),
        "reported": "",
        "corruptions_acc": _pct(entry.corrupt_acc),
    }
    if entry.mce is not None:
        info["corruptions_mce"] = _pct(entry.mce)
    return info


def cell_accuracies(report: Report, entry: SelectionEntry) -> pd.Series:
    """The chosen parameter's seed-mean test accuracy in every common (corruption, severity)
    cell (BDAD / BDADS: each cell's own choice)."""
    acc = chosen_accuracy(report.rows, report.summary.params, entry.chosen)
    acc = acc[[c for c in acc.index if c[0] in COMMON]]
    acc.index = pd.MultiIndex.from_tuples([(c, int(s)) for c, s in acc.index])
    return acc.rename(model_name(report))


def export_robustbench(reports_root: Path, out: Path, mode: str = "bda",
                       source: str = "val") -> list[Path]:
    """Write the files; returns their paths. Reports without the (mode, source) entry, or
    without common corruptions, are left out with the reason logged by the caller."""
    reports = load_reports(Path(reports_root))
    by_dataset: dict[str, list[tuple[Report, SelectionEntry]]] = {}
    for rep in reports:
        entry = rep.entry(mode, source)
        if entry is None or entry.corrupt_acc is None:
            continue
        by_dataset.setdefault(rep.dataset, []).append((rep, entry))
    if not by_dataset:
        raise BenchError(f"{reports_root}: no report has a {mode}/{source} entry with common "
                         "corruptions to export")
    written = []
    for dataset, items in by_dataset.items():
        folder = Path(out) / dataset.replace("/", "_").replace(":", "_") / "corruptions"
        folder.mkdir(parents=True, exist_ok=True)
        table = []
        for rep, entry in items:
            path = folder / f"{model_name(rep)}.json"
            files.write_bytes(path, (json.dumps(model_info(rep, entry), indent=2) + "\n").encode())
            written.append(path)
            table.append(cell_accuracies(rep, entry))
        frame = pd.DataFrame(table)
        order = sorted(frame.columns, key=lambda c: (COMMON.index(c[0]), c[1]))
        frame = frame[order]
        frame.columns = pd.MultiIndex.from_tuples(order)
        buf = io.StringIO()
        frame.to_csv(buf)
        path = folder / "unaggregated_results.csv"
        files.write_bytes(path, buf.getvalue().encode())
        written.append(path)
    return written
