"""The rendered site read back: every number a page shows against its summary.

The HTML is parsed (stdlib ``html.parser``), not searched: each table row names its report,
mode and source in ``data-*`` attributes, each cell its field and kind. A shown number is
parsed from the cell's text and compared with the summary's value at the precision it is
shown with (half a unit of its last digit), so the check does not share the formatter it
checks. Every (report, mode, source) must appear once on the index and once on its page.
"""
from __future__ import annotations

from collections import Counter
from html.parser import HTMLParser
from pathlib import Path

from benchmark.scoring.verify import Mismatch

from .board import (
    DECIMALS,
    INDEX_COLUMNS,
    SCALE,
    Report,
    Row,
    StudyReport,
    load_reports,
    load_studies,
)

COLUMNS = {c.key: c for c in INDEX_COLUMNS}
# positions, rank intervals (``board.rank_ranges``, recomputed by every build) and dates are
# not numbers of a report file
UNCHECKED = ("rank", "rank_range", "tied", "date")


class _Rows(HTMLParser):
    """(row attributes, [(cell attributes, text)]) of every ``tr`` with ``data-submission``
    (a run report's row) or ``data-study`` (a row of a study's table)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.rows: list[tuple[dict, list[tuple[dict, str]]]] = []
        self._row: tuple[dict, list] | None = None
        self._cell: tuple[dict, list[str]] | None = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "tr" and ("data-submission" in a or "data-study" in a):
            self._row = (a, [])
        elif tag == "td" and self._row is not None:
            self._cell = (a, [])

    def handle_endtag(self, tag):
        if tag == "td" and self._cell is not None and self._row is not None:
            self._row[1].append((self._cell[0], "".join(self._cell[1]).strip()))
            self._cell = None
        elif tag == "tr" and self._row is not None:
            self.rows.append(self._row)
            self._row = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell[1].append(data)


def parse_rows(path: Path) -> list[tuple[dict, list[tuple[dict, str]]]]:
    parser = _Rows()
    parser.feed(Path(path).read_text(encoding="utf-8"))
    return parser.rows


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


def check_page(path: Path, reports: dict[tuple[str, str], Report]
               ) -> tuple[list[Mismatch], Counter, int]:
    """Mismatches of one page, how many rows of each (id, profile, mode, source) it has, and
    how many cells it compared."""
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
        seen[(*key, attrs["data-mode"], attrs["data-source"])] += 1
        row = Row(rep, attrs["data-mode"], attrs["data-source"], entry)
        for cell, text in cells:
            column = COLUMNS.get(cell.get("data-field"))
            if column is None or column.key in UNCHECKED:
                continue
            expected = column.value(row)
            compared += 1
            if not _shows(text, column.kind, expected):
                out.append(Mismatch(path, f"{key[0]} [{key[1]}] {where}: {column.key}",
                                    expected, text))
    return out, seen, compared


def check_site(site: Path, reports_root: Path) -> tuple[list[Mismatch], int]:
    """(mismatches, number of cells compared) of the index and every submission page."""
    reports = {(r.id, r.profile): r for r in load_reports(Path(reports_root))}
    site = Path(site)
    expected = Counter((r.id, r.profile, mode, source) for r in reports.values()
                       for mode, sources in r.summary["selection"].items() for source in sources)
    out: list[Mismatch] = []
    checked = 0
    pages = [site / "index.html"] + [site / r.page for r in reports.values()]
    for st in load_studies(Path(reports_root)):
        found, compared = check_study_page(site / st.page, st)
        out += found
        checked += compared
    for page in pages:
        if not page.is_file():
            out.append(Mismatch(page, "page", "expected", "(missing)"))
            continue
        found, seen, compared = check_page(page, reports)
        out += found
        checked += compared
        want = expected if page.name == "index.html" else Counter(
            {k: v for k, v in expected.items() if page == site / reports[k[:2]].page})
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
