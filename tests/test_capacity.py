"""The capacity recipe's parts: the six-conv networks, label smoothing, an average of the
weights that resumes with the rest of training, test-time flip, and the sweep's front."""
from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path

import numpy as np
import pytest
import torch

from benchmark.datasets import load_dataset
from benchmark.models import create_model
from benchmark.perf.capacity import Candidate, choose, measure, pareto
from benchmark.pipeline.submission import load_submission, profiles_of
from benchmark.pipeline.evaluate import FlipAveraged
from benchmark.pipeline.train import TrainConfig, build_classifier, train_classifier
from corruptions.device import cpu_kind
from corruptions.errors import BenchError


@pytest.fixture(scope="module")
def data():
    train = load_dataset("fashion-mnist", "train")
    return train.images[:256], train.labels[:256]


@pytest.mark.parametrize("name,params", [("cnn6_16", 72666), ("cnn6_32", 288170)])
def test_the_six_conv_networks_have_the_measured_sizes(name, params):
    net = create_model(name, 1, 10, 28)
    assert sum(p.numel() for p in net.parameters()) == params
    assert net(torch.zeros(2, 1, 28, 28)).shape == (2, 10)


def _train(data, cfg, **kw):
    torch.set_num_threads(1)
    torch.manual_seed(0)
    model = build_classifier("cnn6_12", data[0], 10)
    return train_classifier(model, *data, cfg, seed=0, progress=False, **kw)


def test_the_weights_average_is_returned_and_resumes_bit_for_bit(data, tmp_path):
    cfg = TrainConfig(epochs=2, batch_size=64, ema=0.9)
    averaged, _ = _train(data, cfg)
    last, _ = _train(data, TrainConfig(epochs=2, batch_size=64))
    assert not torch.equal(averaged.net.head.weight, last.net.head.weight)
    _train(data, TrainConfig(epochs=1, batch_size=64, ema=0.9), checkpoint=tmp_path / "c.pt")
    resumed, _ = _train(data, cfg, checkpoint=tmp_path / "c.pt")
    for a, b in zip(averaged.state_dict().values(), resumed.state_dict().values()):
        assert torch.equal(a, b)


def test_bf16_trains_under_autocast_on_the_cpu_and_evaluates_in_float32(data):
    seen = []
    torch.manual_seed(0)
    model = build_classifier("cnn6_12", data[0], 10)
    model.net.features[0].register_forward_hook(lambda m, i, o: seen.append(o.dtype))
    cfg = TrainConfig(epochs=1, batch_size=64, bf16=True)
    trained, history = train_classifier(model, *data, cfg, seed=0, progress=False)
    assert set(seen) == {torch.bfloat16} and np.isfinite(history[-1]["loss"])
    assert trained(torch.zeros(2, 1, 28, 28)).dtype == torch.float32


def test_label_smoothing_changes_the_loss(data):
    plain = _train(data, TrainConfig(epochs=1, batch_size=64))[1][-1]["loss"]
    smooth = _train(data, TrainConfig(epochs=1, batch_size=64, label_smoothing=0.1))[1][-1]["loss"]
    assert smooth > plain  # a smoothed target's cross-entropy cannot reach zero


def test_test_time_flip_sees_an_image_and_its_mirror_alike():
    torch.manual_seed(0)
    net = FlipAveraged(create_model("cnn6_12", 1, 10, 28).eval())
    x = torch.rand(3, 1, 28, 28)
    assert torch.allclose(net(x), net(x.flip(3)), atol=1e-6)


def test_the_front_keeps_what_nothing_beats_in_accuracy_and_time():
    rows = [{"name": "a", "val_acc_best": 0.90, "train_s": 100.0},
            {"name": "b", "val_acc_best": 0.93, "train_s": 240.0},
            {"name": "c", "val_acc_best": 0.92, "train_s": 300.0},
            {"name": "d", "val_acc_best": 0.90, "train_s": 120.0}]
    assert pareto(rows) == {"a", "b"}


def test_the_chosen_recipe_meets_the_target_or_at_least_its_accuracy():
    rows = [{"name": "a", "val_acc_best": 0.935, "train_s": 200.0, "meets_target": True},
            {"name": "b", "val_acc_best": 0.94, "train_s": 230.0, "meets_target": True},
            {"name": "c", "val_acc_best": 0.95, "train_s": 700.0, "meets_target": False}]
    assert choose(rows)["name"] == "b"
    slow = [dict(r, meets_target=False, train_s=r["train_s"] + 100) for r in rows]
    assert choose(slow)["name"] == "a"  # none in time: the fastest with the accuracy
    assert choose([dict(r, val_acc_best=0.92) for r in slow]) is None


SWEEP = Path(__file__).resolve().parents[1] / "reports" / "perf" / "capacity.json"
SUBMISSIONS = Path(__file__).resolve().parents[1] / "submissions"


