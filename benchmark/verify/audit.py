"""What a run report must agree with besides its own rows: the submission file that made it,
its rows' own arithmetic, and the set of shipped submissions.

``checks.check_summary`` recomputes a summary from its ``results.parquet``, so a forger who
edits both passes it; and it takes the descriptive fields, the parameter list and the
provenance from the summary itself. Here they are derived from the submission YAML instead
(what ``bench run`` would write today), so an edited name, parameter or seed list is named;
a report whose configuration hash is not its YAML's is stale (the YAML changed since the
run), and both hashes are named; every row's ``accuracy`` is its ``correct / n``; the folder
a summary sits in is the one its identity names. ``completeness`` holds the reports up
against the shipped submissions: every ``ci`` report must exist (``make test`` reruns them),
a missing ``cpu`` one is listed, and a report no shipped submission makes is an orphan.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from corruptions.errors import BenchError

from ..pipeline.runner import unit_grid
from ..pipeline.submission import RunSpec, load_submission, load_submissions, profiles_of
from ..scoring.reports import HELD_OUT, HISTORY, RESULTS, SUMMARY, RunFolder, run_folders
from ..scoring.report import SubmissionMeta, Summary
from .compare import Mismatch

REQUIRED = ("ci",)   # every shipped submission's report of these profiles must exist
LISTED = ("cpu", "capacity")  # a missing report of these is listed, not failed
# a profile whose grid is thinned to another's held-out pick and that pick's neighbours (the
# capacity profile trains each unit for minutes: only where the cpu budget chose)
THINNED_FROM = {"capacity": "cpu"}


def submission_of(summary: Summary, reports_root: Path) -> RunSpec:
    """The run spec of the submission file a summary says made it (``provenance.source``,
    recorded relative to where ``bench run`` ran: the repository root above the reports, or
    here), under the summary's profile and id."""
    source = summary.provenance.source or ""
    path = next((p for p in (Path(reports_root).resolve().parent / source, Path(source))
                 if source and p.is_file()), None)
    if path is None:
        raise BenchError(f"its submission file {source!r} is not found")
    return load_submission(path, summary.meta.profile, summary.meta.submission)


def expected_summary_fields(spec: RunSpec) -> dict:
    """The fields of a summary that follow from the submission alone, as ``bench run``
    writes them: its meta, parameter order, seeds, corruptions, selection modes and
    configuration hash (``provenance.source`` is how the spec was found); its corruptions
    are C-bar's too where it evaluated them."""
    grid, seeds = unit_grid(spec)
    return {**spec.meta().as_dict(),
            "params": [s.label for s in grid],
            "seeds": sorted(seeds),
            "corruptions": sorted(spec.corruptions + spec.cbar),
            "selection": sorted(spec.selection),
            "provenance.config_hash": spec.config_hash()}


def _reported(summary: dict, key: str):
    """A field of a summary as written, by its dotted path (``provenance.config_hash``)."""
    if key == "selection":
        return sorted(summary.get("selection") or {})
    node = summary
    for part in key.split("."):
        node = node.get(part) if isinstance(node, dict) else None
    return node


def check_against_submission(folder: Path | RunFolder) -> list[Mismatch]:
    """A report's identity, descriptive fields, grid and configuration against its
    submission YAML, and its rows' accuracies and labels against their counts and meta."""
    report = RunFolder.of(folder)
    path = report.path(SUMMARY)
    summary = report.summary()
    written = summary.to_dict()
    out = [Mismatch(path, key, written.get(key), want) for key, want in
           (("submission", report.submission), ("profile", report.profile))
           if written.get(key) != want]
    if out:  # it sits in another report's folder: nothing else of it can be trusted
        return out
    try:
        spec = submission_of(summary, report.root)
    except BenchError as e:
        return [Mismatch(path, "provenance.source", summary.provenance.source, str(e))]
    for key, want in expected_summary_fields(spec).items():
        got = _reported(written, key)
        if key == "authors":
            got = list(got or [])
            want = list(want)
        if got != want:
            if key == "provenance.config_hash":
                want = (f"{want} by {summary.provenance.source} [{spec.profile}] now: "
                        "stale, rerun it")
            out.append(Mismatch(path, key, got, want))
    out += check_rows(report, spec.meta())
    out += check_history(report, spec)
    out += check_parents(report, spec)
    out += check_thinned(report, spec)
    return out


def check_parents(report: RunFolder, spec: RunSpec) -> list[Mismatch]:
    """A combination trained at one parameter of a parent's family (a codec at its pick,
    AugMix on top) must be at that parent's held-out pick in the same profile, as its YAML
    says: when the parent's report is rerun and picks otherwise, the combination is stale.
    A parent without a report of the profile is not checked (completeness lists it)."""
    if len(spec.grid) != 1:
        return []
    out = []
    for parent in spec.parents:
        folder = RunFolder.at(report.root, parent, spec.profile)
        if not folder.exists():
            continue
        theirs = folder.summary()
        pick = theirs.entry(*HELD_OUT)
        if theirs.meta.family != spec.family or pick is None:
            continue
        if pick.chosen != spec.grid[0].label:
            out.append(Mismatch(report.path(SUMMARY), f"params (the pick of {parent})",
                                spec.grid[0].label, f"{pick.chosen}: {parent} [{spec.profile}] "
                                "picks it now; set the YAML's parameter and rerun"))
    return out


