"""``bench run`` end to end on the ``ci`` profile: reports, idempotent units, resume after a
real kill, the Ray executor, a diverging unit, checkpoint-only submissions, the Python API."""
from __future__ import annotations

import json
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
import torch

from benchmark.api import benchmark
from benchmark.cli import main
from benchmark.models import Normalized, create_model
from benchmark.pipeline import units
from benchmark.pipeline.runner import run_units
from benchmark.pipeline.submission import load_submission
from benchmark.pipeline.train import NonFiniteLoss
from benchmark.scoring.reports import OUTCOMES
from benchmark.scoring.results import RESULT_COLUMNS, read_outcomes, read_results
from benchmark.scoring.report import Summary
from benchmark.scoring.summary import recompute
from benchmark.verify.checks import check_outcomes
from corruptions.errors import BenchError

REPO = Path(__file__).resolve().parents[1]
CI_CORRUPTIONS = {"gaussian_noise", "fog", "contrast", "jpeg_compression", "speckle_noise"}
KEY = ["split", "param", "seed", "corruption", "severity"]


def bench(tmp: Path, submission: str | Path, *extra: str, profile: str = "ci") -> int:
    return main(["run", "--submission", str(submission), "--profile", profile, "--quiet",
                 "--data-root", str(tmp / "data"), "--runs", str(tmp / "runs"),
                 "--reports", str(tmp / "reports"), *extra])


def sub(tmp: Path, name: str, text: str) -> Path:
    path = tmp / f"{name}.yaml"
    path.write_text(text)
    return path


def counts(df: pd.DataFrame) -> pd.DataFrame:
    return df.sort_values(KEY).reset_index(drop=True)[KEY + ["n", "correct"]]


@pytest.fixture(scope="module")
def ci(tmp_path_factory):
    """The baseline and bls_aug submissions, ci profile, in a fresh data root."""
    tmp = tmp_path_factory.mktemp("ci")
    assert bench(tmp, REPO / "submissions/baseline.yaml") == 0
    assert bench(tmp, REPO / "submissions/bls_aug.yaml") == 0
    return tmp


CBAR_CI = ("brownish_noise", "checkerboard_cutout", "ripple")  # the ci profiles' C-bar ones


def test_cbar_is_evaluated_on_test_beside_the_c_suite_and_moves_none_of_it(ci):
    """The ci baseline evaluates three C-bar corruptions; the same without them reuses its
    trained unit, is only evaluated again, and reports every C number as it was: C-bar rows
    on test alone, reported at the BDA picks with intervals, nothing else."""
    text = (REPO / "submissions/baseline.yaml").read_text()
    line = f"      cbar: [{', '.join(CBAR_CI)}]\n"
    assert line in text
    path = sub(ci, "baseline_no_cbar", text.replace(line, "      cbar: null\n"))
    assert main(["run", "--submission", str(path), "--profile", "ci", "--quiet", "--data-root",
                 str(ci / "data"), "--runs", str(ci / "runs"), "--reports",
                 str(ci / "reports-no-cbar")]) == 0
    folder, without = ci / "reports/baseline/ci", ci / "reports-no-cbar/baseline/ci"
    rows = read_results(folder / "results.parquet")
    bar = rows[rows["corruption"].isin(CBAR_CI)]
    assert set(bar["split"]) == {"test"} and set(bar["severity"]) == {1, 3, 5}
    assert len(bar) == 3 * 3 and (ci / "data/corrupted/fashion-mnist-c-bar-n100").is_dir()
    pd.testing.assert_frame_equal(counts(rows[~rows["corruption"].isin(CBAR_CI)]),
                                  counts(read_results(without / "results.parquet")))
    summary = json.loads((folder / "summary.json").read_text())
    old = json.loads((without / "summary.json").read_text())
    for mode, sources in summary["selection"].items():
        for source, entry in sources.items():
            assert ("cbar_acc" in entry) == (mode == "bda")
            was = old["selection"][mode][source]
            assert {k: v for k, v in entry.items() if not k.startswith("cbar")} == was
    entry = summary["selection"]["bda"]["oracle"]
    assert entry["cbar_acc"] == pytest.approx(bar["correct"].sum() / bar["n"].sum())
    assert set(entry["cbar_corruption_acc"]) == set(CBAR_CI)
    stats = json.loads((folder / "statistics.json").read_text())["selection"]["bda"]["oracle"]
    assert stats["cbar_acc"]["low"] <= entry["cbar_acc"] <= stats["cbar_acc"]["high"]
    assert stats["cbar_vs_baseline"] is None  # it is the baseline
    assert "corrupted-cbar-test" in summary["provenance"]["data"]
    # bls_aug pairs with the baseline on C-bar as on C
    other = json.loads((ci / "reports/bls_aug/ci/statistics.json").read_text())
    assert other["selection"]["bda"]["val"]["cbar_vs_baseline"] is not None


