"""The static site in a real browser (Debian's chromium through Playwright), the site read
back against the summaries, hostile submissions, and the RobustBench export."""
from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pandas as pd
import pytest

from benchmark.cli import main
from leaderboard.check import check_site
from leaderboard.export import export_robustbench
from leaderboard.render import build_site, safe_url

REPORTS = Path(__file__).resolve().parents[1] / "reports"
CHROMIUM = Path("/usr/bin/chromium")
HOSTILE = {
    "name": '<script>window.__pwned = 1</script><img src=x onerror="window.__pwned = 2">',
    "authors": ["</td></tr><script>window.__pwned = 3</script>", "O'Brien & \"Co\""],
    "description": "<iframe src=\"http://example.com/\"></iframe><b>bold?</b>",
    "url": "javascript:window.__pwned = 4",
}


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> tuple[Path, Path]:
    """Reports of three submissions in two profiles (one made hostile), a reference recipe
    and a combination of it with one of them (ci), rendered."""
    root = tmp_path_factory.mktemp("lb")
    reports = root / "reports"
    for sub in ("baseline", "bls_aug", "jpeg_aug"):
        for profile in ("ci", "cpu"):
            shutil.copytree(REPORTS / sub / profile, reports / sub / profile)
    for sub in ("augmix", "jpeg_augmix"):
        shutil.copytree(REPORTS / sub / "ci", reports / sub / "ci")
    for study in ("compressed-training", "storage", "fourier-heatmap"):
        shutil.copytree(REPORTS / "studies" / study, reports / "studies" / study)
    path = reports / "jpeg_aug" / "ci" / "summary.json"
    summary = json.loads(path.read_text())
    summary.update(HOSTILE)
    path.write_text(json.dumps(summary))
    built = build_site(reports, root / "site", progress=False)
    return reports, built.out


def _rows_of(reports: Path, source: str) -> int:
    return sum(len([1 for m in json.loads(p.read_text())["selection"].values() if source in m])
               for p in reports.glob("*/*/summary.json"))


def test_the_site_shows_the_summaries_numbers(site):
    reports, out = site
    mismatches, cells = check_site(out, reports)
    assert mismatches == [] and cells > 500


def _edit_first_cell(out: Path, copy: Path, field: str, edit) -> str:
    """A copy of the site with the first shown (not blank) ``field`` cell of the index
    rewritten by ``edit``; the new text."""
    shutil.copytree(out, copy)
    index = copy / "index.html"
    html = index.read_text()
    start = html.index(f'data-field="{field}"')
    while html[html.index(">", start) + 1:html.index("</td>", start)] == "–":  # not shown
        start = html.index(f'data-field="{field}"', start + 1)
    a, b = html.index(">", start) + 1, html.index("</td>", start)
    text = edit(html[a:b])
    index.write_text(html[:a] + text + html[b:])
    return text


def test_an_edited_number_on_the_page_is_caught(site, tmp_path):
    reports, out = site
    # the first clean-accuracy cell, shown one point higher
    text = _edit_first_cell(out, tmp_path / "site", "clean_acc", lambda t: f"{float(t) + 1:.2f}")
    mismatches, _ = check_site(tmp_path / "site", reports)
    assert len(mismatches) == 1 and mismatches[0].field.endswith("clean_acc")
    assert mismatches[0].recomputed == text


def test_an_edited_interval_on_the_page_is_caught(site, tmp_path):
    """Intervals are numbers of statistics.json, read back end by end."""
    reports, out = site

    def tighter(text: str) -> str:
        low, high = text.split("–")
        return f"{float(low) + 0.5:.2f}–{high}"
    _edit_first_cell(out, tmp_path / "site", "stats.corrupt_acc", tighter)
    mismatches, _ = check_site(tmp_path / "site", reports)
    assert len(mismatches) == 1 and mismatches[0].field.endswith("stats.corrupt_acc")


def _edit(page: Path, marker: str, edit) -> None:
    """``page`` with the text of the element opened by the first ``marker`` rewritten."""
    html = page.read_text()
    start = html.index(">", html.index(marker)) + 1
    end = html.index("<", start)
    page.write_text(html[:start] + edit(html[start:end]) + html[end:])


