"""What ``bench verify --rerun SELECTOR`` reruns from scratch: whole reports, units drawn
alone from a commit, the profiles whose studies are recomputed whole, and the samples whose
study parts ``studies.draw_parts`` draws."""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from corruptions.device import cpu_kind
from corruptions.errors import BenchError

from ..augment.rd_table import rd_tables
from ..scoring.reports import run_folders
from .perf import PerfRow, perf_rows

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
            prov = f.summary().provenance
            took, kind = prov.unit_seconds_by_unit(len(pairs)), prov.cpu_kind
            out += [Unit(f.folder, str(p), int(s), took.get((str(p), int(s)), took.get(None, 0.0)),
                         kind) for p, s in pairs]
    return out


def draw_units(units: list, n: int, key: str) -> list:
    """``n`` units (or study parts) drawn without replacement from ``key`` (a commit): every
    commit reruns another sample, and any machine draws the same one for the same commit."""
    rng = np.random.default_rng(int(hashlib.sha256(key.encode()).hexdigest()[:16], 16))
    picked = rng.choice(len(units), size=min(n, len(units)), replace=False)
    return [units[i] for i in sorted(picked)]


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
    recomputed whole, the rate-distortion tables measured again, and the samples asked for
    (their study parts are drawn by ``studies.draw_parts``)."""

    reports: tuple[Path, ...] = ()
    units: tuple[Unit, ...] = ()
    study_profiles: tuple[str, ...] = ()
    rd_tables: tuple[Path, ...] = ()
    perf_rows: tuple[PerfRow, ...] = ()
    samples: tuple[Sample, ...] = ()
    notes: tuple[str, ...] = ()  # what a sample could not draw, and why

    def __bool__(self) -> bool:
        return bool(self.reports or self.units or self.study_profiles or self.rd_tables
                    or self.perf_rows)


CODECS = "codecs"  # the selector of the rate-distortion tables (reports/codecs/<dataset>)
PERF = "perf"  # the selector of the capacity sweep's rows (reports/perf/capacity.json)
RERUN_HELP = ("what to rerun from scratch and compare exactly (comma-separated): all; a "
              "profile (every report and study of it: ci); a report (ID or ID/PROFILE); "
              "codecs or codecs/DATASET (the rate-distortion tables, their learned codecs "
              "trained where not cached); perf or perf:N (every row of the capacity sweep, or "
              "N drawn from the commit, trained again); PROFILE:N[:SECONDS] (N units of that "
              "profile's reports and N parts of its studies, drawn from the commit among those "
              "that took at most SECONDS); '' for nothing")


def plan_reruns(selector: str, reports_root: Path, key: str,
                kind: str | None = None) -> RerunPlan:
    """The reruns ``selector`` names (``RERUN_HELP``); a part that matches nothing is bad
    input, not an empty check. Samples (``PROFILE:N``) draw only among units recorded on
    ``kind`` (this machine's CPU kind by default): trained for epochs on another kind, a
    unit's float rounding compounds past the cross-kind tolerance (measured on ci runs of
    one epoch), so only there is a sampled rerun a check; a note says when none is."""
    kind = kind or cpu_kind()
    folders = run_folders(reports_root)
    profiles = {f.profile for f in folders}
    tables = rd_tables(reports_root)
    reports: dict[Path, None] = {}
    studies: dict[str, None] = {}
    codecs: dict[Path, None] = {}
    swept: dict[PerfRow, None] = {}
    units, samples, notes = [], [], []
    for part in (p.strip() for p in selector.split(",") if p.strip()):
        if part == "all":
            reports.update(dict.fromkeys(f.folder for f in folders))
            studies.update(dict.fromkeys(sorted(profiles)))
            codecs.update(dict.fromkeys(tables))
            swept.update(dict.fromkeys(perf_rows(reports_root)))
        elif part.partition(":")[0] == PERF:
            drawn, note = _perf(part, reports_root, kind, key)
            swept.update(dict.fromkeys(drawn))
            notes += [note] if note else []
        elif part in profiles:
            reports.update(dict.fromkeys(f.folder for f in folders if f.profile == part))
            studies[part] = None
        elif part.partition("/")[0] == CODECS:
            codecs.update(dict.fromkeys(_tables(part, tables, reports_root)))
        elif ":" in part:
            sample, drawn, note = _sample(part, reports_root, profiles, kind, key)
            samples.append(sample)
            units += drawn
            notes += [note] if note else []
        else:
            reports.update(dict.fromkeys(_reports(part, folders, reports_root, profiles)))
    order = {f.folder: i for i, f in enumerate(folders)}  # run_folders': baseline first
    whole = tuple(sorted(reports, key=order.__getitem__))
    return RerunPlan(reports=whole, units=tuple(u for u in units if u.folder not in reports),
                     study_profiles=tuple(studies), rd_tables=tuple(codecs),
                     perf_rows=tuple(swept),
                     samples=tuple(s for s in samples if s.profile not in studies),
                     notes=tuple(notes))


def _sample(part: str, reports_root: Path, profiles: set[str], kind: str,
            key: str) -> tuple[Sample, list[Unit], str | None]:
    """``PROFILE:N[:SECONDS]``: the sample, the units it draws, and a note where none of
    its pool was recorded on this CPU kind."""
    profile, n, most = (part.split(":") + [""])[:3]
    if (profile not in profiles or not n.isdigit() or int(n) < 1
            or not (most == "" or most.isdigit())):
        raise BenchError(f"--rerun {part!r}: expected PROFILE:N[:SECONDS] with one of "
                         f"{', '.join(sorted(profiles))}, N >= 1")
    pool = [u for u in report_units(reports_root, profile) if not most or u.seconds <= int(most)]
    if not pool:
        raise BenchError(f"--rerun {part!r}: no unit of {profile} took at most {most} s")
    alike = [u for u in pool if u.cpu_kind == kind]
    note = None if alike else (f"--rerun {part}: none of the {len(pool)} units was recorded on "
                               f"this CPU kind ({kind}); none drawn")
    return (Sample(profile, int(n), int(most) if most else None, kind),
            draw_units(alike, int(n), key), note)


def _perf(part: str, reports_root: Path, kind: str,
          key: str) -> tuple[list[PerfRow], str | None]:
    """``perf``: every row of the committed sweep; ``perf:N``: N drawn from the commit among
    the rows measured on this CPU kind (as a unit sample: elsewhere epochs of float rounding
    leave nothing exact to check), with a note where none was."""
    rows = perf_rows(reports_root)
    n = part.partition(":")[2]
    if not rows or (part != PERF and not (n.isdigit() and int(n) >= 1)):
        raise BenchError(f"--rerun {part!r}: expected perf or perf:N (N >= 1) with a capacity "
                         f"sweep table under {reports_root}/{PERF}"
                         f"{'' if rows else ' (none found)'}")
    if part == PERF:
        return rows, None
    alike = [r for r in rows if r.cpu_kind == kind]
    note = None if alike else (f"--rerun {part}: none of the {len(rows)} sweep rows was "
                               f"measured on this CPU kind ({kind}); none drawn")
    return draw_units(alike, int(n), key), note


def _reports(part: str, folders: list, reports_root: Path, profiles: set[str]) -> list[Path]:
    sub, _, profile = part.partition("/")
    found = [f.folder for f in folders if f.submission == sub and (not profile or f.profile == profile)]
    if not found:
        raise BenchError(f"--rerun {part!r} matches no report under {reports_root} "
                         f"(profiles: {', '.join(sorted(profiles)) or 'none'})")
    return found


def _tables(part: str, tables: list[Path], reports_root: Path) -> list[Path]:
    dataset = part.partition("/")[2]
    found = [t for t in tables if not dataset or t.parent.name == dataset]
    if not found:
        raise BenchError(f"--rerun {part!r}: no rate-distortion table under {reports_root}/"
                         f"{CODECS} (found: {', '.join(t.parent.name for t in tables) or 'none'})")
    return found
