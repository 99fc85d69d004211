"""`bench verify`: committed summaries recomputed, a ci report rerun from scratch, and a
hand-edited number caught and named."""
from __future__ import annotations

import json
import math
import re
import shutil
from pathlib import Path

import numpy as np
import pytest

from benchmark.cli import main
from corruptions.errors import BenchError
from benchmark.scoring.reports import OUTCOMES
from benchmark.scoring.results import read_outcomes, read_results, write_outcomes, write_parquet
from benchmark.verify.checks import check_outcomes, check_statistics, check_summary
from benchmark.verify.compare import (
    CROSS_KIND_FLIPS,
    Tolerance,
    compare_arrays,
    compare_rows,
    diff,
    tolerance_for,
)
from benchmark.verify.rerun import rerun

REPORTS = Path(__file__).resolve().parents[1] / "reports"
ROOT = REPORTS.parent


@pytest.fixture
def reports(tmp_path) -> Path:
    """The committed ci reports of baseline and bls_aug, copied."""
    root = tmp_path / "reports"
    for sub in ("baseline", "bls_aug"):
        shutil.copytree(REPORTS / sub / "ci", root / sub / "ci")
    return root


def test_the_committed_ci_summaries_recompute_exactly(reports):
    assert check_summary(reports / "baseline" / "ci") == []
    assert check_summary(reports / "bls_aug" / "ci") == []


def test_a_hand_edited_number_fails_verify_naming_file_field_and_both_values(reports, capsys):
    path = reports / "bls_aug" / "ci" / "summary.json"
    summary = json.loads(path.read_text())
    true = summary["selection"]["bda"]["val"]["corrupt_acc"]
    summary["selection"]["bda"]["val"]["corrupt_acc"] = true + 0.01
    path.write_text(json.dumps(summary, indent=1))

    code = main(["verify", "--reports", str(reports), "--rerun", "", "--no-site",
                 "--no-zoo", "--submissions", ""])
    err = capsys.readouterr().err
    assert code == 1
    line = next(x for x in err.splitlines() if "selection.bda.val.corrupt_acc" in x)
    assert str(path) in line
    assert repr(true + 0.01) in line and repr(true) in line
    assert "1 difference(s)" in err


def test_a_kept_scratch_lets_a_stopped_rerun_resume(reports, tmp_path, capsys):
    """``--scratch DIR`` keeps the reruns' runs: started again, a rerun reads its finished
    units back (the counts files are not rewritten) and compares them as before; a scratch
    inside the reports is refused."""
    scratch = tmp_path / "scratch"
    argv = ["verify", "--reports", str(reports), "--rerun", "baseline/ci", "--no-site",
            "--no-zoo", "--submissions", "", "--scratch", str(scratch)]
    assert main(argv) == 0
    counts = sorted(p for p in (scratch / "runs").rglob("*") if p.is_file())
    assert counts
    stamps = {p: p.stat().st_mtime_ns for p in counts}
    assert main(argv) == 0
    assert {p: p.stat().st_mtime_ns for p in counts} == stamps
    assert "rerun from scratch" in capsys.readouterr().out
    inside = ["verify", "--reports", str(reports), "--rerun", "", "--no-site", "--no-zoo",
              "--submissions", "", "--scratch", str(reports / "tmp")]
    assert main(inside) == 2 and not (reports / "tmp").exists()


def test_an_edited_baseline_row_moves_every_mce_and_is_caught(reports):
    """The mCE is relative to the baseline's rows: editing those fails the other summary."""
    path = reports / "baseline" / "ci" / "results.parquet"
    rows = read_results(path)
    i = rows.index[(rows["corruption"] == "fog") & (rows["split"] == "test")][0]
    rows.loc[i, "correct"] -= 5
    rows.loc[i, "accuracy"] = rows.loc[i, "correct"] / rows.loc[i, "n"]
    rows.to_parquet(path, index=False)
    fields = {m.field for m in check_summary(reports / "bls_aug" / "ci")}
    summary = json.loads((reports / "bls_aug" / "ci" / "summary.json").read_text())
    every = {f"selection.{mode}.{source}.mce" for mode, sources in summary["selection"].items()
             for source in sources}
    assert every <= fields
    assert not any(f.startswith("selection.") and f.endswith("clean_acc") for f in fields)


