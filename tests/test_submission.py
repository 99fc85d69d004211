"""Submission files: every shipped one loads under every profile; bad ones fail on one line
naming the file, the field and what was expected, with exit 2 and nothing written."""
from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from benchmark.cli import main
from benchmark.models.bands import BandConfig
from benchmark.pipeline.submission import SubmissionError, load_submission, load_submissions

SUBMISSIONS = sorted((Path(__file__).resolve().parents[1] / "submissions").glob("*.yaml"))
SHIPPED = {"baseline", "bls_aug", "bmshj_aug", "jpeg_aug", "noise_aug", "blur_aug", "dct_aug",
           "dct_noise_aug", "bls_top2", "jpeg_timm", "reduced_vgg", "reduced_vgg_bls",
           "band_weights", "band_uniform", "jpeg2000_aug", "webp_aug", "avif_aug",
           # issue 32: the field's reference recipes, compression DeepAugment, combinations
           "augmix", "augmix_jsd", "trivialaugment", "randaugment", "autoaugment",
           "deepaugment_bls", "deepaugment_bls_augmix", "jpeg_augmix", "bls_augmix"}


def test_every_shipped_submission_is_there():
    assert {p.stem for p in SUBMISSIONS} == SHIPPED


@pytest.mark.parametrize("path", SUBMISSIONS, ids=lambda p: p.stem)
@pytest.mark.parametrize("profile", ["full", "gpu", "cpu", "ci"])
def test_shipped_submissions_load_under_every_profile(path, profile):
    specs = load_submissions(path, profile)
    for spec in specs:
        _check_shipped(path, profile, spec)


def _check_shipped(path, profile, spec):
    stem = spec.sweep or spec.id
    assert stem == path.stem and spec.profile == profile and spec.grid
    if profile == "full":
        assert spec.dataset == "cifar10" and spec.train.epochs == (30 if "timm" not in spec.id else 10)
    else:
        assert spec.dataset == "fashion-mnist"
    if profile in ("full", "gpu") and spec.id != "jpeg_timm":  # the thesis recipe
        t = spec.train
        if spec.sweep:  # the thesis' reduced-parameter variants (Table 3.2)
            assert spec.model.startswith("vgg11_") and spec.id == f"{stem}-{spec.model}"
            spec = dataclasses.replace(spec, model="vgg11_cifar")
        assert (spec.model, t.optimizer, t.lr, t.momentum, t.weight_decay, t.batch_size,
                t.epochs, spec.seeds) == ("vgg11_cifar", "sgd", 0.01, 0.9, 5e-4, 128, 30, (0, 1, 2))


def _write(tmp_path, text: str) -> Path:
    path = tmp_path / "sub.yaml"
    path.write_text(text)
    return path


GOOD = """
id: mine
name: Mine
dataset: fashion-mnist
model: {name: small_cnn}
augmentation: {family: jpeg, params: [10, "10+40"]}
training: {epochs: 1, seeds: [0]}
profiles:
  quick: {training: {epochs: 2}}
"""


def test_profiles_override_fields_and_unions_parse(tmp_path):
    path = _write(tmp_path, GOOD)
    base, quick = load_submission(path), load_submission(path, "quick")
    assert [s.label for s in base.grid] == ["10", "10+40"] and base.grid[1].values == (10, 40)
    assert (base.profile, base.train.epochs, quick.train.epochs) == ("full", 1, 2)
    assert base.config_hash() != quick.config_hash()
    renamed = _write(tmp_path, GOOD.replace("name: Mine", "name: Other"))
    assert load_submission(renamed).config_hash() == base.config_hash()  # descriptive only


