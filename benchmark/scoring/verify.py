"""What ``bench verify`` checks: every reported number against the code that made it.

Two checks live here (the third, the rendered site, belongs to ``leaderboard``):

* ``check_summary``: a ``summary.json`` recomputed from its own ``results.parquet`` (and the
  baseline's, for mCE) by ``summary.recompute``, the same function ``bench run`` ends with,
  compared field by field. Integers exactly, floats to ``FLOAT_RTOL`` (the last bits of
  transcendental functions differ between CPU kinds; nothing a table shows does), so any
  difference is drift (an edited number, or code that changed since).
* ``rerun``: a submission's small profile rerun from scratch (fresh data root, runs and
  reports) and its raw rows compared with the committed ones, exactly. That holds on CPU for
  one torch build and CPU kind; anything looser would have to be stated in the report.
"""
from __future__ import annotations

import json
import logging
import hashlib
import math
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import pandas as pd

from corruptions.device import cpu_kind
from corruptions.errors import BenchError, DataError, IntegrityError

from .reports import (
    BASELINE,
    HISTORY,
    OUTCOMES,
    RESULTS,
    SPECTRA,
    STATISTICS,
    SUMMARY,
    RunFolder,
    baseline_results,
    run_folders,
)
from .results import OPTIONAL_HISTORY, OUTCOME_KEY, RESULT_COLUMNS
from .summary import recompute

log = logging.getLogger(__name__)
ROW_KEY = ["split", "param", "seed", "corruption", "severity"]
NOT_RECOMPUTED = ("provenance",)  # taken from the summary itself by recompute()


@dataclass(frozen=True)
class Mismatch:
    """One reported value that the code does not reproduce."""

    file: Path
    field: str
    reported: object
    recomputed: object

    def __str__(self) -> str:
        return (f"{self.file}: {self.field}: reported {_show(self.reported)}, "
                f"recomputed {_show(self.recomputed)}")


def _show(value) -> str:
    text = json.dumps(value, sort_keys=True) if not isinstance(value, str) else repr(value)
    return text if len(text) <= 120 else text[:117] + "..."


def diff(reported, recomputed, field: str = "",
         rtol: float | None = None) -> Iterator[tuple[str, object, object]]:
    """(field path, reported, recomputed) for every leaf that differs; floats to ``rtol``
    (``FLOAT_RTOL`` unless given), and a NaN equal to a NaN."""
    if isinstance(reported, dict) and isinstance(recomputed, dict):
        for key in list(reported) + [k for k in recomputed if k not in reported]:
            path = f"{field}.{key}" if field else str(key)
            if key not in recomputed:
                yield path, reported[key], "(absent)"
            elif key not in reported:
                yield path, "(absent)", recomputed[key]
            else:
                yield from diff(reported[key], recomputed[key], path, rtol)
    elif isinstance(reported, list) and isinstance(recomputed, list):
        if len(reported) != len(recomputed):
            yield f"{field}[len]", len(reported), len(recomputed)
        for i, (a, b) in enumerate(zip(reported, recomputed)):
            yield from diff(a, b, f"{field}[{i}]", rtol)
    elif not _same(reported, recomputed, FLOAT_RTOL if rtol is None else rtol):
        yield field, reported, recomputed


# Floats agree to this relative difference, integers exactly. The same code on another CPU
# kind differs in the last bits where numpy dispatches transcendental functions by SIMD width
# (log10 on AVX-512 is not log10 on AVX2) and where OpenBLAS picks kernels by CPU (the
# Bjøntegaard fits): 1e-12 is thousands of ulps, and a million times below any shown digit.
FLOAT_RTOL = 1e-12


