"""``bench run``: a submission's units trained and evaluated, then its reports written.

A *unit* (``units``) is one (parameter or union, seed): train a classifier on the augmented
training set, then count its correct predictions on the clean and corrupted test (and
validation) images. Units are idempotent: each writes its counts last, atomically, under
``runs/<id>/<profile>/<training hash>/<param>/seed<k>/``, and a unit whose counts exist is
skipped; a killed unit resumes from its last epoch checkpoint. Everything a unit needs is
built first, in this process (``inputs``: corrupted sets, augmented sets, their codecs), so
units can run here, in ``--jobs N`` local processes, or on a Ray cluster. This module plans
the units, runs them with an executor and writes the reports.
"""
from __future__ import annotations

import concurrent.futures as cf
import datetime
import logging
import multiprocessing as mp
import time
from dataclasses import dataclass, replace
from pathlib import Path

import pandas as pd

from corruptions.device import cpu_count, resolve_device
from corruptions.errors import BenchError
from corruptions.version import code_version

from ..augment import AugmentSpec
from ..scoring.reports import BASELINE, RunFolder
from ..scoring.statistics import (
    BaselineReport,
    baseline_report,
    comparable_baseline,
    report_statistics,
)
from ..scoring.report import Provenance, Summary, UnitRecord
from ..scoring.summary import summarize
from .inputs import (
    EvalSet,
    Inputs,
    eval_manifests,
    prepare,
    transformed_manifests,
)
from .submission import RunSpec, digest
from .train import NonFiniteLoss
from .units import UnitResult, UnitTask, outcomes_of, rows_of, run_unit

log = logging.getLogger(__name__)
EXECUTORS = ("local", "ray")


# --------------------------------------------------------------------------- executors
def execute(tasks: list[UnitTask], executor: str = "local", jobs: int = 1,
            ray_address: str | None = None) -> list[UnitResult | BaseException]:
    """Run every task; a unit that fails yields its exception, the others go on."""
    if executor == "ray":
        return _execute_ray(tasks, ray_address)
    if executor != "local":
        raise BenchError(f"unknown executor {executor!r}; known: {', '.join(EXECUTORS)}")
    if jobs <= 1:
        out = []
        for t in tasks:
            try:
                out.append(run_unit(t))
            except NonFiniteLoss as e:
                out.append(e)
        return out
    results: list = [None] * len(tasks)
    # each unit sets its own torch threads (run_unit), here or on Ray alike
    with cf.ProcessPoolExecutor(jobs, mp_context=mp.get_context("spawn")) as pool:
        futures = {pool.submit(run_unit, t): i for i, t in enumerate(tasks)}
        for f in cf.as_completed(futures):
            try:
                results[futures[f]] = f.result()
            except NonFiniteLoss as e:
                results[futures[f]] = e
    return results


def _execute_ray(tasks: list[UnitTask], address: str | None) -> list:
    try:
        import ray
    except ImportError:
        raise BenchError("--executor ray needs Ray: pip install '.[ray]'") from None
    if not ray.is_initialized():
        try:
            ray.init(address=address or "auto")
        except ConnectionError as e:
            raise BenchError(f"--executor ray: no Ray cluster at {address or 'auto'} ({e})") from None
    gpus = 1 if tasks and tasks[0].device.startswith("cuda") else 0
    need = tasks[0].threads if tasks else 1
    nodes = [n["Resources"] for n in ray.nodes() if n.get("Alive")]
    if not any(r.get("CPU", 0) >= need and r.get("GPU", 0) >= gpus for r in nodes):
        # Ray would queue a task no node can hold and wait for it forever
        most = max((r.get("CPU", 0) for r in nodes), default=0)
        raise BenchError(f"--executor ray: each unit asks for {need} CPUs"
                         f"{' and a GPU' if gpus else ''} (its torch threads: this machine's "
                         f"cores over --jobs) and no node of the cluster has them (the most "
                         f"CPUs: {most:g}): raise --jobs")
    remote = ray.remote(num_cpus=need, num_gpus=gpus)(run_unit)
    refs = [remote.remote(t) for t in tasks]
    out = []
    for ref in refs:
        try:
            out.append(ray.get(ref))
        except ray.exceptions.RayTaskError as e:
            cause = e.as_instanceof_cause()
            if isinstance(cause, NonFiniteLoss):
                out.append(cause)
            else:
                raise
    return out


# --------------------------------------------------------------------------- the run
@dataclass
class RunReport:
    folder: Path
    summary: Summary
    seconds: dict[str, float]
    units: int
    skipped: int