def test_counts_that_disagree_with_the_outcomes_are_caught(tmp_path):
    """A count edited consistently (correct and accuracy, so the summary recomputes) no
    longer matches the images marked correct; a flipped outcome bit no longer matches the
    count. Both are named."""
    folder = tmp_path / "r"
    rows = read_results(REPORTS / "baseline" / "ci" / "results.parquet")
    masks = [np.arange(n) % 3 != 0 for n in rows["n"]]
    rows["correct"] = [int(m.sum()) for m in masks]
    rows["accuracy"] = rows["correct"] / rows["n"]
    write_parquet(folder / "results.parquet", rows)
    write_outcomes(folder / OUTCOMES, rows, masks)
    assert check_outcomes(folder) == []

    masks[4] = masks[4].copy()
    masks[4][0] = not masks[4][0]
    write_outcomes(folder / OUTCOMES, rows, masks)
    found = check_outcomes(folder)
    assert len(found) == 1 and found[0].field.endswith(".correct")
    assert f"corruption={rows['corruption'][4]}" in found[0].field
    assert (found[0].reported, found[0].recomputed) == (rows["correct"][4], int(masks[4].sum()))

    write_outcomes(folder / OUTCOMES, rows.iloc[::-1].reset_index(drop=True), masks[::-1])
    assert check_outcomes(folder)  # the same counts in another row order: misaligned


def test_row_comparison_names_the_row_and_column():
    rows = read_results(REPORTS / "baseline" / "ci" / "results.parquet")
    edited = rows.copy()
    edited.loc[3, "correct"] += 1
    found = compare_rows(rows, edited, Path("x.parquet"))
    assert len(found) == 1 and found[0].field.endswith(".correct")
    r = rows.loc[3]
    assert f"corruption={r['corruption']}" in found[0].field and f"severity={r['severity']}" in found[0].field
    assert compare_rows(rows, rows.iloc[1:], Path("x"))[0].recomputed == "(absent)"


ACROSS = Tolerance(1e-4, CROSS_KIND_FLIPS, "AVX2 -> AVX512")


def test_across_cpu_kinds_a_flipped_image_passes_and_an_edit_does_not():
    """Another CPU kind rounds floats differently and flips the odd image: that passes,
    within the stated tolerance; an edit the size of a real difference does not."""
    rows = read_results(REPORTS / "baseline" / "ci" / "results.parquet")
    flipped = rows.copy()
    flipped.loc[3, "correct"] += 1
    flipped.loc[3, "accuracy"] = flipped.loc[3, "correct"] / flipped.loc[3, "n"]
    assert compare_rows(rows, flipped, Path("x"))  # exactly: caught
    assert compare_rows(rows, flipped, Path("x"), tol=ACROSS) == []
    forged = rows.copy()
    forged["correct"] += forged["n"] // 20  # five points better everywhere
    found = compare_rows(rows, forged, Path("x"), tol=ACROSS)
    assert found and all(m.field.endswith(".correct") for m in found)
    renamed = rows.copy()
    renamed.loc[0, "model"] = "other"
    assert compare_rows(rows, renamed, Path("x"), tol=ACROSS)  # labels stay exact


def test_across_cpu_kinds_arrays_agree_to_the_float_tolerance_and_the_flip_budget():
    rng = np.random.default_rng(0)
    masks = {f"cell{i}": rng.random(100) < 0.5 for i in range(10)}
    weights = {"w": rng.standard_normal(64).astype(np.float32)}
    one_flip = {**masks, "cell3": masks["cell3"].copy()}
    one_flip["cell3"][7] = not one_flip["cell3"][7]
    assert compare_arrays(masks, one_flip, Path("o.npz"))
    assert compare_arrays(masks, one_flip, Path("o.npz"), ACROSS) == []
    many = {k: ~v for k, v in masks.items()}
    assert compare_arrays(masks, many, Path("o.npz"), ACROSS)
    ulps = {"w": np.nextafter(weights["w"], np.float32(np.inf))}
    assert compare_arrays(weights, ulps, Path("w.npz"), ACROSS) == []
    assert compare_arrays(weights, {"w": weights["w"] * 1.01}, Path("w.npz"), ACROSS)
    labels = {"setting": np.array(["a", "b"])}
    assert compare_arrays(labels, {"setting": np.array(["a", "c"])}, Path("l.npz"), ACROSS)


def test_the_tolerance_is_exact_on_the_kind_that_wrote_the_report():
    from corruptions.device import cpu_kind

    assert tolerance_for(cpu_kind()) is None and tolerance_for(None) is None
    other = tolerance_for("SOME_OTHER_KIND")
    assert other is not None and other.across.startswith("SOME_OTHER_KIND -> ")


def test_across_kinds_a_codecs_byte_count_moves_within_the_tolerance_and_an_edit_does_not():
    # 133075 -> 133078: a ci augmix set's PNG bytes on AMD, then on Intel (the images differ
    # in the last bits of a float op, so their files by a few bytes)
    reported, rerun_here = {"t": {"3": {"file_bytes": 133075}}}, {"t": {"3": {"file_bytes": 133078}}}
    assert list(diff(reported, rerun_here)) != []  # the same kind: exact
    across = tolerance_for("SOME_OTHER_KIND")
    assert list(diff(reported, rerun_here, tol=across)) == []
    edited = {"t": {"3": {"file_bytes": 134406}}}  # 1% more
    assert list(diff(reported, edited, tol=across)) != []