@dataclass(frozen=True)
class Tolerance:
    """How closely a rerun must agree with the report it checks. On the CPU kind that wrote
    the report (``provenance.cpu_kind``): exactly. On another kind (AVX-512 against AVX2)
    torch's and oneDNN's float kernels round differently: a trained weight or a codec's
    reconstruction moves by a few ulps, and now and then an image crosses a decision
    boundary. Then floats agree to ``float_rtol`` (of the array's largest value), and what
    differs beyond it (such flips: a count by one, an outcome, a cell of an error map) adds up
    to at most ``flip_share`` of the file's total."""

    float_rtol: float
    flip_share: float
    across: str  # "AVX2 -> AVX512"; empty on the same kind


# measured between AVX2 and AVX-512 on the `ci` reports: floats within 3e-7 relative, and
# flips adding up to at most 0.07% of a file's total (two images of a report's 2,400
# evaluations); a forger's uniform 1% edit is five times the budget
CROSS_KIND_RTOL = 1e-4
CROSS_KIND_FLIPS = 0.002


def tolerance_for(recorded_kind: str | None) -> Tolerance | None:
    """None (exact) on the kind that wrote the report, or when it did not record one."""
    here = cpu_kind()
    if not recorded_kind or recorded_kind == here:
        return None
    return Tolerance(CROSS_KIND_RTOL, CROSS_KIND_FLIPS, f"{recorded_kind} -> {here}")


def _within(pairs: list[tuple[str, np.ndarray, np.ndarray]], tol: Tolerance) -> list[str]:
    """Names of the arrays that break ``tol``: none when every float agrees to the relative
    tolerance and the flips beyond it add up to at most ``tol.flip_share`` of the total."""
    beyond, flipped, total, text = [], 0.0, 0.0, []
    for name, a, b in pairs:
        if a.dtype.kind not in "biuf" or b.dtype.kind not in "biuf":  # labels: exactly
            if not np.array_equal(a, b):
                text.append(name)
            continue
        if a.dtype.kind == "b" or b.dtype.kind == "b":
            off = a != b
            flipped, total = flipped + float(off.sum()), total + a.size
        else:
            a64, b64 = a.astype(np.float64), b.astype(np.float64)
            scale = float(np.nanmax(np.abs(a64))) if a64.size and not np.isnan(a64).all() else 0.0
            close = np.isclose(a64, b64, rtol=0.0, atol=tol.float_rtol * scale, equal_nan=True)
            off = ~close
            flipped += float(np.nansum(np.abs(a64 - b64)[off]))
            total += float(np.nansum(np.abs(a64)))
        if off.any():
            beyond.append(name)
    return text + (beyond if flipped > tol.flip_share * max(total, 1.0) else [])


def _same(a, b, rtol: float = FLOAT_RTOL) -> bool:
    if isinstance(a, bool) or isinstance(b, bool):
        return a is b
    if isinstance(a, int) and isinstance(b, int):
        return a == b
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return (a == b or (math.isnan(a) and math.isnan(b))
                or math.isclose(a, b, rel_tol=rtol, abs_tol=0.0))
    return a == b


def _baseline_rows(summary: dict, folder: RunFolder) -> pd.DataFrame | None:
    """The rows the summary's mCE is relative to: none where it says no baseline was found,
    and a missing baseline report is an error (the summary could not be rechecked)."""
    if not summary.get("baseline", {}).get("found"):
        return None
    rows = baseline_results(folder.root, summary["profile"])
    if rows is None:
        raise IntegrityError(f"{folder.path(SUMMARY)}: its mCE is relative to the {BASELINE} "
                             f"report of {folder.root} [{summary['profile']}], which is missing")
    return rows