@pytest.mark.parametrize("edit,message", [
    (("epochs: 1", "epochs: -1"), r"sub.yaml: training.epochs: Input should be greater than or equal to 0"),
    (("epochs: 1", "epoch: 1"), r"sub.yaml: training.epoch: unknown field"),
    (("name: Mine\n", ""), r"sub.yaml: name: required field missing"),
    (("family: jpeg", "family: nope"), r"augmentation.family: unknown augmentation family 'nope'"),
    (('"10+40"', '"10+abc"'), r"augmentation: jpeg: cannot read parameter 'abc' \(expected quality"),
    (("small_cnn", "no_such_net"), r"model.name: unknown model 'no_such_net'"),
    (("fashion-mnist", "no-such-set"), r"dataset: unknown dataset 'no-such-set'"),
    (("{epochs: 2}", "{epochs: two}"), r"profiles.quick.training.epochs: Input should be a valid integer"),
    (("id: mine", "id: Bad Id"), r"id: String should match pattern"),
    (("seeds: [0]", "seeds: [0, 0]"), r"training.seeds: seeds must be distinct"),
    (("model: {name: small_cnn}", "model: {name: small_cnn}\nselection: [best]"), r"selection.0: Input should be 'bda', 'bdad' or 'bdads'"),
    (("model: {name: small_cnn}", "model: {name: small_cnn}\nevaluation: {corruptions: [fog, smog]}"),
     r"evaluation.corruptions: unknown corruption 'smog'"),
    (("model: {name: small_cnn}", "model: {name: small_cnn}\ncodec: {N: -1}"), r"codec: N must be > 0"),
    (("model: {name: small_cnn}", "model: {name: small_cnn}\ncodec: {steps: 2.5}"),
     r"codec: steps must be int, got 2.5"),
    (("model: {name: small_cnn}", "model: {name: small_cnn}\ncodec: {N: true}"),
     r"codec.N"),
    (("model: {name: small_cnn}", "model: {name: small_cnn}\ncodec: {width: 3}"),
     r"codec: unknown key 'width'"),
    (("model: {name: small_cnn}", "model: {name: small_cnn, weights: w.pt}"),
     r"a checkpoint submission \(model.weights\) trains nothing"),
    (("params: [10,", "online: 'jpeg:10', params: [10,"),
     r"augmentation.online: jpeg is a precomputed family; the stage on top must be an online"),
    (("params: [10,", "online: augmix, params: [10,"), r"augmentation.online: expected FAMILY:PARAMETER"),
    (("params: [10,", "online: 'augmix:11', params: [10,"), r"augmix: expected an integer in 1..10"),
    (("family: jpeg, params: [10, \"10+40\"]", "family: augmix, params: [1, \"1+3\"]"),
     r"augmix is drawn anew each epoch: a union"),
    (("family: jpeg, params: [10, \"10+40\"]", "family: augmix, online: 'augmix:3'"),
     r"augmix is itself an online family"),
    (("seeds: [0]", "seeds: [0], jsd: 12"), r"training.jsd: the consistency loss compares online"),
    (("id: mine", "id: mine\nparents: [Bad Id]"), r"parents.0: String should match pattern"),
])
def test_schema_errors_name_file_field_and_expectation(tmp_path, edit, message):
    path = _write(tmp_path, GOOD.replace(*edit))
    with pytest.raises(SubmissionError, match=message):
        load_submission(path, "quick")


def test_malformed_yaml_and_unknown_profile(tmp_path):
    with pytest.raises(SubmissionError, match=r"sub.yaml: not valid YAML \(line 3"):
        load_submission(_write(tmp_path, "id: x\nname: [unclosed\nmodel: {"))
    with pytest.raises(SubmissionError, match=r"no profile 'gpu' \(profiles: quick\)"):
        load_submission(_write(tmp_path, GOOD), "gpu")
    with pytest.raises(SubmissionError, match="expected a mapping"):
        load_submission(_write(tmp_path, "- just\n- a list\n"))
    with pytest.raises(SubmissionError, match="no such submission file"):
        load_submission(tmp_path / "missing.yaml")


def test_cli_bad_submission_exits_2_and_writes_nothing(tmp_path, capsys):
    path = _write(tmp_path, GOOD.replace("epochs: 1", "epochs: -1"))
    reports, runs = tmp_path / "reports", tmp_path / "runs"
    code = main(["run", "--submission", str(path), "--reports", str(reports), "--runs", str(runs),
                 "--data-root", str(tmp_path / "data")])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and "training.epochs" in err[0]
    assert not reports.exists() and not runs.exists() and not (tmp_path / "data").exists()


def test_a_model_list_sweeps_one_run_per_model(tmp_path):
    path = _write(tmp_path, GOOD.replace("model: {name: small_cnn}",
                                         "model: {name: [small_cnn, vgg11_5, 'timm:resnet18']}"))
    specs = load_submissions(path, "quick")
    assert [s.id for s in specs] == ["mine-small_cnn", "mine-vgg11_5", "mine-timm-resnet18"]
    assert [s.model for s in specs] == ["small_cnn", "vgg11_5", "timm:resnet18"]
    assert {s.sweep for s in specs} == {"mine"} and specs[1].name == "Mine (vgg11_5)"
    # each run's configuration is that of a one-model file with its id: same hash
    single = tmp_path / "single.yaml"
    single.write_text(GOOD.replace("id: mine", "id: mine-vgg11_5").replace("small_cnn", "vgg11_5"))
    assert load_submission(single, "quick").config_hash() == specs[1].config_hash()
    assert load_submission(path, "quick", "mine-vgg11_5") == specs[1]
    with pytest.raises(SubmissionError, match=r"sweeps 3 models .*name one run"):
        load_submission(path, "quick")
    with pytest.raises(SubmissionError, match=r"no run 'mine-nope'"):
        load_submission(path, "quick", "mine-nope")