def test_diff_walks_nested_fields_exact_for_integers_and_to_the_last_bits_for_floats():
    assert list(diff({"a": 1.0, "b": [1, 2]}, {"a": 1.0, "b": [1, 2]})) == []
    assert list(diff({"a": math.nan}, {"a": math.nan})) == []
    # a last-bit difference (another CPU kind's log10) is no drift; an edit is
    assert list(diff({"a": {"b": 0.1 + 0.2}}, {"a": {"b": 0.3}})) == []
    assert list(diff({"a": 6.19339818775865}, {"a": 6.193398187758632})) == []
    assert list(diff({"a": 0.7012}, {"a": 0.7013})) == [("a", 0.7012, 0.7013)]
    assert list(diff({"a": 1.0}, {"a": 1.0 + 1e-9})) == [("a", 1.0, 1.0 + 1e-9)]
    assert list(diff({"n": 2000}, {"n": 2001})) == [("n", 2000, 2001)]
    assert list(diff({"a": 1}, {})) == [("a", 1, "(absent)")]
    assert list(diff({"a": [1]}, {"a": [1, 2]})) == [("a[len]", 1, 2)]
    assert list(diff({"a": True}, {"a": 1})) == [("a", True, 1)]


def test_the_baseline_ci_report_reruns_from_scratch_to_the_same_rows(reports, tmp_path):
    result = rerun(reports / "baseline" / "ci", REPORTS, tmp_path / "scratch")
    assert result.mismatches == []
    assert (tmp_path / "scratch" / "data" / "corrupted").is_dir()  # really from nothing


def test_an_unreadable_summary_is_one_line_and_exit_2(tmp_path, capsys):
    (tmp_path / "r" / "x" / "ci").mkdir(parents=True)
    (tmp_path / "r" / "x" / "ci" / "summary.json").write_text("{not json")
    code = main(["verify", "--reports", str(tmp_path / "r"), "--rerun", "", "--no-site",
                 "--no-zoo", "--submissions", ""])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and "summary.json" in err[0]


def test_statistics_carry_the_summary_numbers_with_intervals_and_verify_recomputes_them(reports, capsys):
    from benchmark.scoring.reports import RunFolder

    assert main(["statistics", "--reports", str(reports)]) == 0
    assert "wrote statistics.json for 2 report(s)" in capsys.readouterr().out
    folder = RunFolder(reports / "bls_aug" / "ci")
    stats, summary = folder.statistics(), folder.summary()
    base = RunFolder(reports / "baseline" / "ci").summary().entry("bda", "oracle")
    for mode, sources in summary.selection.items():
        for source, entry in sources.items():
            got = stats["selection"][mode][source]
            for key in ("clean_acc", "corrupt_acc"):
                assert got[key]["value"] == pytest.approx(getattr(entry, key), abs=1e-12)
                assert got[key]["low"] <= got[key]["value"] <= got[key]["high"]
            assert got["mce"]["value"] == pytest.approx(entry.mce, abs=1e-12)
            assert got["vs_baseline"]["corrupt_acc"]["value"] == pytest.approx(
                entry.corrupt_acc - base.corrupt_acc, abs=1e-12)
    assert check_statistics(folder.folder) == []
    edited = json.loads(folder.path("statistics.json").read_text())
    edited["selection"]["bda"]["val"]["corrupt_acc"]["low"] -= 0.01  # a tighter-looking claim
    folder.path("statistics.json").write_text(json.dumps(edited))
    found = check_statistics(folder.folder)
    assert len(found) == 1 and found[0].field == "selection.bda.val.corrupt_acc.low"
    folder.path("statistics.json").unlink()
    assert check_statistics(folder.folder)[0].reported == "(absent)"


def test_no_paired_comparison_across_evaluation_protocols():
    """reduced_vgg_bls is tested on compressed images: its numbers are not the baseline's
    kind, so it gets intervals but no difference from the baseline."""
    from benchmark.scoring.reports import RunFolder, evaluation_protocol
    from benchmark.scoring.statistics import folder_statistics

    base, other = (RunFolder(REPORTS / s / "ci") for s in ("baseline", "reduced_vgg_bls-vgg11_4"))
    assert evaluation_protocol(base.summary(), base.results()) != evaluation_protocol(
        other.summary(), other.results())
    stats = folder_statistics(other)
    entry = stats["selection"]["bda"]["val"]
    assert entry["vs_baseline"] is None and entry["mce"] is None
    assert entry["corrupt_acc"]["low"] < entry["corrupt_acc"]["high"]