def check_summary(folder: Path | RunFolder) -> list[Mismatch]:
    """Every field of ``folder/summary.json`` (provenance aside) against its recomputation
    from ``folder/results.parquet`` (and the baseline's beside it, for mCE)."""
    report = RunFolder.of(folder)
    path = report.path(SUMMARY)
    summary = report.summary()
    fresh = recompute(summary, report.results(), _baseline_rows(summary, report))
    fresh = json.loads(json.dumps(fresh))  # the file's own types: str keys, lists
    return [Mismatch(path, f, a, b) for f, a, b in diff(summary, fresh)
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
        out += [Mismatch(path, f"row {i}.{col}", _py(rows[col].iat[i]), _py(keys[col].iat[i]))
                for i in bad[:20]]
    if out:
        return out
    marked = np.array([int(m.sum()) for m in masks], np.int64)
    bad = np.flatnonzero(rows["correct"].to_numpy() != marked)
    return [Mismatch(report.path(RESULTS), f"row{_key(tuple(rows[k].iat[i] for k in ROW_KEY))}"
                     ".correct", _py(rows["correct"].iat[i]), int(marked[i])) for i in bad[:20]]


def check_statistics(folder: Path | RunFolder) -> list[Mismatch]:
    """``statistics.json`` against ``statistics.folder_statistics`` recomputed from the
    outcomes (the baseline's too) with the bootstrap it records; a report with outcomes but
    no statistics, or the reverse, is named."""
    from .statistics import Bootstrap, folder_statistics

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


# --------------------------------------------------------------------------- reruns
def compare_rows(reported: pd.DataFrame, rerun: pd.DataFrame, file: Path,
                 limit: int = 20, tol: Tolerance | None = None) -> list[Mismatch]:
    """Row by row, every column exactly (or the numbers within ``tol``, across CPU kinds); a
    missing or extra row is named by its key."""
    a = reported[RESULT_COLUMNS].set_index(ROW_KEY).sort_index()
    b = rerun[RESULT_COLUMNS].set_index(ROW_KEY).sort_index()
    out = []
    for key in a.index.difference(b.index)[:limit]:
        out.append(Mismatch(file, f"row{_key(key)}", "present", "(absent)"))
    for key in b.index.difference(a.index)[:limit]:
        out.append(Mismatch(file, f"row{_key(key)}", "(absent)", "present"))
    both = a.index.intersection(b.index)
    a, b = a.loc[both], b.loc[both]
    numeric = [c for c in a.columns if pd.api.types.is_numeric_dtype(a[c])]
    loose = set() if tol is None else set(numeric) - set(_within(
        [(c, a[c].to_numpy(), b[c].to_numpy()) for c in numeric], tol))
    for col in a.columns:
        if col in loose:
            continue
        bad = ~((a[col] == b[col]) | (a[col].isna() & b[col].isna()))
        for key in a.index[bad.to_numpy()][:limit]:
            out.append(Mismatch(file, f"row{_key(key)}.{col}", _py(a.at[key, col]),
                                _py(b.at[key, col])))
    return out


def _key(key) -> str:
    return "[" + ",".join(f"{k}={v}" for k, v in zip(ROW_KEY, key)) + "]"


def _py(v):
    return v.item() if hasattr(v, "item") else v


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
    from ..pipeline.runner import run_submission

    report, spec = _report_and_spec(folder, reports_root)
    summary = report.summary()
    tol = tolerance_for(summary["provenance"].get("cpu_kind"))
    t0 = time.perf_counter()
    fresh = RunFolder(run_submission(
        spec, data_root=scratch / "data", runs_root=scratch / "runs",
        reports_root=scratch / "reports", device=device, progress=False,
        threads=recorded_threads(summary)).folder)
    outcomes, made = fresh.outcomes(), fresh.summary()
    out = compare_units(report, fresh.results(), fresh.history(),
                        _outcome_arrays(*outcomes) if outcomes else {},
                        {"training_data": made["training_data"],
                         "original_data": made["original_data"]}, tol)
    mine, theirs = report.path(SPECTRA), fresh.path(SPECTRA)
    if mine.is_file() or theirs.is_file():
        out += compare_arrays(report.spectra() or {}, fresh.spectra() or {}, mine, tol)
    return RerunResult(report.folder, out, time.perf_counter() - t0, tol)


@dataclass(frozen=True)
class Unit:
    """One unit of a report: what ``--rerun PROFILE:N`` draws and reruns alone."""

    folder: Path
    param: str
    seed: int
    seconds: float = 0.0  # what training and evaluating it took, as recorded
    cpu_kind: str | None = None  # the CPU kind its report was recorded on


def report_units(reports_root: Path, profile: str) -> list[Unit]:
    """Every unit of every report of ``profile``, in a fixed order."""
    out = []
    for f in run_folders(reports_root):
        if f.profile == profile:
            pairs = sorted(f.results()[["param", "seed"]].drop_duplicates().itertuples(
                index=False, name=None))
            summary = f.summary()
            took = _unit_seconds(summary, len(pairs))
            kind = summary["provenance"].get("cpu_kind")
            out += [Unit(f.folder, str(p), int(s), took.get((str(p), int(s)), took.get(None, 0.0)),
                         kind) for p, s in pairs]
    return out


def _unit_seconds(summary: dict, units: int) -> dict:
    """(param, seed) -> seconds from the units' own record; a report from before units kept
    one gives its mean (key None)."""
    prov = summary.get("provenance", {})
    if isinstance(prov.get("units"), list):
        return {(u["param"], u["seed"]): u["train_s"] + u["eval_s"] for u in prov["units"]}
    total = sum(prov.get("unit_seconds", {}).values())
    return {None: total / max(units, 1)}


def draw_units(units: list, n: int, key: str) -> list:
    """``n`` units (or study parts) drawn without replacement from ``key`` (a commit): every
    commit reruns another sample, and any machine draws the same one for the same commit."""
    rng = np.random.default_rng(int(hashlib.sha256(key.encode()).hexdigest()[:16], 16))
    picked = rng.choice(len(units), size=min(n, len(units)), replace=False)
    return [units[i] for i in sorted(picked)]


def rerun_unit(unit: Unit, reports_root: Path, scratch: Path, device: str = "cpu") -> RerunResult:
    """One unit rerun from nothing (its submission narrowed to its parameter and seed, in
    ``scratch``, with the threads its report recorded): its rows, outcomes, history and
    training-data statistics compared with the report's."""
    from ..augment import AugmentSpec
    from ..pipeline.inputs import data_stats, original_stats
    from ..pipeline.runner import run_units

    report, spec = _report_and_spec(unit.folder, reports_root)
    summary = report.summary()
    tol = tolerance_for(summary["provenance"].get("cpu_kind"))
    narrowed = replace(spec, grid=(AugmentSpec.parse(spec.family, unit.param),),
                       seeds=(unit.seed,))
    t0 = time.perf_counter()
    done = run_units(narrowed, data_root=scratch / "data", runs_root=scratch / "runs",
                     device=device, progress=False, threads=recorded_threads(summary))
    original = original_stats(done.inputs)
    data = {"training_data": data_stats(narrowed, done.inputs, original),
            "original_data": original}
    out = compare_units(report, done.rows, done.history,
                        _outcome_arrays(done.rows, done.outcomes),
                        json.loads(json.dumps(data)), tol, only=(unit.param, unit.seed))
    return RerunResult(unit.folder, out, time.perf_counter() - t0, tol, unit=unit)


HISTORY_COMPARED = ["param", "seed", "epoch", "loss", "accuracy", "lr"]  # seconds: the machine's


def compare_units(report: RunFolder, rows: pd.DataFrame, history: pd.DataFrame | None,
                  outcomes: dict[str, np.ndarray], data: dict,
                  tol: Tolerance | None, only: tuple[str, int] | None = None) -> list[Mismatch]:
    """A rerun's rows, per-image outcomes, training history and data statistics (``data``:
    ``training_data`` and ``original_data``, as a summary has them) against the report's;
    ``only`` narrows the report's to one unit (param, seed)."""
    summary = report.summary()
    mine = report.results()
    hist = report.history()
    reported = {k: summary[k] for k in data}
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
            for f, a, b in diff(reported, data, rtol=tol.float_rtol if tol else None)]
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
    from .audit import submission_of

    report = RunFolder(Path(folder), memo=True)  # its summary is read again to compare
    try:
        spec = submission_of(report.summary(), reports_root)
    except BenchError as e:
        raise DataError(f"{report.path(SUMMARY)}: {e}") from None
    return report, spec