def test_ci_profile_writes_the_reports_of_the_contract(ci, capsys):
    folder = ci / "reports" / "bls_aug" / "ci"
    rows = read_results(folder / "results.parquet")
    assert list(rows.columns) == RESULT_COLUMNS
    # 2 params x 1 seed x (2 splits x (clean + 5 corruptions x 3 severities) + test's
    # 3 C-bar corruptions x 3 severities)
    assert len(rows) == 2 * (2 * 16 + 3 * 3) and set(rows["param"]) == {"0.001", "0.1"}
    assert set(rows["corruption"]) == CI_CORRUPTIONS | set(CBAR_CI) | {"clean"}
    assert set(rows["split"]) == {"test", "validation"}
    assert ((rows["accuracy"] - rows["correct"] / rows["n"]).abs() < 1e-12).all()
    clean = rows[rows["corruption"] == "clean"]
    assert set(clean["severity"]) == {0} and set(clean["band"]) == {"clean"}
    assert set(rows.loc[rows["corruption"] == "fog", "band"]) == {"low"}
    history = pd.read_parquet(folder / "history.parquet")
    assert len(history) == 2 and set(history["epoch"]) == {1}
    summary = json.loads((folder / "summary.json").read_text())
    assert summary["baseline"]["found"] and summary["family"] == "bls"
    bda = summary["selection"]["bda"]
    assert set(bda) == {"oracle", "val", "unseen"} and bda["oracle"]["chosen"] in ("0.001", "0.1")
    for entry in bda.values():
        assert 0 <= entry["clean_acc"] <= 1 and entry["mce"] is not None and entry["bpp"] > 0
    assert summary["provenance"]["code_version"] and summary["provenance"]["data"]
    base = json.loads((ci / "reports/baseline/ci/summary.json").read_text())
    assert base["selection"]["bda"]["oracle"]["mce"] == pytest.approx(1.0)
    # the summary is a pure function of the table (what bench verify relies on)
    again = recompute(Summary.from_dict(summary), rows,
                      read_results(ci / "reports/baseline/ci/results.parquet"))
    assert json.loads(json.dumps(again.to_dict())) == summary


def test_the_report_keeps_every_rows_per_image_outcomes(ci):
    folder = ci / "reports" / "bls_aug" / "ci"
    rows = read_results(folder / "results.parquet")
    keys, masks = read_outcomes(folder / OUTCOMES)
    assert keys[KEY].equals(rows[KEY]) and (keys["n"] == rows["n"]).all()
    assert [int(m.sum()) for m in masks] == rows["correct"].tolist()
    assert all(m.dtype == bool and len(m) == n for m, n in zip(masks, rows["n"]))
    assert check_outcomes(folder) == []
    # different images fail under different corruptions: the outcomes say which
    test = rows["split"] == "test"
    assert len({m.tobytes() for m, t in zip(masks, test) if t}) > 1