def training_hash(spec: RunSpec, weights_sha256: str | None = None) -> str:
    """What decides a unit's weights besides its parameter and seed (both in its path): the
    grid and the seed list are left out, so adding a parameter or a seed retrains nothing;
    a checkpoint-only submission's file counts by its bytes."""
    cfg = spec.resolved
    training = {k: v for k, v in cfg["training"].items() if k != "seeds"}
    what = {"dataset": cfg["dataset"], "model": cfg["model"], "training": training,
            "family": cfg["augmentation"]["family"], "codec": cfg["codec"]}
    if "online" in cfg["augmentation"]:  # a key of its own: earlier units keep their hash
        what["online"] = cfg["augmentation"]["online"]
    if weights_sha256:
        what["weights_sha256"] = weights_sha256
    return digest(what)


def unit_folder(spec: RunSpec, runs_root: Path, label: str, seed: int,
                weights_sha256: str | None = None) -> Path:
    """Where the unit (parameter ``label``, ``seed``) keeps its checkpoints and counts."""
    return (Path(runs_root) / spec.id / spec.profile / training_hash(spec, weights_sha256)
            / label / f"seed{seed}")


def unit_grid(spec: RunSpec) -> tuple[tuple[AugmentSpec, ...], tuple[int, ...]]:
    """The parameters and seeds a submission's units run: its grid and seeds, or for a
    checkpoint-only submission (nothing to train) the untransformed data once."""
    if spec.weights:
        return (AugmentSpec("none", ("-",)),), spec.seeds[:1]
    return spec.grid, spec.seeds


def plan(spec: RunSpec, inputs: Inputs, data_root: Path, runs_root: Path, device: str,
         threads: int, progress: bool) -> list[UnitTask]:
    grid, seeds = unit_grid(spec)
    weights = inputs.manifests.get("weights")
    tasks = []
    for s in grid:
        eval_sets, eval_hash = unit_evaluation(spec, inputs, s.label)
        train_sets = (tuple(inputs.augmented[m.label].trains_on for m in s.members())
                      if not spec.weights else ())
        # an online family's parameter is the unit's stage; else the submission's, if any
        online = s if spec.family_online else spec.online
        tasks += [UnitTask(spec=spec, param=s, seed=seed, online=online,
                           folder=unit_folder(spec, runs_root, s.label, seed, weights),
                           data_root=Path(data_root), train_sets=train_sets,
                           eval_sets=eval_sets, eval_hash=eval_hash,
                           num_classes=len(inputs.train.classes), device=device,
                           threads=threads, progress=progress, weights=inputs.weights)
                  for seed in seeds]
    return tasks


def unit_evaluation(spec: RunSpec, inputs: Inputs, label: str) -> tuple[tuple[EvalSet, ...], str]:
    """The sets a unit of parameter ``label`` is evaluated on, and their hash (the name of
    its counts file): the corrupted splits, or with ``evaluation.transform`` the same passed
    through ``label``. Without it the hash is what it always was, so no unit re-evaluates."""
    transformed = inputs.transformed.get(label, {})
    sets = tuple(transformed.get(e.split, e) if e.suite == "c" else e for e in inputs.eval_sets)
    what = {"evaluation": spec.config_hash("evaluation"), "sets": eval_manifests(inputs.eval_sets),
            "corruptions": spec.corruptions, "severities": spec.severities}
    if spec.cbar:  # a key of its own: units evaluated before C-bar keep their hash
        what["cbar"] = spec.cbar
    if transformed:
        what["transformed"] = transformed_manifests(label, transformed)
    return sets, digest(what)


def _agreed(values: list):
    """One value where every unit agrees, else the distinct values, sorted."""
    distinct = sorted(set(values), key=str)
    return distinct[0] if len(distinct) == 1 else distinct


def run_provenance(spec: RunSpec, inputs: Inputs, results: list[UnitResult]) -> Provenance:
    """A report's provenance from its units': the code, machine and seconds that produced
    its numbers (every unit listed; where units disagree, the distinct values), and
    ``written_by``, the code that gathered them into this report."""
    units = [r.provenance for r in results]
    return Provenance(
        code_version=_agreed([u.code_version for u in units]), written_by=code_version(),
        config_hash=spec.config_hash(), source=spec.source, data=inputs.manifests,
        device=_agreed([u.device for u in units]), torch=_agreed([u.torch for u in units]),
        # trained weights are bit-reproducible only on the same kind (corruptions.device)
        cpu_kind=_agreed([u.cpu_kind for u in units]),
        unit_seconds={"train": sum(u.train_s for u in units),
                      "eval": sum(u.eval_s for u in units)},
        date=datetime.date.today().isoformat(),
        units=tuple(UnitRecord(param=r.param, seed=r.seed, made=r.provenance) for r in results),
        wall_s=round(sum(r.seconds for r in results), 1))