def recorded_threads(summary: dict) -> int | None:
    """The torch threads the report's units ran with (a float sum's order, and so the last
    bits of a trained weight, can depend on it): the units' own record, or for a report
    from before units kept one, the count in its device line ("cpu (x86_64, 2 threads)");
    None where it says nothing (then this machine's default)."""
    prov = summary.get("provenance", {})
    units = prov.get("units")
    if isinstance(units, list):
        found = {u.get("threads") for u in units} - {0, None}
        return found.pop() if len(found) == 1 else None
    m = re.search(r"(\d+) threads", str(prov.get("device", "")))
    return int(m.group(1)) if m else None


def _outcome_arrays(keys: pd.DataFrame, masks: list[np.ndarray]) -> dict[str, np.ndarray]:
    """Outcomes by row key (``split|param|seed|corruption|severity``)."""
    return {"|".join(str(v) for v in k): m
            for k, m in zip(keys[OUTCOME_KEY].itertuples(index=False), masks)}


def compare_arrays(reported: dict[str, np.ndarray], rerun: dict[str, np.ndarray],
                   file: Path, tol: Tolerance | None = None) -> list[Mismatch]:
    """Named arrays compared exactly (shape, values, NaN equal to NaN; or within ``tol``,
    across CPU kinds); a missing or extra array is named."""
    out = []
    if tol is not None:
        same = [(k, reported[k], rerun[k]) for k in reported
                if k in rerun and reported[k].shape == rerun[k].shape]
        loose = {k for k, _, _ in same} - set(_within(same, tol))
        reported = {k: v for k, v in reported.items() if k not in loose}
        rerun = {k: v for k, v in rerun.items() if k not in loose}
    for k in dict.fromkeys([*reported, *rerun]):
        a, b = reported.get(k), rerun.get(k)
        if a is None or b is None:
            out.append(Mismatch(file, f"[{k}]", "present" if a is not None else "(absent)",
                                "present" if b is not None else "(absent)"))
        elif a.shape != b.shape or not _arrays_agree(a, b):
            out.append(Mismatch(file, f"[{k}]", _describe(a), _describe(b)))
    return out