def thinned_grid(grid: list[str], pick: str, own_pick: str | None = None) -> list[str]:
    """The held-out ``pick`` of a grid and its neighbours in the grid's order (one at an
    end), where a bigger budget's own selection can still move to either side of it; and
    where that selection (``own_pick``) lies at an inner end of this window, its neighbours
    too: a pick at the edge of the grid it was given may lie beyond it, so the window grows
    until the bigger budget's pick is flanked (or sits at an end of ``grid``)."""
    k = grid.index(pick)
    j = grid.index(own_pick) if own_pick in grid else k
    return grid[max(min(k, j) - 1, 0):max(k, j) + 2]


def check_thinned(report: RunFolder, spec: RunSpec) -> list[Mismatch]:
    """A profile of ``THINNED_FROM`` must train its source profile's held-out pick and that
    pick's neighbours, grown to flank its own held-out pick (``thinned_grid``), as its YAML
    says: when the source report is rerun and picks otherwise, or the report's own pick lands
    at an inner end of its grid, the grid is stale. A source without a report, or with a pick
    its grid lacks, is not checked here (completeness lists the report)."""
    source = THINNED_FROM.get(spec.profile)
    folder = RunFolder.at(report.root, spec.id, source) if source else None
    if folder is None or not folder.exists():
        return []
    pick = folder.summary().entry(*HELD_OUT)
    grid = [str(p) for p in folder.summary().params]
    if pick is None or str(pick.chosen) not in grid:
        return []
    own = report.summary().entry(*HELD_OUT) if report.exists() else None
    own_pick = None if own is None else str(own.chosen)
    want = thinned_grid(grid, str(pick.chosen), own_pick)
    got = [s.label for s in spec.grid]
    if _is_window(grid, got):  # a grid grown before stays grown: its units are trained
        start, stop = grid.index(got[0]), grid.index(got[-1]) + 1
        want = grid[min(start, grid.index(want[0])):max(stop, grid.index(want[-1]) + 1)]
    if got == want:
        return []
    grown = (f", grown to flank its own pick {own_pick} [{spec.profile}]"
             if want != thinned_grid(grid, str(pick.chosen)) else "")
    return [Mismatch(report.path(SUMMARY), f"params (thinned from {source})", got,
                     f"{want}: {spec.id} [{source}] picks {pick.chosen} now{grown}; set the "
                     "YAML's parameters and rerun")]


def _is_window(grid: list[str], labels: list[str]) -> bool:
    """Whether ``labels`` are a run of consecutive values of ``grid``, in its order."""
    if not labels or labels[0] not in grid:
        return False
    start = grid.index(labels[0])
    return grid[start:start + len(labels)] == labels


def check_history(report: RunFolder, spec: RunSpec) -> list[Mismatch]:
    """Every unit of the rows has trained the YAML's epochs, one history row each, in
    order (a checkpoint-only submission trains none)."""
    history, path = report.history(), report.path(HISTORY)
    units = report.results()[["param", "seed"]].drop_duplicates()
    want = list(range(1, (0 if spec.weights else spec.train.epochs) + 1))
    out = []
    for param, seed in units.itertuples(index=False, name=None):
        got = ([] if history is None else history.loc[(history["param"] == param)
                                                      & (history["seed"] == seed), "epoch"].tolist())
        if got != want:
            out.append(Mismatch(path, f"[param={param},seed={seed}].epoch", got, want))
    return out


def check_rows(report: RunFolder, meta: SubmissionMeta) -> list[Mismatch]:
    """Every row's ``accuracy`` exactly its ``correct / n`` and its labels the meta's."""
    rows, path = report.results(), report.path(RESULTS)
    out = []
    want = rows["correct"].to_numpy() / rows["n"].to_numpy()
    for i in np.flatnonzero(rows["accuracy"].to_numpy() != want)[:20]:
        out.append(Mismatch(path, f"row {i}.accuracy", float(rows["accuracy"].iat[i]),
                            float(want[i])))
    for key, value in meta.row_fields().items():
        for i in np.flatnonzero(rows[key].to_numpy() != value)[:20]:
            out.append(Mismatch(path, f"row {i}.{key}", str(rows[key].iat[i]), value))
    return out


@dataclass(frozen=True)
class Completeness:
    """The reports held up against the shipped submissions."""

    missing: tuple[tuple[str, str, Path], ...]  # (id, profile, yaml) of a REQUIRED profile
    listed: tuple[tuple[str, str, Path], ...]   # (id, profile, yaml) of a LISTED profile
    orphans: tuple[Path, ...]                   # report folders no shipped submission makes

    def problems(self) -> list[str]:
        return ([f"{sub} [{profile}]: no report (run: bench run --submission {yaml} "
                 f"--profile {profile})" for sub, profile, yaml in self.missing]
                + [f"{f}: an orphan report: no shipped submission makes {f.parent.name} "
                   f"[{f.name}] (remove it, or restore its submission)" for f in self.orphans])


def shipped_runs(submissions: Path) -> dict[tuple[str, str], Path]:
    """(run id, profile) -> YAML of every run the shipped submissions define, under every
    profile they have."""
    out = {}
    for yaml_path in sorted(Path(submissions).glob("*.yaml")):
        for profile in profiles_of(yaml_path):
            for spec in load_submissions(yaml_path, profile):
                out[(spec.id, profile)] = yaml_path
    return out


def completeness(reports_root: Path, submissions: Path) -> Completeness:
    runs = shipped_runs(submissions)
    present = {(f.submission, f.profile): f.folder for f in run_folders(reports_root)}
    absent = sorted((sub, profile, yaml) for (sub, profile), yaml in runs.items()
                    if (sub, profile) not in present)
    return Completeness(
        missing=tuple(k for k in absent if k[1] in REQUIRED),
        listed=tuple(k for k in absent if k[1] in LISTED),
        orphans=tuple(folder for k, folder in sorted(present.items()) if k not in runs))