def test_edited_ranks_track_lines_and_optimism_are_caught(site, tmp_path):
    """What the site computes beyond the summaries (rank intervals, ties, each track's line)
    is checked against the tables built from the reports now; the oracle's optimism against
    statistics.json."""
    reports, out = site
    copy = tmp_path / "site"
    _edit_first_cell(out, copy, "rank_range", lambda t: "7–9")
    index = copy / "index.html"
    _edit(index, 'data-field="tied"', lambda t: "" if t else "≈")
    _edit(index, "data-track=", lambda t: t.replace("test images", "images", 1))
    page = next(copy.glob("submissions/bls_aug--ci.html"))
    _edit(page, 'data-optimism="bda.corrupt_acc"', lambda t: "+9.99 [+9.00, +9.99]")
    _edit(copy / "submissions" / "jpeg_augmix--ci.html", 'data-parent="augmix.corrupt"',
          lambda t: "+9.99 [+9.00, +9.99]")
    fields = sorted(m.field.split(": ")[-1].split(" ")[0] for m in check_site(copy, reports)[0])
    assert fields == ["measures", "optimism.bda.corrupt_acc", "parents.augmix.corrupt",
                      "rank_range", "tied"], fields


def test_references_and_combinations_are_marked_and_pictured_per_track(site):
    """The Kind column names the reference recipe and the combination; each track's
    clean-vs-corrupt picture on the index holds every submission, references as stars; a
    combination's page pairs it with both parents."""
    from leaderboard.board import load_reports, parent_comparisons
    from leaderboard.check import parse_rows

    reports, out = site
    kinds = {a["data-submission"]: text for a, cells in parse_rows(out / "index.html")
             for c, text in cells if c.get("data-field") == "kind"}
    assert kinds["augmix"] == "reference" and kinds["jpeg_augmix"] == "combination"
    assert kinds["baseline"] == "–"
    family = {a["data-submission"]: text for a, cells in parse_rows(out / "index.html")
              for c, text in cells if c.get("data-field") == "family"}
    assert family["jpeg_augmix"] == "jpeg + augmix:3"
    html = (out / "index.html").read_text()
    assert 'src="tracks/fashion-mnist--ci.svg"' in html and (out / "tracks" / "fashion-mnist--ci.svg").is_file()
    assert "submission (5, 1 of them reference recipes drawn as stars)" in html
    assert 'src="tracks/fashion-mnist--ci-cbar.svg"' in html
    loaded = load_reports(reports)
    combo = next(r for r in loaded if (r.id, r.profile) == ("jpeg_augmix", "ci"))
    found = parent_comparisons(loaded, combo)
    assert [p.parent.id for p in found] == ["jpeg_aug", "augmix"]
    assert all(p.corrupt and p.clean and p.cbar for p in found)
    page = (out / "submissions" / "jpeg_augmix--ci.html").read_text()
    assert page.count('data-parent="') == 6 and "Against its parents" in page


def test_rows_rank_together_only_under_one_evaluation_protocol():
    """Reduced-VGG runs are scored on 6 corruptions at severity 3 (and reduced_vgg_bls on
    compressed test images): each protocol is its own track, titled by what it measures."""
    from leaderboard.board import load_reports, tables

    boards = [t for t in tables(load_reports(REPORTS)) if t.profile == "cpu"]
    track_of = {r.report.id: t.id for t in boards for r in t.rows}
    assert track_of["reduced_vgg-vgg11_1"] != track_of["baseline"]
    assert track_of["reduced_vgg_bls-vgg11_1"] not in (track_of["baseline"],
                                                        track_of["reduced_vgg-vgg11_1"])
    assert track_of["bls_aug"] == track_of["baseline"]
    for t in boards:
        assert len({r.report.protocol for r in t.rows}) == 1
    main_track = next(t for t in boards if t.id == track_of["baseline"])
    assert "15 of the 15 common corruptions" in main_track.measures
    assert "passed through" in next(t for t in boards if t.id == track_of[
        "reduced_vgg_bls-vgg11_1"]).measures


def test_ranks_carry_their_intervals_and_ties_where_outcomes_allow():
    """The ci track (100 test images): the ranks the bootstrap supports contain each
    point rank, and rows the data cannot tell apart are marked; a group with a report
    without outcomes shows none."""
    from leaderboard.board import load_reports, tables

    boards = tables(load_reports(REPORTS))
    ci = next(t for t in boards if t.profile == "ci" and t.track == 0)
    rows = [r for r in ci.rows if (r.mode, r.source) == ("bda", "val")]
    for r in rows:
        lo, _, hi = r.rank_range.partition("–")
        assert int(lo) <= r.rank <= int(hi or lo)
    assert rows[0].tied == "" and any(r.tied == "≈" for r in rows[1:])
    by_id = {r.report.id: r for r in rows}
    assert by_id["bls_aug"].tied == "≈"  # 0.1 points from its neighbour on 100 images


