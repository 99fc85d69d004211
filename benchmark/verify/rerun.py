"""Reruns from nothing: a report's submission under its profile (or one unit of it) in a
scratch folder, with the threads it recorded, compared with what is committed: rows,
per-image outcomes, history, training-data statistics and spectra. Exactly on the CPU kind
that wrote the report; anything looser is the stated ``Tolerance``."""
from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import pandas as pd

from corruptions.errors import BenchError, DataError

from ..augment import AugmentSpec
from ..pipeline.runner import run_submission, run_units
from ..scoring.reports import HISTORY, OUTCOMES, RESULTS, SPECTRA, SUMMARY, RunFolder
from ..scoring.results import OPTIONAL_HISTORY, OUTCOME_KEY
from .audit import submission_of
from .compare import Mismatch, Tolerance, compare_arrays, compare_rows, diff, tolerance_for
from .plan import RerunPlan, Unit

@dataclass
class RerunResult:
    folder: Path
    mismatches: list[Mismatch]
    seconds: float
    tolerance: Tolerance | None = None  # None: compared exactly
    unit: Unit | None = None  # one unit rerun alone; None: the whole report


def rerun(folder: Path, reports_root: Path, scratch: Path, device: str = "cpu") -> RerunResult:
    """The submission of ``folder``'s summary rerun under its profile from nothing (data root,
    runs and reports inside ``scratch``) with the threads it recorded; its rows, outcomes,
    history, training-data statistics and spectra compared with the reported ones (the rest
    of the summary follows from them, as ``check_summary`` shows)."""
    report, spec = _report_and_spec(folder, reports_root)
    prov = report.summary().provenance
    tol = tolerance_for(prov.cpu_kind)
    t0 = time.perf_counter()
    fresh = RunFolder(run_submission(
        spec, data_root=scratch / "data", runs_root=scratch / "runs",
        reports_root=scratch / "reports", device=device, progress=False,
        threads=prov.threads_recorded()).folder)
    outcomes, made = fresh.outcomes(), fresh.summary().to_dict()
    out = compare_units(report, fresh.results(), fresh.history(),
                        _outcome_arrays(*outcomes) if outcomes else {},
                        {k: made[k] for k in ("training_data", "original_data", "identity")},
                        tol)
    mine, theirs = report.path(SPECTRA), fresh.path(SPECTRA)
    if mine.is_file() or theirs.is_file():
        out += compare_arrays(report.spectra() or {}, fresh.spectra() or {}, mine, tol)
    return RerunResult(report.folder, out, time.perf_counter() - t0, tol)


def rerun_unit(unit: Unit, reports_root: Path, scratch: Path, device: str = "cpu") -> RerunResult:
    """One unit rerun from nothing (its submission narrowed to its parameter and seed, in
    ``scratch``, with the threads its report recorded): its rows, outcomes, history and
    training-data statistics compared with the report's."""
    report, spec = _report_and_spec(unit.folder, reports_root)
    prov = report.summary().provenance
    tol = tolerance_for(prov.cpu_kind)
    narrowed = replace(spec, grid=(AugmentSpec.parse(spec.family, unit.param),),
                       seeds=(unit.seed,))
    t0 = time.perf_counter()
    done = run_units(narrowed, data_root=scratch / "data", runs_root=scratch / "runs",
                     device=device, progress=False, threads=prov.threads_recorded())
    data = {"training_data": done.inputs.training.per_param,
            "original_data": done.inputs.training.original,
            "identity": list(done.inputs.identity)}
    out = compare_units(report, done.rows, done.history,
                        _outcome_arrays(done.rows, done.outcomes),
                        json.loads(json.dumps(data)), tol, only=(unit.param, unit.seed))
    return RerunResult(unit.folder, out, time.perf_counter() - t0, tol, unit=unit)


HISTORY_COMPARED = ["param", "seed", "epoch", "loss", "accuracy", "lr"]  # seconds: the machine's


def compare_units(report: RunFolder, rows: pd.DataFrame, history: pd.DataFrame | None,
                  outcomes: dict[str, np.ndarray], data: dict,
                  tol: Tolerance | None, only: tuple[str, int] | None = None) -> list[Mismatch]:
    """A rerun's rows, per-image outcomes, training history and data statistics (``data``:
    ``training_data``, ``original_data`` and ``identity``, as a summary has them) against the
    report's; ``only`` narrows the report's to one unit (param, seed)."""
    written = report.summary().to_dict()
    mine = report.results()
    hist = report.history()
    reported = {k: written.get(k) for k in data}
    kept = report.outcomes()
    reported_outcomes = _outcome_arrays(*kept) if kept else None
    if only is not None:
        mine = mine[(mine["param"] == only[0]) & (mine["seed"] == only[1])]
        hist = None if hist is None else hist[(hist["param"] == only[0]) & (hist["seed"] == only[1])]
        reported["training_data"] = {only[0]: reported["training_data"].get(only[0])}
        unit = [only[0], str(only[1])]  # a key is split|param|seed|corruption|severity
        reported_outcomes = None if reported_outcomes is None else {
            k: v for k, v in reported_outcomes.items() if k.split("|")[1:3] == unit}
    out = compare_rows(mine, rows, report.path(RESULTS), tol=tol)
    out += [Mismatch(report.path(SUMMARY), f, a, b)
            for f, a, b in diff(reported, data, tol=tol)]
    if reported_outcomes is not None:  # reports from before outcomes were kept have none
        out += compare_arrays(reported_outcomes, outcomes, report.path(OUTCOMES), tol)
    if hist is not None and history is not None:
        cols = HISTORY_COMPARED + [c for c in OPTIONAL_HISTORY if c in hist.columns]
        out += compare_arrays(_history_arrays(hist[cols]), _history_arrays(history[cols]),
                              report.path(HISTORY), tol)
    return out


def _history_arrays(history: pd.DataFrame) -> dict[str, np.ndarray]:
    """A history's numbers by column and unit (``loss|0.012|1``), epochs in order."""
    out = {}
    for (param, seed), part in history.sort_values("epoch").groupby(["param", "seed"]):
        for col in history.columns.difference(["param", "seed"]):
            values = part[col].to_list()
            out[f"{col}|{param}|{seed}"] = np.asarray(
                [np.asarray(v, np.float64) for v in values])
    return out


def _report_and_spec(folder: Path, reports_root: Path):
    report = RunFolder(Path(folder), memo=True)  # its summary is read again to compare
    try:
        spec = submission_of(report.summary(), reports_root)
    except BenchError as e:
        raise DataError(f"{report.path(SUMMARY)}: {e}") from None
    return report, spec


def _outcome_arrays(keys: pd.DataFrame, masks: list[np.ndarray]) -> dict[str, np.ndarray]:
    """Outcomes by row key (``split|param|seed|corruption|severity``)."""
    return {"|".join(str(v) for v in k): m
            for k, m in zip(keys[OUTCOME_KEY].itertuples(index=False), masks)}


def run_plan(plan: RerunPlan, reports_root: Path, root: Path,
             device: str = "cpu") -> Iterator[RerunResult]:
    """Every rerun of ``plan`` in one scratch folder ``root`` (so each profile's corrupted
    sets are built once, as a fresh machine would; the studies rerun after, reusing its
    checkpoints)."""
    for folder in plan.reports:
        yield rerun(folder, reports_root, Path(root), device)
    for unit in plan.units:
        yield rerun_unit(unit, reports_root, Path(root), device)