def _arrays_agree(a: np.ndarray, b: np.ndarray) -> bool:
    """Exactly, except floats within ``FLOAT_RTOL`` (NaN equal to NaN)."""
    if a.dtype.kind in "fc" or b.dtype.kind in "fc":
        return bool(np.allclose(a, b, rtol=FLOAT_RTOL, atol=0.0, equal_nan=True))
    return np.array_equal(a, b)


def _describe(a: np.ndarray) -> str:
    if a.dtype.kind in "fiu" and a.size:
        return f"shape {a.shape}, sum {float(np.nansum(a))!r}"
    return f"shape {a.shape}: {a.ravel()[:4].tolist()}"


@dataclass(frozen=True)
class Sample:
    """``PROFILE:N[:SECONDS]``: N of the profile's units (and N parts of its studies) among
    those that took at most SECONDS."""

    profile: str
    n: int
    most: int | None = None
    kind: str | None = None  # the CPU kind drawn among: the verifying machine's


@dataclass(frozen=True)
class RerunPlan:
    """What ``bench verify --rerun`` reruns from scratch: whole reports (baseline first, so
    the others' mCE has its rows), units drawn alone, the profiles whose studies are
    recomputed whole, and the samples asked for (the studies' parts are drawn by the caller:
    scoring does not know the studies)."""

    reports: tuple[Path, ...] = ()
    units: tuple[Unit, ...] = ()
    study_profiles: tuple[str, ...] = ()
    samples: tuple[Sample, ...] = ()
    notes: tuple[str, ...] = ()  # what a sample could not draw, and why

    def __bool__(self) -> bool:
        return bool(self.reports or self.units or self.study_profiles)