def test_every_capacity_profile_trains_the_recipe_the_committed_sweep_chose():
    sweep = json.loads(SWEEP.read_text())
    chosen = next(r for r in sweep["rows"] if r["name"] == sweep["chosen"])
    assert choose(sweep["rows"])["name"] == chosen["name"]  # the rule, not a hand pick
    specs = [load_submission(p, "capacity") for p in sorted(SUBMISSIONS.glob("*.yaml"))
             if "capacity" in profiles_of(p)]
    assert len(specs) >= 10
    for spec in specs:
        assert spec.model == chosen["model"], spec.id
        got = asdict(spec.train)
        assert {k: got[k] for k in chosen["train"]} == chosen["train"], spec.id
        assert spec.test_flip == (chosen["val_acc_flip"] > chosen["val_acc"]), spec.id
        assert spec.train_images is None and spec.test_images is None, spec.id


def test_a_candidate_is_measured_on_validation(data):
    train = load_dataset("fashion-mnist", "train").head(256)
    validation = load_dataset("fashion-mnist", "validation").head(200)
    row = measure(Candidate("cnn6_12", TrainConfig(epochs=1, batch_size=64)), train,
                  validation, threads=1)
    assert row["params"] > 0 and row["train_s"] > 0 and 0 <= row["val_acc"] <= 1
    assert row["name"] == "cnn6_12 1ep constant lr=0.01 batch_size=64"
    assert np.isfinite(row["val_acc_flip"])


def test_the_committed_sweep_recomputes_and_an_edited_accuracy_is_caught(tmp_path):
    """``bench verify`` recomputes the table from its rows: an accuracy raised past the
    chosen row's moves the choice and is named; a row renamed, or one the code no longer
    sweeps, is named too."""
    from benchmark.verify.perf import check_capacity_table

    assert check_capacity_table(SWEEP) == []
    table = json.loads(SWEEP.read_text())
    fast = min(table["rows"], key=lambda r: r["train_s"])
    fast["val_acc_flip"] = 0.99  # the fastest row now reaches the target first
    path = tmp_path / "capacity.json"
    path.write_text(json.dumps(table))
    fields = {m.field for m in check_capacity_table(path)}
    assert "chosen" in fields and any(f.endswith("val_acc_best") for f in fields)
    table = json.loads(SWEEP.read_text())
    table["rows"][0]["name"] = "small_cnn 16ep cosine lr=0.05"
    table["rows"][1]["train"]["epochs"] = 16
    path.write_text(json.dumps(table))
    fields = {m.field for m in check_capacity_table(path)}
    assert {"rows[0].name", "rows[1].name", "rows (configurations)"} <= fields


def test_a_sweep_row_is_trained_again_and_must_reproduce_its_accuracy(tmp_path):
    """``--rerun perf`` trains a row again under the table's images and threads: a row
    measured here reproduces exactly; its accuracy moved by one image's worth is caught."""
    from benchmark.perf.capacity import tabulate
    from benchmark.verify.perf import rerun_capacity_rows

    train = load_dataset("fashion-mnist", "train").head(256)
    validation = load_dataset("fashion-mnist", "validation").head(200)
    row = measure(Candidate("cnn6_12", TrainConfig(epochs=1, batch_size=64)), train,
                  validation, threads=1)
    table = tabulate([row], images=256, validation_images=200, threads=1, cpu=cpu_kind())
    path = tmp_path / "capacity.json"
    path.write_text(json.dumps(table))
    assert rerun_capacity_rows(path, [row["name"]], None) == []
    table["rows"][0]["val_acc"] += 1 / 200
    path.write_text(json.dumps(table))
    found = rerun_capacity_rows(path, [row["name"]], None)
    assert [m.field for m in found] == [f"[{row['name']}|val_acc]"]


def test_perf_reruns_are_planned_from_the_committed_table():
    from benchmark.verify.plan import plan_reruns
    from benchmark.verify.perf import perf_rows

    reports = SWEEP.parents[1]
    every = plan_reruns("perf", reports, "k")
    assert [r.name for r in every.perf_rows] == [r.name for r in perf_rows(reports)]
    assert len(every.perf_rows) == len(json.loads(SWEEP.read_text())["rows"])
    kind = json.loads(SWEEP.read_text())["cpu"]
    one = plan_reruns("perf:1", reports, "k", kind=kind)
    assert len(one.perf_rows) == 1 and not one.notes
    elsewhere = plan_reruns("perf:1", reports, "k", kind="another kind")
    assert not elsewhere.perf_rows and "none drawn" in elsewhere.notes[0]
    with pytest.raises(BenchError, match="perf:N"):
        plan_reruns("perf:x", reports, "k")
