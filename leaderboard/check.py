"""The rendered site read back: every number a page shows against its summary.

The HTML is parsed (stdlib ``html.parser``), not searched: each table row names its report,
mode and source in ``data-*`` attributes, each cell its field and kind. A shown number is
parsed from the cell's text and compared with the summary's value at the precision it is
shown with (half a unit of its last digit), so the check does not share the formatter it
checks. Every (report, mode, source) must appear once on the index and once on its page.
What the site computes beyond the files (rank intervals, ties, each track's line) is compared
with the tables built from the reports now; the oracle's optimism with statistics.json.
"""
from __future__ import annotations

from collections import Counter
from html.parser import HTMLParser
from pathlib import Path

from benchmark.verify.compare import Mismatch

from .board import (
    DECIMALS,
    INDEX_COLUMNS,
    SCALE,
    Report,
    Row,
    StudyReport,
    Table,
    load_reports,
    load_studies,
    lookup,
    parent_comparisons,
    tables,
)

COLUMNS = {c.key: c for c in INDEX_COLUMNS}
# not numbers of a report file: positions and rank intervals are checked against the tables
# built from the reports now (``board.tables``), dates not at all
RANKS = ("rank", "rank_range", "tied")
UNCHECKED = ("date",)


class _Rows(HTMLParser):
    """(row attributes, [(cell attributes, text)]) of every ``tr`` with ``data-submission``
    (a run report's row) or ``data-study`` (a row of a study's table); and (attributes, text)
    of every element outside the tables that shows a checked value (``MARKS``)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.rows: list[tuple[dict, list[tuple[dict, str]]]] = []
        self.marks: list[tuple[dict, str]] = []
        self._row: tuple[dict, list] | None = None
        self._cell: tuple[dict, list[str]] | None = None
        self._open: list[tuple[str, dict, list[str]]] = []  # marks being read

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "tr" and ("data-submission" in a or "data-study" in a):
            self._row = (a, [])
        elif tag == "td" and self._row is not None:
            self._cell = (a, [])
        if any(m in a for m in MARKS):
            self._open.append((tag, a, []))

    def handle_endtag(self, tag):
        if tag == "td" and self._cell is not None and self._row is not None:
            self._row[1].append((self._cell[0], "".join(self._cell[1]).strip()))
            self._cell = None
        elif tag == "tr" and self._row is not None:
            self.rows.append(self._row)
            self._row = None
        if self._open and self._open[-1][0] == tag:
            _, a, text = self._open.pop()
            self.marks.append((a, " ".join("".join(text).split())))

    def handle_data(self, data):
        if self._cell is not None:
            self._cell[1].append(data)
        for _, _, text in self._open:
            text.append(data)


MARKS = ("data-track", "data-optimism", "data-parent")


def parse_page(path: Path) -> _Rows:
    parser = _Rows()
    parser.feed(Path(path).read_text(encoding="utf-8"))
    return parser


def parse_rows(path: Path) -> list[tuple[dict, list[tuple[dict, str]]]]:
    return parse_page(path).rows


def _shows(text: str, kind: str, expected) -> bool:
    """Whether ``text`` shows ``expected``: text exactly, a number to within half a unit of
    its last shown digit."""
    blank = text in ("–", "")
    if expected is None or blank:
        return expected is None and blank
    if kind == "text":
        return text == str(expected)
    if kind in ("interval", "delta"):  # low–high, or value [low, high]: every number read back
        keys = ("low", "high") if kind == "interval" else ("value", "low", "high")
        parts = text.replace("[", " ").replace("]", " ").replace(",", " ").replace("–", " ").split()
        return len(parts) == len(keys) and all(
            _shows(part, "pct", expected[k]) for part, k in zip(parts, keys))
    try:
        shown = float(text.removesuffix(" MB")) / SCALE[kind]
    except ValueError:
        return False
    return abs(shown - expected) <= 0.5 * 10 ** -DECIMALS[kind] / SCALE[kind] * (1 + 1e-9)


def check_page(path: Path, reports: dict[tuple[str, str], Report],
               ranks: dict[tuple[str, str, str, str], Row] | None = None
               ) -> tuple[list[Mismatch], Counter, int]:
    """Mismatches of one page, how many rows of each (id, profile, mode, source) it has, and
    how many cells it compared; rank cells against ``ranks`` (the index's rows as built now)."""
    out, seen, compared = [], Counter(), 0
    for attrs, cells in parse_rows(path):
        if "data-submission" not in attrs:
            continue
        key = (attrs["data-submission"], attrs["data-profile"])
        where = f"{attrs['data-mode']}/{attrs['data-source']}"
        rep = reports.get(key)
        entry = rep.entry(attrs["data-mode"], attrs["data-source"]) if rep else None
        if entry is None:
            out.append(Mismatch(path, f"row {key[0]} [{key[1]}] {where}", "shown", "(no such report entry)"))
            continue
        full = (*key, attrs["data-mode"], attrs["data-source"])
        seen[full] += 1
        row = Row(rep, attrs["data-mode"], attrs["data-source"], entry)
        for cell, text in cells:
            column = COLUMNS.get(cell.get("data-field"))
            if column is None or column.key in UNCHECKED:
                continue
            if column.key in RANKS:
                if ranks is None or full not in ranks:
                    continue
                expected = getattr(ranks[full], column.key)
                ok = text == str(expected)
            else:
                expected = column.value(row)
                ok = _shows(text, column.kind, expected)
            compared += 1
            if not ok:
                out.append(Mismatch(path, f"{key[0]} [{key[1]}] {where}: {column.key}",
                                    expected, text))
    return out, seen, compared


def check_tracks(path: Path, boards: list[Table]) -> tuple[list[Mismatch], int]:
    """Each track's line on the index: what its "corrupt" means and the difference it
    resolves, shown once per track."""
    out, compared = [], 0
    shown: dict[str, list[str]] = {}
    for attrs, text in parse_page(path).marks:
        if "data-track" in attrs:
            shown.setdefault(attrs["data-track"], []).append(text)
    for t in boards:
        texts = shown.pop(t.id, [])
        if len(texts) != 1:
            out.append(Mismatch(path, f"track {t.id}", "shown once", f"shown {len(texts)} times"))
            continue
        compared += 1
        text = texts[0]
        if not text.startswith(f"{t.measures}."):
            out.append(Mismatch(path, f"track {t.id}: measures", t.measures, text))
        said = text.partition("smaller than about ")[2].split(" ")[0]
        if (t.resolves is None) != (not said) or said and not _shows(said, "pct", t.resolves):
            out.append(Mismatch(path, f"track {t.id}: resolves", t.resolves, said or "(none)"))
    out += [Mismatch(path, f"track {k}", "(no such track)", "shown") for k in shown]
    return out, compared


def check_optimism(path: Path, rep: Report) -> tuple[list[Mismatch], int]:
    """The oracle's optimism on a submission page against its statistics, every mode shown."""
    out, compared, seen = [], 0, set()
    optimism = (rep.statistics or {}).get("optimism") or {}
    for attrs, text in parse_page(path).marks:
        if "data-optimism" not in attrs:
            continue
        field = attrs["data-optimism"]
        seen.add(field.split(".")[0])
        expected = lookup(optimism, field)
        compared += 1
        if expected is None or not _shows(text, attrs.get("data-kind", ""), expected):
            out.append(Mismatch(path, f"optimism.{field}", expected, text))
    for mode in optimism.keys() - seen:
        if optimism[mode].get("corrupt_acc"):
            out.append(Mismatch(path, f"optimism.{mode}", "shown", "(missing)"))
    return out, compared


def check_parents(path: Path, rep: Report, loaded: list[Report]) -> tuple[list[Mismatch], int]:
    """A combination's paired differences from its parents against the outcomes now."""
    want = {}
    for p in parent_comparisons(loaded, rep):
        want.update({f"{p.parent.id}.clean": p.clean, f"{p.parent.id}.corrupt": p.corrupt,
                     f"{p.parent.id}.cbar": p.cbar})
    out, compared = [], 0
    for attrs, text in parse_page(path).marks:
        if "data-parent" in attrs:
            field = attrs["data-parent"]
            compared += 1
            if field not in want or not _shows(text, "delta", want.pop(field)):
                out.append(Mismatch(path, f"parents.{field}", "(as recomputed)", text))
    out += [Mismatch(path, f"parents.{k}", "shown", "(missing)") for k in want]
    return out, compared


def check_site(site: Path, reports_root: Path) -> tuple[list[Mismatch], int]:
    """(mismatches, number of cells compared) of the index and every submission page."""
    loaded = load_reports(Path(reports_root))
    reports = {(r.id, r.profile): r for r in loaded}
    boards = tables(loaded)
    ranks = {(r.report.id, r.report.profile, r.mode, r.source): r for t in boards for r in t.rows}
    site = Path(site)
    expected = Counter((r.id, r.profile, mode, source) for r in reports.values()
                       for mode, sources in r.summary.selection.items() for source in sources)
    out: list[Mismatch] = []
    checked = 0
    for st in load_studies(Path(reports_root)):
        found, compared = check_study_page(site / st.page, st)
        out += found
        checked += compared
    pages = [(site / "index.html", None)] + [(site / r.page, r) for r in reports.values()]
    for page, rep in pages:
        if not page.is_file():
            out.append(Mismatch(page, "page", "expected", "(missing)"))
            continue
        found, seen, compared = check_page(page, reports, ranks if rep is None else None)
        extra, more = check_tracks(page, boards) if rep is None else check_optimism(page, rep)
        if rep is not None:
            stacked, counted = check_parents(page, rep, loaded)
            extra, more = extra + stacked, more + counted
        out += found + extra
        checked += compared + more
        want = expected if rep is None else Counter(
            {k: v for k, v in expected.items() if k[:2] == (rep.id, rep.profile)})
        for k in want.keys() | seen.keys():
            if seen[k] != want[k]:
                out.append(Mismatch(page, f"rows of {k[0]} [{k[1]}] {k[2]}/{k[3]}", want[k], seen[k]))
    return out, checked


def check_study_page(path: Path, study: StudyReport) -> tuple[list[Mismatch], int]:
    """Every cell of a study's tables against its summary; every row shown exactly once."""
    if not path.is_file():
        return [Mismatch(path, "page", "expected", "(missing)")], 0
    out, compared, seen = [], 0, Counter()
    tables = study.summary["tables"]
    for attrs, cells in parse_rows(path):
        if attrs.get("data-study") != study.name or attrs.get("data-profile") != study.profile:
            out.append(Mismatch(path, "row", f"{study.name} [{study.profile}]",
                                f"{attrs.get('data-study')} [{attrs.get('data-profile')}]"))
            continue
        name, index = attrs.get("data-table"), int(attrs.get("data-row", -1))
        rows = tables.get(name, {}).get("rows", [])
        if not 0 <= index < len(rows):
            out.append(Mismatch(path, f"tables.{name}.rows[{index}]", "(no such row)", "shown"))
            continue
        seen[(name, index)] += 1
        for cell, text in cells:
            field, kind = cell.get("data-field"), cell.get("data-kind")
            compared += 1
            if kind not in DECIMALS and kind != "text" or not _shows(text, kind, rows[index].get(field)):
                out.append(Mismatch(path, f"tables.{name}.rows[{index}].{field}",
                                    rows[index].get(field), text))
    for name, t in tables.items():
        for i in range(len(t["rows"])):
            if seen[(name, i)] != 1:
                out.append(Mismatch(path, f"tables.{name}.rows[{i}]", "shown once",
                                    f"shown {seen[(name, i)]} times"))
    return out, compared