def test_units_counted_without_outcomes_are_re_evaluated_not_retrained(ci, capsys):
    """A unit folder from before outcomes were kept (counts only) gets them from its saved
    model: same counts, the model file untouched."""
    before = read_results(ci / "reports/bls_aug/ci/results.parquet")
    _, old = read_outcomes(ci / "reports/bls_aug/ci" / OUTCOMES)
    removed = sorted((ci / "runs" / "bls_aug").rglob("outcomes-*.npz"))
    models = {p: p.stat().st_mtime_ns for p in (ci / "runs" / "bls_aug").rglob("model.pt")}
    assert len(removed) == 2 and len(models) == 2
    for p in removed:
        p.unlink()
    capsys.readouterr()
    assert bench(ci, REPO / "submissions/bls_aug.yaml") == 0
    assert "units: 2 (0 already done)" in capsys.readouterr().out
    assert all(p.is_file() for p in removed)
    assert {p: p.stat().st_mtime_ns for p in models} == models
    pd.testing.assert_frame_equal(before, read_results(ci / "reports/bls_aug/ci/results.parquet"))
    _, new = read_outcomes(ci / "reports/bls_aug/ci" / OUTCOMES)
    assert all((a == b).all() for a, b in zip(old, new, strict=True))


def test_a_rerun_skips_finished_units_and_gives_the_same_rows(ci, capsys):
    before = read_results(ci / "reports/bls_aug/ci/results.parquet")
    first = json.loads((ci / "reports/bls_aug/ci/summary.json").read_text())["provenance"]
    capsys.readouterr()
    assert bench(ci, REPO / "submissions/bls_aug.yaml") == 0
    assert "units: 2 (2 already done)" in capsys.readouterr().out
    pd.testing.assert_frame_equal(before, read_results(ci / "reports/bls_aug/ci/results.parquet"))
    # the report names the code, machine and seconds of the units that made its numbers,
    # not the command that only read them back: wall time is the units' sum
    again = json.loads((ci / "reports/bls_aug/ci/summary.json").read_text())["provenance"]
    assert again["units"] == first["units"] and len(again["units"]) == 2
    assert again["wall_s"] == first["wall_s"] == round(
        sum(u["train_s"] + u["eval_s"] for u in again["units"]), 1)
    assert again["command_wall_s"] > 0 and again["written_by"]
    assert all(u["threads"] >= 1 and u["code_version"] == first["code_version"]
               for u in again["units"])


KILLABLE = """
id: killable
name: Killable
dataset: fashion-mnist
model: {name: small_cnn}
training: {epochs: 4, batch_size: 32, seeds: [0], images: 1000}
evaluation: {corruptions: [fog, gaussian_noise], severities: [2], test_images: 100,
             validation_images: 0}
"""


def _bench_process(tmp: Path, path: Path, runs: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "benchmark.cli", "run", "--submission",
                             str(path), "--quiet", "--data-root", str(tmp / "data"),
                             "--runs", str(tmp / runs), "--reports", str(tmp / f"reports-{runs}")],
                            cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def test_resume_after_a_real_kill_gives_the_rows_of_an_uninterrupted_run(tmp_path):
    path = sub(tmp_path, "killable", KILLABLE)
    assert _bench_process(tmp_path, path, "whole").wait(300) == 0
    proc = _bench_process(tmp_path, path, "killed")
    ckpt = None
    deadline = time.time() + 240
    while time.time() < deadline and ckpt is None:
        found = list((tmp_path / "killed").rglob("checkpoint.pt"))
        ckpt = found[0] if found else None
        time.sleep(0.05)
    assert ckpt is not None, "no epoch checkpoint appeared"
    epoch = torch.load(ckpt, weights_only=False)["epoch"]
    proc.send_signal(signal.SIGKILL)
    proc.wait(30)
    assert epoch < 4 and not (tmp_path / "reports-killed").exists()
    again = _bench_process(tmp_path, path, "killed")
    _, err = again.communicate(timeout=300)
    assert again.returncode == 0
    resumed_at = re.search(rb"resuming at epoch (\d+) of 4", err)  # not retrained from scratch
    assert resumed_at and int(resumed_at.group(1)) >= epoch + 1
    whole = read_results(tmp_path / "reports-whole/killable/full/results.parquet")
    resumed = read_results(tmp_path / "reports-killed/killable/full/results.parquet")
    pd.testing.assert_frame_equal(counts(whole), counts(resumed))