@pytest.mark.parametrize("names,message", [
    ("[small_cnn, nope]", r"model.name: unknown model 'nope'"),
    ("[small_cnn, small_cnn]", r"model.name: .*name each model once"),
    ("[]", r"model.name: .*non-empty"),
])
def test_a_bad_model_list_fails_on_one_line(tmp_path, names, message):
    path = _write(tmp_path, GOOD.replace("{name: small_cnn}", f"{{name: {names}}}"))
    with pytest.raises(SubmissionError, match=message):
        load_submissions(path)


def test_test_time_transform_is_in_the_hash_only_when_set(tmp_path):
    plain = load_submission(_write(tmp_path, GOOD))
    off = load_submission(_write(tmp_path, GOOD + "evaluation: {transform: false}\n"))
    assert off == dataclasses.replace(plain, source=off.source)
    single = GOOD.replace('"10+40"', "40") + "evaluation: {transform: true}\n"
    on = load_submission(_write(tmp_path, single))
    assert not plain.test_transform and on.test_transform
    # unset or false: the evaluation hash every committed unit was counted under
    assert off.config_hash("evaluation") == plain.config_hash("evaluation")
    assert on.config_hash("evaluation") != plain.config_hash("evaluation")
    with pytest.raises(SubmissionError, match=r"evaluation.transform .* unions"):
        load_submission(_write(tmp_path, GOOD + "evaluation: {transform: true}\n"))


def test_an_online_stage_and_the_consistency_loss_enter_the_hashes_only_when_set(tmp_path):
    from benchmark.pipeline.runner import training_hash
    plain = load_submission(_write(tmp_path, GOOD))
    assert plain.online is None and plain.train.jsd == 0
    assert "online" not in plain.resolved["augmentation"] and "jsd" not in plain.resolved["training"]
    stacked = load_submission(_write(tmp_path, GOOD.replace("params: [10,", "online: 'augmix:3', params: [10,")
                                     .replace("seeds: [0]", "seeds: [0], jsd: 12")))
    assert str(stacked.online) == "augmix:3" and stacked.train.jsd == 12.0
    assert stacked.meta().online == "augmix:3"
    assert training_hash(stacked) != training_hash(plain)
    marked = load_submission(_write(tmp_path, GOOD.replace("id: mine", "id: mine\nreference: true\n"
                                                           "parents: [jpeg_aug]")))
    assert marked.meta().reference and marked.meta().parents == ("jpeg_aug",)
    assert marked.config_hash() == plain.config_hash()  # descriptive: no unit reruns
    assert "reference" not in plain.meta().as_dict() and marked.meta().as_dict()["reference"]


def test_band_weights_are_a_model_option_kept_out_of_the_hash_when_unset(tmp_path):
    plain = load_submission(_write(tmp_path, GOOD))
    assert plain.bands is None and "bands" not in plain.resolved["model"]
    banded = load_submission(_write(tmp_path, GOOD.replace(
        "model: {name: small_cnn}", "model: {name: small_cnn, bands: {learned: false}}")))
    assert banded.bands == BandConfig(count=8, learned=False, lmbda=0.1, lr=1e-3)
    assert banded.config_hash() != plain.config_hash()
    with pytest.raises(SubmissionError, match=r"model.bands.count: Input should be greater than 0"):
        load_submission(_write(tmp_path, GOOD.replace(
            "model: {name: small_cnn}", "model: {name: small_cnn, bands: {count: 0}}")))


def test_a_run_spec_is_hashable_and_its_resolved_config_read_only(tmp_path):
    spec = load_submission(_write(tmp_path, GOOD), "quick")
    assert hash(spec) == hash(load_submission(_write(tmp_path, GOOD), "quick"))
    with pytest.raises(TypeError):
        spec.resolved["dataset"] = "mnist"  # the config hash digests it


def test_capacity_options_enter_the_hashes_only_when_set(tmp_path):
    plain = load_submission(_write(tmp_path, GOOD))
    assert not plain.test_flip and "flip" not in plain.resolved["evaluation"]
    assert not {"label_smoothing", "ema", "bf16"} & set(plain.resolved["training"])
    tuned = load_submission(_write(tmp_path, GOOD.replace(
        "seeds: [0]", "seeds: [0], label_smoothing: 0.1, ema: 0.999, bf16: true")
        + "evaluation: {flip: true}\n"))
    assert tuned.train.label_smoothing == 0.1 and tuned.train.ema == 0.999 and tuned.test_flip
    assert tuned.train.bf16
    assert tuned.config_hash("training") != plain.config_hash("training")
    assert tuned.config_hash("evaluation") != plain.config_hash("evaluation")
    with pytest.raises(SubmissionError, match="training.ema: Input should be less than 1"):
        load_submission(_write(tmp_path, GOOD.replace("seeds: [0]", "seeds: [0], ema: 1")))