RERUN_HELP = ("what to rerun from scratch and compare exactly (comma-separated): all; a "
              "profile (every report and study of it: ci); a report (ID or ID/PROFILE); "
              "PROFILE:N[:SECONDS] (N units of that profile's reports and N parts of its "
              "studies, drawn from the commit among those that took at most SECONDS); '' for "
              "nothing")


def plan_reruns(selector: str, reports_root: Path, key: str,
                kind: str | None = None) -> RerunPlan:
    """The reruns ``selector`` names (``RERUN_HELP``); a part that matches nothing is bad
    input, not an empty check. Samples (``PROFILE:N``) draw only among units recorded on
    ``kind`` (this machine's CPU kind by default): trained for epochs on another kind, a
    unit's float rounding compounds past the cross-kind tolerance (measured on ci runs of
    one epoch), so only there is a sampled rerun a check; a note says when none is."""
    kind = kind or cpu_kind()
    notes: list[str] = []
    folders = run_folders(reports_root)
    profiles = {f.profile for f in folders}
    reports: dict[Path, None] = {}
    units: list[Unit] = []
    samples: list[Sample] = []
    studies: dict[str, None] = {}
    for part in (p.strip() for p in selector.split(",") if p.strip()):
        if part == "all":
            reports.update(dict.fromkeys(f.folder for f in folders))
            studies.update(dict.fromkeys(sorted(profiles)))
        elif part in profiles:
            reports.update(dict.fromkeys(f.folder for f in folders if f.profile == part))
            studies[part] = None
        elif ":" in part:
            profile, n, most = (part.split(":") + [""])[:3]
            if (profile not in profiles or not n.isdigit() or int(n) < 1
                    or not (most == "" or most.isdigit())):
                raise BenchError(f"--rerun {part!r}: expected PROFILE:N[:SECONDS] with one of "
                                 f"{', '.join(sorted(profiles))}, N >= 1")
            pool = [u for u in report_units(reports_root, profile)
                    if not most or u.seconds <= int(most)]
            if not pool:
                raise BenchError(f"--rerun {part!r}: no unit of {profile} took at most "
                                 f"{most} s")
            alike = [u for u in pool if u.cpu_kind == kind]
            if not alike:
                notes.append(f"--rerun {part}: none of the {len(pool)} units was recorded on "
                             f"this CPU kind ({kind}); none drawn")
            units += draw_units(alike, int(n), key)
            samples.append(Sample(profile, int(n), int(most) if most else None, kind))
        else:
            sub, _, profile = part.partition("/")
            found = [f.folder for f in folders
                     if f.submission == sub and (not profile or f.profile == profile)]
            if not found:
                raise BenchError(f"--rerun {part!r} matches no report under {reports_root} "
                                 f"(profiles: {', '.join(sorted(profiles)) or 'none'})")
            reports.update(dict.fromkeys(found))
    order = {f.folder: i for i, f in enumerate(folders)}  # run_folders': baseline first
    whole = tuple(sorted(reports, key=order.__getitem__))
    return RerunPlan(whole, tuple(u for u in units if u.folder not in reports),
                     tuple(studies), tuple(s for s in samples if s.profile not in studies),
                     tuple(notes))


def run_plan(plan: RerunPlan, reports_root: Path, root: Path,
             device: str = "cpu") -> Iterator[RerunResult]:
    """Every rerun of ``plan`` in one scratch folder ``root`` (so each profile's corrupted
    sets are built once, as a fresh machine would; the studies rerun after, reusing its
    checkpoints)."""
    for folder in plan.reports:
        yield rerun(folder, reports_root, Path(root), device)
    for unit in plan.units:
        yield rerun_unit(unit, reports_root, Path(root), device)