def test_the_ray_executor_gives_the_local_executors_rows(ci, tmp_path):
    ray = pytest.importorskip("ray")
    shutil.copytree(ci / "data", tmp_path / "data", symlinks=True)
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        assert bench(tmp_path, REPO / "submissions/jpeg_aug.yaml", "--executor", "ray") == 0
        # a unit asking for more CPUs than any node has is refused, not waited on forever
        spec = load_submission(REPO / "submissions/jpeg_aug.yaml", "ci")
        with pytest.raises(BenchError, match=r"asks for 3 CPUs .*most CPUs: 2\)"):
            run_units(spec, data_root=tmp_path / "data", runs_root=tmp_path / "runs-x",
                      executor="ray", progress=False, threads=3)
    finally:
        ray.shutdown()
    assert bench(ci, REPO / "submissions/jpeg_aug.yaml") == 0
    pd.testing.assert_frame_equal(
        counts(read_results(tmp_path / "reports/jpeg_aug/ci/results.parquet")),
        counts(read_results(ci / "reports/jpeg_aug/ci/results.parquet")))


DIVERGING = """
id: diverging
name: Diverging
dataset: fashion-mnist
model: {name: small_cnn}
augmentation: {family: gaussian_noise, params: [0.1, 0.05]}
training: {epochs: 1, batch_size: 64, lr: 1.0e+30, seeds: [0], images: 256}
evaluation: {corruptions: [fog], severities: [1], test_images: 100, validation_images: 0}
"""


def test_a_non_finite_loss_is_one_line_and_exit_2(ci, capsys):
    code = bench(ci, sub(ci, "diverging", DIVERGING), profile="full")
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1
    assert "diverging gaussian_noise:0.1 seed 0: non-finite loss in epoch 1" in err[0]
    assert not (ci / "reports" / "diverging").exists()


def test_a_diverging_unit_keeps_the_others(ci, monkeypatch, capsys):
    real = units.train_classifier

    def fails_for_one(model, images, labels, cfg, **kw):
        if "0.05" in kw["name"]:
            raise NonFiniteLoss(f"{kw['name']}: non-finite loss in epoch 1")
        return real(model, images, labels, cfg, **kw)

    monkeypatch.setattr(units, "train_classifier", fails_for_one)
    path = sub(ci, "halfway", DIVERGING.replace("id: diverging", "id: halfway")
               .replace("lr: 1.0e+30", "lr: 0.01"))
    assert bench(ci, path, profile="full") == 2
    done = list((ci / "runs" / "halfway").rglob("counts-*.json"))
    assert len(done) == 1 and "0.1" in str(done[0])  # the finished unit is kept
    monkeypatch.setattr(units, "train_classifier", real)
    capsys.readouterr()
    assert bench(ci, path, profile="full") == 0
    assert "units: 2 (1 already done)" in capsys.readouterr().out


CHECKPOINT = """
id: given
name: Given weights
dataset: fashion-mnist
model: {name: small_cnn, weights: WEIGHTS}
augmentation: {family: none}
training: {epochs: 0, seeds: [0]}
evaluation:
  corruptions: [gaussian_noise, fog, contrast, jpeg_compression, speckle_noise]
  cbar: [brownish_noise, checkerboard_cutout, ripple]
  severities: [1, 3, 5]
  test_images: 100
  validation_images: 50
"""


def _baseline_model(ci: Path) -> Path:
    return next((ci / "runs" / "baseline").rglob("model.pt"))


def test_a_checkpoint_submission_evaluates_given_weights(ci, capsys):
    weights = ci / "data" / "weights" / "baseline.pt"
    weights.parent.mkdir(exist_ok=True)
    shutil.copy(_baseline_model(ci), weights)
    assert bench(ci, sub(ci, "given", CHECKPOINT.replace("WEIGHTS", "weights/baseline.pt")),
                 profile="full") == 0
    given = read_results(ci / "reports/given/full/results.parquet")
    base = read_results(ci / "reports/baseline/ci/results.parquet")
    pd.testing.assert_frame_equal(counts(given), counts(base))  # same model, same counts
    capsys.readouterr()
    outside = sub(ci, "outside", CHECKPOINT.replace("id: given", "id: outside")
                  .replace("WEIGHTS", "../../x.pt"))
    assert bench(ci, outside, profile="full") == 2
    assert "resolves outside the data root" in capsys.readouterr().err