@dataclass
class UnitsRun:
    """A submission's units, run: what they read, the tasks and their results, as rows."""

    inputs: Inputs
    tasks: list[UnitTask]
    results: list[UnitResult]
    rows: pd.DataFrame
    history: pd.DataFrame

    @property
    def outcomes(self) -> list:
        return outcomes_of(self.results)


def run_units(spec: RunSpec, *, data_root: Path, runs_root: Path, device: str = "auto",
              jobs: int = 1, executor: str = "local", ray_address: str | None = None,
              progress: bool = True, threads: int | None = None) -> UnitsRun:
    """Prepare the inputs, plan and execute every unit of ``spec`` (its grid and seeds: a
    spec narrowed to one parameter and seed runs one unit, as ``bench verify --rerun``
    does); a unit that failed is raised."""
    device = resolve_device(device)
    inputs = prepare(spec, Path(data_root), device, progress)
    # torch threads per unit: this machine's cores over the units run at once (on Ray too,
    # so a unit computes the same there as here), unless given (a rerun takes the report's)
    threads = threads or max(1, cpu_count() // max(jobs, 1))
    tasks = plan(spec, inputs, data_root, runs_root, device, threads, progress)
    results = execute(tasks, executor, jobs, ray_address)
    failed = [r for r in results if isinstance(r, BaseException)]
    if failed:
        raise failed[0]
    rows, history = rows_of(spec.meta().row_fields(), results)
    return UnitsRun(inputs, tasks, results, rows, history)


def run_submission(spec: RunSpec, *, data_root: Path, runs_root: Path = Path("runs"),
                   reports_root: Path = Path("reports"), device: str = "auto", jobs: int = 1,
                   executor: str = "local", ray_address: str | None = None,
                   progress: bool = True, threads: int | None = None) -> RunReport:
    """The whole flow for one submission and profile; see the module docstring."""
    start = time.perf_counter()
    done = run_units(spec, data_root=data_root, runs_root=runs_root, device=device, jobs=jobs,
                     executor=executor, ray_address=ray_address, progress=progress,
                     threads=threads)
    inputs, tasks, results = done.inputs, done.tasks, done.results
    rows, history = done.rows, done.history
    seconds = dict(inputs.seconds)
    seconds["training (units)"] = sum(r.provenance.train_s for r in results if not r.skipped)
    seconds["evaluation (units)"] = sum(r.provenance.eval_s for r in results if not r.skipped)
    t0 = time.perf_counter()
    folder = RunFolder.at(reports_root, spec.id, spec.profile)
    baseline = _baseline(spec, Path(reports_root))
    baseline_rows = rows if spec.id == BASELINE else (baseline.rows if baseline else None)
    provenance = run_provenance(spec, inputs, results)
    order = list(dict.fromkeys(t.param.label for t in tasks))
    summary = summarize(spec.meta(), rows, order, modes=spec.selection,
                        data=inputs.training.per_param, baseline_rows=baseline_rows,
                        provenance=provenance, original=inputs.training.original,
                        identity=inputs.identity)
    spectra = inputs.training.spectra
    masks = done.outcomes
    base = comparable_baseline(summary, rows, baseline)
    statistics = report_statistics(summary, rows, rows, masks, base)
    seconds["reports"] = time.perf_counter() - t0
    seconds["total"] = time.perf_counter() - start
    # the units' seconds are the report's wall time; this command's is beside it
    summary = replace(summary, provenance=replace(summary.provenance,
                                                  command_wall_s=round(seconds["total"], 1)))
    folder.write(summary, rows, history, masks, spectra, statistics)
    return RunReport(folder.folder, summary, seconds, len(tasks),
                     sum(1 for r in results if r.skipped))


def _baseline(spec: RunSpec, reports_root: Path) -> BaselineReport | None:
    """The profile's baseline report, read once for the summary's mCE and the paired
    statistics; None for the baseline itself (its own rows are its reference)."""
    if spec.id == BASELINE:
        return None
    found = baseline_report(reports_root, spec.profile)
    if found is None:
        # a report written so has no paired statistics either: run the baseline first, or
        # put its report under the same root (info, not a warning: verify's reruns write
        # their reports without one on purpose)
        log.info("no %s report under %s [%s]: mCE and the paired comparisons left out",
                 BASELINE, reports_root, spec.profile)
    return found