def test_a_group_with_a_report_without_outcomes_shows_no_rank_intervals(site):
    """A rank interval needs every row of its group resampled on the same images: one report
    without outcomes blanks its group's intervals and ties, not only its own."""
    from leaderboard.board import load_reports, tables

    reports, _ = site
    with_all = [t for t in tables(load_reports(reports)) if t.profile == "ci"][0]
    assert all(r.rank_range for r in with_all.rows if (r.mode, r.source) == ("bda", "val"))
    kept = reports.parent / "without"
    shutil.copytree(reports, kept)
    (kept / "jpeg_aug" / "ci" / "outcomes.npz").unlink()
    ci = [t for t in tables(load_reports(kept)) if t.profile == "ci"][0]
    assert ci.rows and all(r.rank_range == "" and r.tied == "" for r in ci.rows)


def test_hostile_fields_are_escaped_in_the_html(site):
    _, out = site
    page = (out / "submissions" / "jpeg_aug--ci.html").read_text()
    assert "<script>window.__pwned" not in page and "<iframe" not in page
    assert "&lt;script&gt;window.__pwned = 1&lt;/script&gt;" in page
    assert 'href="javascript:' not in page
    index = (out / "index.html").read_text()
    assert "<script>window.__pwned" not in index and "<img src=x" not in index


def test_only_web_addresses_become_links():
    assert safe_url("https://arxiv.org/abs/1") == "https://arxiv.org/abs/1"
    for bad in ("javascript:alert(1)", "data:text/html,x", "//evil", "file:///etc", None, ""):
        assert safe_url(bad) is None


def test_the_export_reads_back_as_the_summaries(site, tmp_path):
    reports, _ = site
    written = export_robustbench(reports, tmp_path / "rb")
    folder = tmp_path / "rb" / "fashion-mnist" / "corruptions"
    assert folder / "unaggregated_results.csv" in written
    table = pd.read_csv(folder / "unaggregated_results.csv", header=[0, 1], index_col=0)
    assert list(table.columns.get_level_values(1)[:2]) == ["1", "2"]
    for path in reports.glob("*/*/summary.json"):
        s = json.loads(path.read_text())
        entry = s["selection"]["bda"]["val"]
        info = json.loads((folder / f"{s['submission']}_{s['profile']}.json").read_text())
        assert set(info) >= {"link", "name", "authors", "additional_data", "number_forward_passes",
                             "dataset", "venue", "architecture", "eps", "clean_acc", "reported",
                             "corruptions_acc"}
        assert info["clean_acc"] == f"{100 * entry['clean_acc']:.2f}"
        assert info["corruptions_acc"] == f"{100 * entry['corrupt_acc']:.2f}"
        assert info["corruptions_mce"] == f"{100 * entry['mce']:.2f}"
        cells = table.loc[f"{s['submission']}_{s['profile']}"].dropna()
        assert len(cells) == sum(1 for c in s["corruptions"] if c in entry["corruption_acc"]
                                 and c not in ("saturate", "spatter", "gaussian_blur",
                                               "speckle_noise")) * len(entry["severity_acc"])
        assert cells.mean() == pytest.approx(entry["corrupt_acc"], abs=1e-12)


def test_leaderboard_on_a_missing_folder_is_one_line(tmp_path, capsys):
    code = main(["leaderboard", "--reports", str(tmp_path / "none"), "--out", str(tmp_path / "s")])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and "no reports" in err[0]
    assert not (tmp_path / "s").exists()


# --------------------------------------------------------------------------- browser
def _browser():
    if not CHROMIUM.exists():
        if os.environ.get("CI"):
            pytest.fail(f"{CHROMIUM} missing: `make test` installs Debian's chromium")
        pytest.skip(f"{CHROMIUM} missing (make test installs it)")
    sync_playwright = pytest.importorskip("playwright.sync_api").sync_playwright
    return sync_playwright