def test_the_python_api_gives_bench_runs_rows_and_summary(ci):
    model = Normalized(create_model("small_cnn", 1, 10, 28), [0.0], [1.0])
    model.load_state_dict(torch.load(_baseline_model(ci), weights_only=True))
    rows, summary = benchmark(model, "fashion-mnist", name="mine", data_root=ci / "data",
                              corruptions=sorted(CI_CORRUPTIONS), severities=[1, 3, 5],
                              test_images=100, validation_images=50, progress=False,
                              baseline=ci / "reports/baseline/ci/results.parquet",
                              cbar=list(CBAR_CI))
    base = read_results(ci / "reports/baseline/ci/results.parquet")
    assert list(rows.columns) == RESULT_COLUMNS
    pd.testing.assert_frame_equal(counts(rows), counts(base))
    theirs = json.loads((ci / "reports/baseline/ci/summary.json").read_text())
    assert summary.entry("bda", "oracle").corrupt_acc == pytest.approx(
        theirs["selection"]["bda"]["oracle"]["corrupt_acc"])
    assert summary.entry("bda", "oracle").mce == pytest.approx(1.0)
    assert summary.entry("bda", "oracle").cbar_acc == pytest.approx(
        theirs["selection"]["bda"]["oracle"]["cbar_acc"])
    assert summary.identity == ()  # the ci set has no corruption that leaves images alone


SWEEP = """
id: tt
name: Trained and tested on JPEG
dataset: fashion-mnist
model: {name: [small_cnn, vgg11_5]}
augmentation: {family: jpeg, params: [10]}
training: {epochs: 1, batch_size: 64, seeds: [0], images: 256}
evaluation: {corruptions: [fog, gaussian_noise], severities: [1, 3], test_images: 100,
             validation_images: 50, transform: true}
selection: [bda]
"""


def test_a_model_sweep_with_a_test_time_transform(ci, capsys):
    """One report per model; each unit's counts are its model on the JPEG'd test images."""
    from benchmark.augment import get_family
    from benchmark.datasets import load_dataset
    from benchmark.pipeline.evaluate import count_correct
    from corruptions import store

    path = sub(ci, "tt", SWEEP)
    assert bench(ci, path, "--model", "nope", profile="full") == 2
    assert "no model 'nope' (models: small_cnn, vgg11_5)" in capsys.readouterr().err
    assert bench(ci, path, profile="full") == 0
    jpeg = get_family("jpeg")
    test = load_dataset("fashion-mnist", "test", ci / "data").head(100)
    fog = store.open_corrupted(ci / "data/corrupted/fashion-mnist-c-n100").images("fog", 3)
    for model_name in ("small_cnn", "vgg11_5"):
        rows = read_results(ci / f"reports/tt-{model_name}/full/results.parquet")
        assert set(rows["model"]) == {model_name}
        weights = next((ci / "runs" / f"tt-{model_name}").rglob("model.pt"))
        model = Normalized(create_model(model_name, 1, 10, 28), [0.0], [1.0])
        model.load_state_dict(torch.load(weights, weights_only=True))
        model.eval()
        for corruption, severity, images in (("clean", 0, test.images), ("fog", 3, fog)):
            want = count_correct(model, jpeg.fn(images, 10, [None] * 100).images, test.labels, "cpu")
            got = rows.query("split == 'test' and corruption == @corruption "
                             "and severity == @severity")["correct"]
            assert list(got) == [want], (model_name, corruption)
    capsys.readouterr()
    assert bench(ci, path, "--model", "vgg11_5", profile="full") == 0
    out = capsys.readouterr().out
    assert "tt-vgg11_5" in out and "tt-small_cnn" not in out and "(1 already done)" in out
