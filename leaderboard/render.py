"""``bench leaderboard``: the static site, rendered from ``reports/``.

Autoescape is on for every template (``autoescape=True``, not ``select_autoescape``, whose
extension list misses ``.html.j2``): a submission's name, authors, description or url can
never inject markup. A url is linked only when it is an http(s) address. The site needs no
server and no network: its script and stylesheet are files beside the pages.
"""
from __future__ import annotations

import json
import shutil
import tempfile
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from urllib.parse import urlparse

import jinja2
import numpy as np
from tqdm import tqdm

from benchmark.scoring.reports import SPECTRA
from benchmark.studies import read_arrays
from corruptions.errors import BenchError
from corruptions.version import code_version

from . import figures as F
from .board import (
    DEFAULT_SOURCE,
    ENTRY_COLUMNS,
    INDEX_COLUMNS,
    MODES,
    SOURCES,
    ParentComparison,
    Report,
    Row,
    StudyReport,
    load_reports,
    family_label,
    kind_of,
    load_studies,
    parent_comparisons,
    peers,
    show,
    tables,
)
from .study_figures import study_figures, submission_fourier


@dataclass
class Site:
    out: Path
    pages: list[Path] = field(default_factory=list)
    figures: int = 0
    notes: list[str] = field(default_factory=list)

    @property
    def index(self) -> Path:
        return self.out / "index.html"


def environment() -> jinja2.Environment:
    env = jinja2.Environment(loader=jinja2.PackageLoader("leaderboard", "templates"),
                             autoescape=True, undefined=jinja2.StrictUndefined,
                             trim_blocks=True, lstrip_blocks=True)
    env.globals.update(show=show, version=code_version())
    return env


def safe_url(url: str | None) -> str | None:
    """The url when it is an absolute http(s) address, else None (shown as text, unlinked)."""
    if not url:
        return None
    parts = urlparse(url.strip())
    return url.strip() if parts.scheme in ("http", "https") and parts.netloc else None