@pytest.fixture
def page(tmp_path):
    sync_playwright = _browser()
    with sync_playwright() as p:
        # a fresh profile folder, and no background traffic: the closed network stalls it
        browser = p.chromium.launch_persistent_context(
            str(tmp_path / "profile"), executable_path=str(CHROMIUM),
            viewport={"width": 1300, "height": 900},
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--no-first-run", "--disable-sync"])
        try:
            pg = browser.new_page()
            pg.events = {"console": [], "requests": [], "dialogs": [], "errors": []}
            pg.on("console", lambda m: pg.events["console"].append((m.type, m.text)))
            pg.on("pageerror", lambda e: pg.events["errors"].append(str(e)))
            pg.on("request", lambda r: pg.events["requests"].append(r.url))
            pg.on("dialog", lambda d: (pg.events["dialogs"].append(d.message), d.dismiss()))
            yield pg
        finally:
            browser.close()


def _quiet(pg) -> None:
    assert [m for m in pg.events["console"] if m[0] in ("error", "warning")] == []
    assert pg.events["errors"] == [] and pg.events["dialogs"] == []
    assert [u for u in pg.events["requests"] if not u.startswith("file://")] == []


def _visible_values(pg, field: str) -> list[float | None]:
    texts = pg.locator(f"table.leaderboard >> nth=0 >> tbody tr:visible td[data-field='{field}']"
                       ).all_inner_texts()
    return [None if t.strip() in ("–", "") else float(t.split()[0]) for t in texts]


def test_the_index_sorts_filters_and_switches_source_in_a_browser(site, page, tmp_path):
    reports, out = site
    page.goto((out / "index.html").as_uri())
    first = page.locator("table.leaderboard").first
    val_rows = page.locator("table.leaderboard tbody tr:visible")
    assert val_rows.count() == _rows_of(reports, "val")
    assert page.locator("table.leaderboard tbody tr").count() == sum(
        _rows_of(reports, s) for s in ("val", "unseen", "oracle"))
    assert page.locator("#oracle-warning").is_hidden()

    # sort by corrupt accuracy: ascending, then descending
    header = first.locator("th", has_text="Corrupt %")
    header.locator("button").click()
    assert header.get_attribute("aria-sort") == "ascending"
    up = _visible_values(page, "corrupt_acc")
    assert up == sorted(up) and len(up) > 3
    header.locator("button").click()
    down = _visible_values(page, "corrupt_acc")
    assert down == sorted(down, reverse=True) and down[0] == max(up)

    # the source switch: only oracle rows, and the warning that says what they are
    page.locator("input[name='source'][value='oracle']").check()
    rows = page.locator("table.leaderboard tbody tr:visible")
    assert rows.count() == _rows_of(reports, "oracle")
    assert set(rows.evaluate_all("rs => rs.map(r => r.dataset.source)")) == {"oracle"}
    assert page.locator("#oracle-warning").is_visible()

    # mode and text filters
    page.select_option("#mode-filter", "bda")
    page.fill("#text-filter", "bls")
    rows = page.locator("table.leaderboard tbody tr:visible")
    assert rows.count() == 2  # bls_aug in two profiles
    assert set(rows.evaluate_all("rs => rs.map(r => r.dataset.submission)")) == {"bls_aug"}

    shot = tmp_path / "index.png"
    page.screenshot(path=str(shot), full_page=True)
    assert shot.stat().st_size > 10_000
    if os.environ.get("BENCH_SCREENSHOT"):
        shutil.copy(shot, os.environ["BENCH_SCREENSHOT"])
    _quiet(page)


def test_a_hostile_submission_cannot_inject_into_the_page(site, page):
    _, out = site
    for name in ("index.html", "submissions/jpeg_aug--ci.html"):
        page.goto((out / name).as_uri())
        assert page.evaluate("window.__pwned") is None
        scripts = page.evaluate("Array.from(document.scripts).map(s => s.getAttribute('src'))")
        assert all(s and s.endswith("static/site.js") for s in scripts)
        assert page.locator("iframe").count() == 0
        assert page.locator("a[href^='javascript:']").count() == 0
    # the text is shown literally
    assert HOSTILE["name"] in page.locator("h1").inner_text()
    assert "not a web address" in page.locator("dl.meta").inner_text()
    _quiet(page)


def test_a_submission_page_has_its_figures_with_alt_text(site, page):
    _, out = site
    page.goto((out / "submissions" / "bls_aug--cpu.html").as_uri())
    images = page.locator("figure img")
    assert images.count() >= 7
    for i in range(images.count()):
        img = images.nth(i)
        assert len(img.get_attribute("alt")) > 40
        assert img.evaluate("i => i.complete && i.naturalWidth > 0")  # the file loaded
    assert page.locator("table caption").count() >= 3
    _quiet(page)


def test_an_edited_number_in_a_study_table_is_caught(site, tmp_path):
    reports, out = site
    copy = tmp_path / "site"
    shutil.copytree(out, copy)
    page = copy / "studies" / "storage--cpu.html"
    html = page.read_text()
    start = html.index('data-field="relative_size"')
    a, b = html.index(">", start) + 1, html.index("</td>", start)
    page.write_text(html[:a] + f"{float(html[a:b]) + 0.5:.1f}" + html[b:])
    mismatches, _ = check_site(copy, reports)
    assert [m.field for m in mismatches] == ["tables.sets.rows[0].relative_size"]


def test_a_study_page_shows_its_verdicts_and_figures_in_a_browser(site, page):
    reports, out = site
    page.goto((out / "index.html").as_uri())
    page.get_by_role("link", name="Fourier heat maps of trained classifiers").first.click()
    summary = json.loads((reports / "studies" / "fourier-heatmap" / "ci" / "summary.json"
                          ).read_text())
    assert page.url.endswith("studies/fourier-heatmap--ci.html")
    assert page.locator("table.verdicts tbody tr").count() == len(summary["verdicts"])
    words = page.locator("table.verdicts .verdict").all_inner_texts()
    assert words == [v["verdict"] for v in summary["verdicts"]]
    img = page.locator("figure img")
    assert img.count() == 1 and len(img.first.get_attribute("alt")) > 40
    assert img.first.evaluate("i => i.complete && i.naturalWidth > 0")
    page.goto((out / "submissions" / "bls_aug--cpu.html").as_uri())
    heat = page.locator("figure img[src$='fourier.svg']")
    assert heat.count() == 1 and "bls_aug" in heat.get_attribute("alt")
    _quiet(page)


def test_labels_of_points_close_together_are_placed_apart():
    """Four submissions on one spot of a track picture: each label gets a box of its own."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from leaderboard.figures import _overlap, label_offsets

    fig, ax = plt.subplots(figsize=(6.4, 4.4))
    xy = [(80.0, 60.0), (80.1, 60.05), (80.05, 59.95), (20.0, 10.0)]
    ax.scatter(*zip(*xy))
    ax.autoscale_view()
    names = ["jpeg_aug", "jpeg2000_aug", "bls_aug", "baseline"]
    spots = label_offsets(ax, xy, names, 6)
    plt.close(fig)
    assert spots[3] == (4, 3, "left")  # alone: the first spot
    scale = 72.0 / fig.dpi
    boxes = []
    for (x, y), name, (dx, dy, ha) in zip(xy, names, spots):
        px, py = (v * scale for v in ax.transData.transform((x, y)))
        w = 0.6 * 6 * len(name)
        boxes.append((px + dx - (w if ha == "right" else 0), py + dy, w, 6))
    assert not any(_overlap(a, b) for i, a in enumerate(boxes) for b in boxes[i + 1:])


def test_every_committed_study_draws_its_figures(tmp_path):
    """``bench verify`` builds the site without pictures, so their code is held here: every
    committed study with a figure function draws its files, each with words for its alt
    text."""
    from benchmark.studies import read_arrays, study_folders
    from leaderboard.study_figures import FIGURES, study_figures

    drawn = set()
    for folder in study_folders(REPORTS):
        summary = json.loads((folder / "summary.json").read_text())
        out = tmp_path / summary["study"] / folder.name
        figs = study_figures(summary, read_arrays(folder), out)
        if summary["study"] in FIGURES:
            assert figs, folder
            drawn.add(summary["study"])
        for f in figs:
            assert (out / f.file).stat().st_size > 1000 and len(f.alt) > 40, (folder, f.file)
    assert drawn == set(FIGURES)


def test_a_site_without_figures_has_every_page_and_number(site, tmp_path):
    """What ``bench verify`` builds: the same pages and numbers, no picture drawn."""
    reports, out = site
    bare = build_site(reports, tmp_path / "bare", progress=False, figures=False)
    assert bare.figures == 0 and not list(bare.out.rglob("*.svg"))
    assert sorted(p.relative_to(bare.out) for p in bare.pages) == sorted(
        p.relative_to(out) for p in out.rglob("*.html"))
    mismatches, cells = check_site(bare.out, reports)
    assert mismatches == [] and cells == check_site(out, reports)[1]