def test_statistics_of_an_empty_reports_root_exit_2(tmp_path, capsys):
    assert main(["statistics", "--reports", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "no run report" in err[0]


def test_the_headline_says_whether_a_difference_is_beyond_noise():
    from benchmark.commands.run import headline

    d = {"value": 0.02, "low": 0.005, "high": 0.035, "p": 0.01}
    e = {"clean_acc": {"value": 0.86, "low": 0.85, "high": 0.87},
         "corrupt_acc": {"value": 0.7, "low": 0.69, "high": 0.71},
         "vs_baseline": {"clean_acc": d, "corrupt_acc": d}}
    stats = {"selection": {"bda": {"oracle": e, "val": e}}}
    line = headline("x", "demo", stats)
    assert "(BDA val)" in line and "clean 86.00 [85.00, 87.00]" in line
    assert line.endswith("+2.00 [+0.50, +3.50], p 0.010: more robust than the baseline, beyond noise")
    e["vs_baseline"]["corrupt_acc"] = {"value": 0.01, "low": -0.005, "high": 0.025, "p": 0.2}
    assert headline("x", "demo", stats).endswith("within noise of the baseline")
    e["vs_baseline"] = None
    assert "baseline" not in headline("x", "demo", stats)


def test_the_demo_profile_compares_the_baseline_with_zoo_codecs():
    from benchmark.codecs.zoo import zoo_recipe
    from benchmark.pipeline.submission import load_submission

    base = load_submission(ROOT / "submissions" / "baseline.yaml", "demo")
    bls = load_submission(ROOT / "submissions" / "bls_aug.yaml", "demo")
    assert (base.dataset, base.seeds, base.test_images) == (bls.dataset, bls.seeds, bls.test_images)
    assert zoo_recipe(bls.dataset, "bls") is not None and not bls.codec  # the shipped codecs
    assert set(bls.labels) <= {"0.001", "0.003", "0.005", "0.012", "0.033", "0.05", "0.1"}


def test_resummarize_follows_a_new_baseline(reports, capsys):
    """A baseline rerun moves every mCE relative to it: the summaries are stale until
    resummarized from their own rows, then verify agrees again."""
    rows = read_results(reports / "baseline" / "ci" / "results.parquet")
    rows.loc[rows["split"] == "test", "correct"] -= 1  # a baseline one image worse per cell
    rows["accuracy"] = rows["correct"] / rows["n"]
    write_parquet(reports / "baseline" / "ci" / "results.parquet", rows)
    assert check_summary(reports / "bls_aug" / "ci")  # its mCE moved
    assert main(["resummarize", "--reports", str(reports), "--profile", "ci"]) == 0
    assert check_summary(reports / "bls_aug" / "ci") == []
    assert check_summary(reports / "baseline" / "ci") == []
    summary = json.loads((reports / "bls_aug" / "ci" / "summary.json").read_text())
    assert "summarized_by" in summary["provenance"]
    assert main(["resummarize", "--reports", str(reports), "--profile", "nope"]) == 2


# --------------------------------------------------------------------------- against the YAML
@pytest.fixture
def repo(tmp_path) -> Path:
    """A repository of two shipped submissions and their committed ci reports."""
    root = tmp_path / "repo"
    for sub in ("baseline", "bls_aug"):
        shutil.copytree(REPORTS / sub / "ci", root / "reports" / sub / "ci")
        (root / "submissions").mkdir(exist_ok=True)
        shutil.copy(ROOT / "submissions" / f"{sub}.yaml", root / "submissions")
    return root


def _verify(repo: Path, capsys) -> tuple[int, str]:
    code = main(["verify", "--reports", str(repo / "reports"), "--rerun", "",
                 "--no-site", "--no-zoo", "--submissions", str(repo / "submissions")])
    return code, capsys.readouterr().err


def test_a_report_agrees_with_its_submission_yaml(repo, capsys):
    from benchmark.verify.audit import check_against_submission, completeness

    assert check_against_submission(repo / "reports" / "bls_aug" / "ci") == []
    found = completeness(repo / "reports", repo / "submissions")
    assert found.problems() == [] and {k for k, _, _ in found.listed} == {"baseline", "bls_aug"}
    assert _verify(repo, capsys)[0] == 0


def test_an_edited_yaml_makes_its_report_stale_naming_both_hashes(repo, capsys):
    path = repo / "submissions" / "bls_aug.yaml"
    text = path.read_text()
    assert "{epochs: 1, batch_size: 64" in text  # the ci profile's
    path.write_text(text.replace("{epochs: 1, batch_size: 64", "{epochs: 2, batch_size: 64"))
    old = json.loads((repo / "reports" / "bls_aug" / "ci" / "summary.json").read_text())
    code, err = _verify(repo, capsys)
    line = next(x for x in err.splitlines() if "provenance.config_hash" in x)
    assert code == 1 and old["provenance"]["config_hash"] in line and "stale" in line


def test_an_accuracy_only_edit_is_caught(repo, capsys):
    path = repo / "reports" / "bls_aug" / "ci" / "results.parquet"
    rows = read_results(path)
    rows.loc[2, "accuracy"] += 0.01
    rows.to_parquet(path, index=False)
    code, err = _verify(repo, capsys)
    assert code == 1 and "row 2.accuracy" in err


def test_an_edited_name_is_caught_though_the_summary_recomputes(repo, capsys):
    path = repo / "reports" / "bls_aug" / "ci" / "summary.json"
    summary = json.loads(path.read_text())
    summary["name"] = "Something better"
    path.write_text(json.dumps(summary))
    code, err = _verify(repo, capsys)
    assert code == 1 and "name: reported 'Something better'" in err


def test_a_missing_ci_report_and_an_orphan_are_named(repo, capsys):
    shutil.rmtree(repo / "reports" / "bls_aug")
    shutil.copytree(repo / "reports" / "baseline" / "ci", repo / "reports" / "ghost" / "ci")
    code, err = _verify(repo, capsys)
    assert code == 1
    assert "bls_aug [ci]: no report" in err
    assert "ghost" in err and "orphan" in err
    # the copy also sits in a folder its summary does not name
    assert "ghost/ci/summary.json: submission: reported 'baseline', recomputed 'ghost'" in err


def test_verify_of_a_folder_without_reports_is_one_line_and_exit_2(tmp_path, capsys):
    code = main(["verify", "--reports", str(tmp_path / "typo"), "--no-site", "--no-zoo"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and "holds no report" in err[0]


def test_a_rerun_takes_the_thread_count_the_report_recorded():
    from benchmark.scoring.report import Provenance, UnitProvenance, UnitRecord

    def unit(threads):
        return UnitRecord("-", 0, UnitProvenance("v", "cpu", threads, "AVX2", "2", "2026-01-01",
                                                 1.0, 1.0))

    assert Provenance("v", units=(unit(3), unit(3))).threads_recorded() == 3
    assert Provenance("v", units=(unit(1), unit(2))).threads_recorded() is None
    # a report from before units kept their own: the count in its device line
    old = {"code_version": "v", "device": "cpu (x86_64, 2 threads)", "units": {"run": 2}}
    assert Provenance.from_dict(old).threads_recorded() == 2
    assert Provenance("v", device="NVIDIA H200").threads_recorded() is None


# --------------------------------------------------------------------------- --rerun
TINY = """
id: tiny
name: Tiny
dataset: fashion-mnist
model: {name: small_cnn}
augmentation: {family: jpeg, params: [10, 80]}
training: {epochs: 1, batch_size: 64, seeds: [0], images: 256}
evaluation: {corruptions: [fog, gaussian_noise], severities: [1, 3], test_images: 100,
             validation_images: 50}
profiles:
  cpu: {}
"""


@pytest.fixture(scope="module")
def tiny(tmp_path_factory) -> Path:
    """A two-unit report under a profile named cpu (the profile --rerun cpu:N samples)."""
    root = tmp_path_factory.mktemp("tiny")
    (root / "tiny.yaml").write_text(TINY)
    assert main(["run", "--submission", str(root / "tiny.yaml"), "--profile", "cpu", "--quiet",
                 "--data-root", str(root / "data"), "--runs", str(root / "runs"),
                 "--reports", str(root / "reports")]) == 0
    return root


def test_rerun_selectors_name_reports_units_or_nothing(tiny):
    from benchmark.verify.plan import plan_reruns

    reports = tiny / "reports"
    plan = plan_reruns("cpu", reports, "abc")
    assert plan.reports == (reports / "tiny" / "cpu",) and plan.study_profiles == ("cpu",)
    units = plan_reruns("cpu:1", reports, "abc").units
    assert len(units) == 1 and units == plan_reruns("cpu:1", reports, "abc").units
    assert {(u.param, u.seed) for u in plan_reruns("cpu:5", reports, "x").units} == {
        ("10", 0), ("80", 0)}
    assert plan_reruns("tiny/cpu", reports, "abc").reports == plan.reports
    assert len(plan_reruns("cpu:2:3600", reports, "abc").units) == 2
    assert not plan_reruns("", reports, "abc")
    for bad in ("typo", "cpu:0", "ci:1", "tiny/ci", "cpu:1:x", "cpu:2:0"):
        with pytest.raises(BenchError):
            plan_reruns(bad, reports, "abc")
    # samples draw only among units recorded on the verifying machine's CPU kind
    other = plan_reruns("cpu:2", reports, "abc", kind="elsewhere")
    assert other.units == () and "none drawn" in other.notes[0]
    assert plan_reruns("cpu", reports, "abc", kind="elsewhere").reports == plan.reports


def test_a_consistently_forged_unit_passes_the_static_checks_and_fails_its_rerun(
        tiny, tmp_path, capsys):
    """Five clean test images turned right in one unit: its count, accuracy, outcome bits,
    summary and statistics all edited to agree, so only rerunning the unit tells."""
    root = tmp_path / "forged"
    shutil.copytree(tiny / "reports", root)
    folder = root / "tiny" / "cpu"
    rows = read_results(folder / "results.parquet")
    keys, masks = read_outcomes(folder / OUTCOMES)
    i = rows.index[(rows["param"] == "10") & (rows["split"] == "test")
                   & (rows["corruption"] == "clean")][0]
    wrong = np.flatnonzero(~masks[i])[:5]
    assert len(wrong) == 5
    masks[i] = masks[i].copy()
    masks[i][wrong] = True
    rows.loc[i, "correct"] += 5
    rows.loc[i, "accuracy"] = rows.loc[i, "correct"] / rows.loc[i, "n"]
    write_parquet(folder / "results.parquet", rows)
    write_outcomes(folder / OUTCOMES, rows, masks)
    assert main(["resummarize", "--reports", str(root), "--profile", "cpu"]) == 0
    static = ["verify", "--reports", str(root), "--no-site", "--no-zoo", "--submissions", ""]
    assert main([*static, "--rerun", ""]) == 0
    capsys.readouterr()
    assert main([*static, "--rerun", "cpu:2"]) == 1
    err = capsys.readouterr().err
    assert "param=10,seed=0,corruption=clean,severity=0].correct" in err
    assert "param=80" not in err  # the honest unit reruns to its rows


def test_edited_arrays_of_a_study_built_on_run_reports_are_caught_without_a_rerun(tmp_path,
                                                                                   capsys):
    """--resummarize makes the summary agree with edited arrays; recomputing the arrays from
    the run reports (seconds, in every profile) does not."""
    root = tmp_path / "reports"
    for sub in ("baseline", "jpeg_aug", "bls_aug", "bmshj_aug"):
        shutil.copytree(REPORTS / sub / "ci", root / sub / "ci")
    study = root / "studies" / "compressed-training" / "ci"
    shutil.copytree(REPORTS / "studies" / "compressed-training" / "ci", study)
    with np.load(study / "arrays.npz") as z:
        arrays = {k: z[k] for k in z.files}
    arrays["clean_acc"] = arrays["clean_acc"] + 0.05
    np.savez_compressed(study / "arrays.npz", **arrays)
    assert main(["compressed-training", "--profile", "ci", "--reports", str(root),
                 "--resummarize"]) == 0
    capsys.readouterr()
    code = main(["verify", "--reports", str(root), "--rerun", "", "--no-site", "--no-zoo",
                 "--submissions", ""])
    out, err = capsys.readouterr()
    assert code == 1
    assert "FAIL " + str(study / "arrays.npz") in out and "[clean_acc]" in err


def test_a_unit_whose_history_is_not_the_yamls_training_is_caught(repo, capsys):
    path = repo / "reports" / "bls_aug" / "ci" / "history.parquet"
    import pandas as pd

    history = pd.read_parquet(path)
    history.iloc[1:].to_parquet(path, index=False)  # one unit's only epoch gone
    code, err = _verify(repo, capsys)
    assert code == 1 and ".epoch: reported [], recomputed [1]" in err


def test_a_source_missing_from_the_data_root_is_refused_before_any_check(tmp_path, capsys):
    """The spectral cpu rerun reads Kodak; a data root without it is one line and exit 2 at
    once, before the static checks, the hours of reruns and the scratch folder."""
    root = tmp_path / "reports"
    shutil.copytree(REPORTS / "baseline" / "cpu", root / "baseline" / "cpu")
    shutil.copytree(REPORTS / "studies" / "spectral" / "cpu",
                    root / "studies" / "spectral" / "cpu")
    empty, scratch = tmp_path / "empty", tmp_path / "scratch"
    code = main(["verify", "--reports", str(root), "--rerun", "all", "--data-root", str(empty),
                 "--scratch", str(scratch), "--no-site", "--no-zoo", "--submissions", ""])
    out, err = capsys.readouterr()
    assert code == 2
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert f"kodak: folder not found: {empty / 'kodak'}" in err
    assert "ok " not in out and "FAIL" not in out
    assert not scratch.exists()


def test_the_committed_rd_table_recomputes_and_an_edited_point_is_caught(tmp_path):
    """reports/codecs/photos/rd.json (the Kodak BD numbers the README quotes): its BD table
    follows from its rows; a PSNR moved by 0.1 dB at one point moves it, and is named."""
    from benchmark.verify.rd import check_rd_table

    table = REPORTS / "codecs" / "photos" / "rd.json"
    assert check_rd_table(table) == []
    edited = json.loads(table.read_text())
    row = next(r for r in edited["rows"] if r["family"] == "bls" and r["param"] == "0.012")
    row["psnr"] += 0.1
    path = tmp_path / "rd.json"
    path.write_text(json.dumps(edited))
    found = check_rd_table(path)
    assert found and all(m.field.startswith("bd.") for m in found)
    assert any(m.field.startswith("bd.bls.") for m in found)


def test_an_rd_table_is_measured_again_under_its_own_request(tmp_path, capsys):
    """bench rd stores its request and provenance; ``--rerun codecs`` measures every row
    again (classical codecs here: no training) and an edited row fails it."""
    from benchmark.augment.rd_table import table_bd

    reports, data = tmp_path / "reports", tmp_path / "data"
    out = reports / "codecs" / "skimage"
    assert main(["rd", "--dataset", "skimage", "--families", "jpeg,webp", "--params",
                 "jpeg=10/50;webp=20/60", "--limit", "2", "--data-root", str(data),
                 "--out", str(out)]) == 0
    table = json.loads((out / "rd.json").read_text())
    assert table["request"]["params"] == {"jpeg": ["10", "50"], "webp": ["20", "60"]}
    assert table["provenance"]["cpu_kind"]
    argv = ["verify", "--reports", str(reports), "--rerun", "codecs", "--no-site", "--no-zoo",
            "--submissions", "", "--data-root", str(data)]
    assert main(argv) == 0
    assert "every row measured again from scratch" in capsys.readouterr().out
    table["rows"][1]["psnr"] += 1e-9  # a last-bits edit: the BD table no longer follows
    table["bd"] = table_bd(table)  # consistent with the edit: only the rerun can tell
    (out / "rd.json").write_text(json.dumps(table))
    assert main(argv) == 1
    assert "jpeg 50|psnr" in capsys.readouterr().err
    assert main(["verify", "--reports", str(reports), "--rerun", "codecs/nope", "--no-site",
                 "--no-zoo", "--submissions", ""]) == 2
    assert "no rate-distortion table" in capsys.readouterr().err


def test_a_corruption_named_the_identity_must_classify_as_the_clean_images(tmp_path):
    """The summary's identity list decides what the thesis-ten and unseen numbers leave
    out, so it is checked: saturate (the identity on grey images) classifies every image as
    the clean set does; fog added to the list is caught by its outcomes, and a name that is
    not one of the corruptions by the list itself."""
    from benchmark.verify.checks import check_identity

    folder = tmp_path / "baseline" / "demo"
    shutil.copytree(REPORTS / "baseline" / "demo", folder)
    assert json.loads((folder / "summary.json").read_text())["identity"] == ["saturate"]
    assert check_identity(folder) == []
    for forged, field in ((["fog", "saturate"], "identity: fog"), (["nope"], "identity")):
        summary = json.loads((folder / "summary.json").read_text())
        summary["identity"] = forged
        (folder / "summary.json").write_text(json.dumps(summary))
        found = check_identity(folder)
        assert found and all(m.field.startswith(field) for m in found)


def test_resummarize_measures_the_identity_of_a_report_from_before_it_was_recorded(tmp_path):
    """A summary written before identity corruptions were recorded is not rewritten with an
    empty list (which would count saturate's clean copy as a corruption again): its
    corrupted sets are built from its YAML and measured."""
    root = tmp_path / "repo"
    shutil.copytree(REPORTS / "baseline" / "demo", root / "reports" / "baseline" / "demo")
    (root / "submissions").mkdir()
    shutil.copy(ROOT / "submissions" / "baseline.yaml", root / "submissions")
    path = root / "reports" / "baseline" / "demo" / "summary.json"
    summary = json.loads(path.read_text())
    del summary["identity"]
    path.write_text(json.dumps(summary))
    assert check_summary(path.parent)  # the recomputation has the field, the file not
    assert main(["resummarize", "--reports", str(root / "reports"), "--profile", "demo",
                 "--data-root", str(tmp_path / "data")]) == 0
    assert json.loads(path.read_text())["identity"] == ["saturate"]
    assert check_summary(path.parent) == []


def test_every_committed_summary_reads_back_to_itself_through_its_types():
    """The typed report writes exactly what was read, key for key and in order, so a
    summary rewritten by today's code differs only where its numbers do; the old format
    (units counted, no written_by) and the new one both."""
    from benchmark.scoring.report import Summary
    from benchmark.scoring.reports import run_folders

    formats = set()
    for folder in run_folders(REPORTS):
        written = json.loads(folder.path("summary.json").read_text())
        typed = Summary.from_dict(written)
        assert json.dumps(typed.to_dict()) == json.dumps(written), folder.folder
        formats.add(typed.provenance.units is None)
    assert formats == {True, False}


def test_a_provenance_key_the_types_do_not_know_is_kept_not_fatal(tmp_path):
    """Provenance is written by hand by nobody, but a tool may add a note: it reads back and
    is written back as it was (provenance is an input, not recomputed)."""
    from benchmark.scoring.report import Summary

    written = json.loads((REPORTS / "baseline" / "ci" / "summary.json").read_text())
    written["provenance"]["host"] = "x"
    typed = Summary.from_dict(written)
    assert typed.provenance.extra == {"host": "x"}
    assert json.dumps(typed.to_dict()) == json.dumps(written)
    folder = tmp_path / "baseline" / "ci"
    shutil.copytree(REPORTS / "baseline" / "ci", folder)
    (folder / "summary.json").write_text(json.dumps(written))
    assert check_summary(folder) == []


def test_a_combination_off_its_parents_pick_is_named(tmp_path):
    """jpeg_augmix trains JPEG at jpeg_aug's held-out pick: a YAML at another quality is
    a stale combination, named with the pick it should have."""
    from benchmark.pipeline.submission import load_submission
    from benchmark.scoring.reports import RunFolder
    from benchmark.verify.audit import check_parents

    folder = RunFolder(REPORTS / "jpeg_augmix" / "ci")
    shipped = load_submission(ROOT / "submissions" / "jpeg_augmix.yaml", "ci")
    assert check_parents(folder, shipped) == []
    pick = RunFolder(REPORTS / "jpeg_aug" / "ci").summary().entry("bda", "val").chosen
    text = (ROOT / "submissions" / "jpeg_augmix.yaml").read_text()
    edited = tmp_path / "jpeg_augmix.yaml"
    edited.write_text(text.replace(f"    augmentation: {{params: [{pick}]}}",
                                   "    augmentation: {params: [99]}"))
    found = check_parents(folder, load_submission(edited, "ci"))
    assert [m.field for m in found] == ["params (the pick of jpeg_aug)"]
    assert found[0].reported == "99" and str(found[0].recomputed).startswith(f"{pick}: jpeg_aug [ci]")


def test_a_thinned_grid_is_the_pick_and_its_neighbours():
    from benchmark.verify.audit import thinned_grid

    grid = ["1", "5", "10", "20", "40", "60", "80"]
    assert thinned_grid(grid, "40") == ["20", "40", "60"]
    assert thinned_grid(grid, "1") == ["1", "5"]
    assert thinned_grid(grid, "80") == ["60", "80"]
    assert thinned_grid(["0.012+0.1", "0.001+0.005"], "0.001+0.005") == ["0.012+0.1",
                                                                          "0.001+0.005"]
    assert thinned_grid(["-"], "-") == ["-"]
    # the bigger budget picks at an inner end of its window: the window grows to flank it
    assert thinned_grid(grid, "40", own_pick="20") == ["10", "20", "40", "60"]
    assert thinned_grid(grid, "40", own_pick="40") == ["20", "40", "60"]
    assert thinned_grid(grid, "5", own_pick="1") == ["1", "5", "10"]
    assert thinned_grid(["0.05", "0.1", "0.2"], "0.2", own_pick="0.1") == ["0.05", "0.1", "0.2"]


def test_a_capacity_grid_grown_to_flank_its_pick_stays_grown(tmp_path):
    """deepaugment_bls's cpu report picks 0.2 of [0.05, 0.1, 0.2]: the capacity grid [0.1,
    0.2] is its pick and neighbour; grown to all three after the capacity pick landed on 0.1,
    it stays valid wherever the capacity pick goes next, and shrunk again it is stale only
    where the capacity pick sits at its inner end."""
    from benchmark.pipeline.submission import load_submission
    from benchmark.scoring.reports import RunFolder
    from benchmark.verify.audit import check_thinned

    text = (ROOT / "submissions" / "deepaugment_bls.yaml").read_text()
    folder = RunFolder.at(REPORTS, "deepaugment_bls", "capacity")
    own = json.loads(folder.path("summary.json").read_text())["selection"]["bda"]["val"]["chosen"]
    for params, stale in (("[0.05, 0.1, 0.2]", False), ("[0.1, 0.2]", str(own) == "0.1"),
                          ("[0.05, 0.2]", True)):
        edited = tmp_path / "deepaugment_bls.yaml"
        edited.write_text(re.sub(r"augmentation: \{params: \[0\.05, 0\.1, 0\.2\]\}",
                                 f"augmentation: {{params: {params}}}", text))
        found = check_thinned(folder, load_submission(edited, "capacity"))
        assert bool(found) == stale, (params, found)


def test_every_shipped_capacity_grid_is_thinned_from_its_cpu_pick(tmp_path):
    from benchmark.pipeline.submission import load_submission, profiles_of
    from benchmark.scoring.reports import RunFolder
    from benchmark.verify.audit import check_thinned

    shipped = [p for p in sorted((ROOT / "submissions").glob("*.yaml"))
               if "capacity" in profiles_of(p)]
    assert len(shipped) == 10
    for path in shipped:
        spec = load_submission(path, "capacity")
        assert check_thinned(RunFolder.at(REPORTS, spec.id, "capacity"), spec) == [], spec.id
    # jpeg_aug's cpu report picks quality 40: a grid moved one step off it is stale
    edited = tmp_path / "jpeg_aug.yaml"
    edited.write_text((ROOT / "submissions" / "jpeg_aug.yaml").read_text().replace(
        "augmentation: {params: [1, 5, 10, 20, 40, 60]}", "augmentation: {params: [40, 60, 80]}"))
    found = check_thinned(RunFolder.at(REPORTS, "jpeg_aug", "capacity"),
                          load_submission(edited, "capacity"))
    assert [(m.field, m.reported) for m in found] == [("params (thinned from cpu)",
                                                        ["40", "60", "80"])]