def build_site(reports_root: Path, out: Path, *, data_root: Path | None = None,
               progress: bool = True, figures: bool = True) -> Site:
    """Render every report into ``out`` (replaced whole: built beside it, then swapped in).
    ``figures=False`` renders the pages without drawing a figure (two thirds of the time):
    what ``bench verify`` reads back is the pages' numbers, never the pictures."""
    reports = load_reports(Path(reports_root))
    studies = load_studies(Path(reports_root))
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}-", dir=out.parent))
    try:
        site = _render(reports, studies, tmp, data_root, progress, figures)
        if out.exists():
            old = out.with_name(f".{out.name}-old")
            shutil.rmtree(old, ignore_errors=True)
            out.rename(old)
            tmp.rename(out)
            shutil.rmtree(old, ignore_errors=True)
        else:
            tmp.rename(out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    site.out = out
    site.pages = [out / p.relative_to(tmp) for p in site.pages]
    return site


def _render(reports: list[Report], studies: list[StudyReport], out: Path,
            data_root: Path | None, progress: bool, figures: bool) -> Site:
    env = environment()
    site = Site(out)
    static = resources.files("leaderboard") / "static"
    (out / "static").mkdir(parents=True)
    for name in ("site.css", "site.js"):
        (out / "static" / name).write_bytes((static / name).read_bytes())
    boards = tables(reports)
    track_figures: dict[str, list[F.Figure]] = {t.id: [] for t in boards}
    for t in boards if figures else []:
        figs = [F.track_scatter(t, out / "tracks" / f"{t.id}{suffix}.svg", metric)
                for metric, suffix in (("corrupt_acc", ""), ("cbar_acc", "-cbar"))]
        track_figures[t.id] = [F.Figure(f"tracks/{f.file}", f.title, f.alt, f.caption)
                               for f in figs if f is not None]
        site.figures += len(track_figures[t.id])
    index = env.get_template("index.html.j2").render(
        root="", tables=boards, columns=INDEX_COLUMNS, sources=SOURCES,
        default_source=DEFAULT_SOURCE, modes=MODES, studies=studies,
        track_figures=track_figures)
    (out / "index.html").write_text(index, encoding="utf-8")
    site.pages.append(out / "index.html")
    previews: dict[str, F.Figure | str] = {}
    fourier = {st.profile: (st.summary, read_arrays(st.folder)) for st in studies
               if st.name == "fourier-heatmap" and figures}
    for rep in tqdm(reports, desc="pages", unit="page", disable=not progress):
        figs, notes = (_figures(rep, reports, out, data_root, previews) if figures
                       else ([], []))
        heat = rep.profile in fourier and submission_fourier(
            *fourier[rep.profile], rep.id, out / "submissions" / rep.slug / "fourier.svg")
        if heat:
            figs.append(heat)
        site.figures += len(figs)
        site.notes += [f"{rep.slug}: {n}" for n in notes]
        page = out / rep.page
        page.parent.mkdir(parents=True, exist_ok=True)
        page.write_text(_page(env, rep, figs, notes, parent_comparisons(reports, rep)),
                        encoding="utf-8")
        site.pages.append(page)
    for st in studies:
        folder = out / "studies" / st.slug
        figs = study_figures(st.summary, read_arrays(st.folder), folder) if figures else []
        site.figures += len(figs)
        page = out / st.page
        page.parent.mkdir(parents=True, exist_ok=True)
        page.write_text(env.get_template("study.html.j2").render(
            root="../", s=st.summary, config=json.dumps(st.summary["config"]),
            figures=[F.Figure(f"{st.slug}/{f.file}", f.title, f.alt, f.caption) for f in figs]),
            encoding="utf-8")
        site.pages.append(page)
    return site


def _page(env: jinja2.Environment, rep: Report, figs: list[F.Figure], notes: list[str],
          parents: list[ParentComparison]) -> str:
    s = rep.summary
    rows = [Row(rep, mode, source, entry) for mode, sources in s.selection.items()
            for source, entry in sources.items()]
    prov = s.provenance.to_dict()
    provenance = [(k, prov[k]) for k in ("code_version", "written_by", "summarized_by", "date",
                                        "config_hash", "source", "device", "torch", "cpu_kind",
                                        "wall_s", "command_wall_s") if k in prov]
    provenance += [(f"sha256 {k}", v) for k, v in (s.provenance.data or {}).items()]
    provenance += [(f"seconds {k}", f"{v:.1f}")
                   for k, v in (s.provenance.unit_seconds or {}).items()]
    # each unit's own: the code and machine that made its numbers
    provenance += [(f"unit {u.param} seed {u.seed}",
                    f"{u.made.code_version}, {u.made.device}, {u.made.threads} threads, "
                    f"{u.made.train_s:.1f} s training + {u.made.eval_s:.1f} s evaluation, "
                    f"{u.made.date}") for u in s.provenance.units or ()]
    oracle = s.entry("bda", "oracle")
    return env.get_template("submission.html.j2").render(
        root="../", s=s.to_dict(), url=safe_url(s.meta.url), rows=rows, columns=ENTRY_COLUMNS,
        figures=[F.Figure(f"{rep.slug}/{f.file}", f.title, f.alt, f.caption) for f in figs],
        notes=notes, provenance=provenance, ranking=oracle.ranking if oracle else None,
        optimism=(rep.statistics or {}).get("optimism"), parents=parents,
        kind=kind_of(rep), family=family_label(rep))


def _figures(rep: Report, reports: list[Report], out: Path, data_root: Path | None,
             previews: dict) -> tuple[list[F.Figure], list[str]]:
    folder = out / "submissions" / rep.slug
    table = peers(reports, rep)
    rows = rep.rows
    figs: list[F.Figure | None] = [
        F.severity_curves(table, rep, folder / "severity.svg"),
        F.heatmap(rows, rep, folder / "heatmap.svg"),
        F.scatter(table, rep, folder / "scatter.svg"),
        F.scatter(table, rep, folder / "scatter-cbar.svg", metric="cbar_acc"),
        F.param_curves(rep, folder / "params.svg"),
        F.rd_curves(table, rep, folder / "rd.svg"),
    ]
    notes = []
    spectra = rep.run.spectra()
    if spectra is not None:
        figs.append(F.spectra(spectra, rep, folder / "spectrum.svg"))
    else:
        notes.append(f"No training-data spectrum: this report has no {SPECTRA}.")
    epochs = rep.run.history()
    if epochs is not None:
        figs.append(F.training_curves(epochs, folder / "training.svg"))
        figs.append(F.band_evolution(epochs, folder / "bands.svg"))
    preview = _preview(rep, out, data_root, previews)
    if isinstance(preview, str):
        notes.append(preview)
    else:
        figs.append(F.Figure(f"../../{preview.file}", preview.title, preview.alt,
                             preview.caption))
    return [f for f in figs if f is not None], notes


def _preview(rep: Report, out: Path, data_root: Path | None, cache: dict) -> F.Figure | str:
    """One corruption grid per dataset and corruption list (shared by the pages that have
    them), or why there is none."""
    import corruptions as C
    from benchmark.datasets import load_dataset

    key = (rep.dataset, rep.summary.corruptions)
    if key not in cache:
        try:
            ds = load_dataset(rep.dataset, "test", data_root)
            image = np.asarray(ds.images[0])
            slug = rep.dataset.replace(":", "_").replace("/", "_")
            path = out / "previews" / f"{slug}-{len(key[1])}-{_digest(key[1])}.png"
            fig = F.corruption_preview(image, C.parse_names(rep.summary.corruptions),
                                       C.default_scale(*image.shape[:2]), 0, rep.dataset, path)
            cache[key] = F.Figure(f"previews/{path.name}", fig.title, fig.alt, fig.caption)
        except BenchError as e:
            cache[key] = f"No corruption preview: {rep.dataset} could not be read ({e})."
    return cache[key]


def _digest(names: tuple[str, ...]) -> str:
    import hashlib
    return hashlib.sha256(",".join(names).encode()).hexdigest()[:8]
