"""Studies (the seed papers' experiments): their pure measures on hand-made inputs whose
answer is known, the report folder round trip that ``bench verify`` relies on, and the
Fourier probe on a model whose weak frequency is known."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch

from benchmark.cli import main
from benchmark.studies import (
    Claims,
    Finding,
    StudyContext,
    get_study,
    read_arrays,
    run_study,
    study_folders,
    study_names,
)
from benchmark.studies.base import verdict_named
from benchmark.studies.compressed import at_equal, log_fit, low_end_gap
from benchmark.studies.fourier import band_errors, basis, error_map, half_plane, wrong_at
from benchmark.studies.intervals import sign_verdict
from benchmark.studies.storage import StorageConfig, smallest_kept
from benchmark.verify.studies import check_study, rerun_study
from corruptions.spectrum import band_map
from tests.made_outcomes import outcomes

REPORTS = Path(__file__).resolve().parents[1] / "reports"
ROOT = REPORTS.parent


def points(rows: list[tuple], images: int = 4000, shuffled: bool = False) -> dict[str, np.ndarray]:
    """gather()'s and clean_outcomes()'s arrays from (family, param, bpp, psnr, ssim,
    clean_acc) tuples, the outcomes made by ``made_outcomes.outcomes``."""
    cols = list(zip(*rows))
    n = len(rows)
    a = {"submission": np.array([f"{f}_aug" for f in cols[0]]), "family": np.array(cols[0]),
         "param": np.array(cols[1]), "bpp": np.array(cols[2], float),
         "psnr": np.array(cols[3], float), "ssim": np.array(cols[4], float),
         "clean_acc": np.array(cols[5], float)}
    for k in ("bytes", "file_bytes", "relative_size", "corrupt_acc", "corrupt_acc_std"):
        a[k] = np.full(n, np.nan)
    a["clean_acc_std"] = np.full(n, 0.005)
    a["chosen"] = np.zeros(n)
    a["clean_correct"] = outcomes(a["clean_acc"], images, shuffled=shuffled)
    a["seeds"] = np.array([0, 1])
    return a


def verdicts_of(summary: dict) -> list[str]:
    return [v.verdict for v in summary["verdicts"]]


HAND = [("none", "-", 8.0, 100.0, 1.0, 0.90),
        ("jpeg", "1", 0.4, 20.0, 0.60, 0.70), ("jpeg", "10", 1.0, 24.0, 0.75, 0.80),
        ("jpeg", "40", 2.0, 28.0, 0.85, 0.86),
        ("bls", "0.001", 0.5, 23.0, 0.70, 0.78), ("bls", "0.1", 2.5, 30.0, 0.90, 0.90)]


def test_equal_rate_and_equal_distortion_comparisons_interpolate_inside_the_common_range():
    a = points(HAND)
    # bls spans 0.5..2.5 bpp: JPEG's 1.0 and 2.0 are inside, 0.4 is not
    d = at_equal(a, "bpp", "jpeg", "bls")
    np.testing.assert_allclose(d, [0.78 + 0.12 * 0.25 - 0.80, 0.78 + 0.12 * 0.75 - 0.86])
    # the lowest PSNR both reach is 23 dB: JPEG 0.70 + 0.75 * 0.10 there, bls 0.78
    assert low_end_gap(a, "psnr", "jpeg", "bls") == pytest.approx(0.7 + 0.1 * 0.75 - 0.78)
    slope, r2 = log_fit(a, "jpeg")
    assert slope > 0 and 0.9 < r2 <= 1
    assert log_fit(a, "bls") is None  # two points are not a fit


def test_compressed_training_verdicts_follow_the_numbers():
    study = get_study("compressed-training")
    cfg = study.profile("ci")
    above = study.summarize(cfg, points(HAND))
    assert verdict_named(above, "learned-above-jpeg").verdict == "reproduced"
    # at its highest rate bls (0.90) is the original's 0.90, JPEG (0.86) 4 points below: more
    # than the 1-point non-inferiority margin
    assert verdict_named(above, "as-accurate-as-original").verdict == "partly"
    below = [(f, p, b, q, s, acc - 0.1 if f == "bls" else acc) for f, p, b, q, s, acc in HAND]
    summary = study.summarize(cfg, points(below))
    assert verdict_named(summary, "learned-above-jpeg").verdict == "not reproduced"
    assert verdict_named(summary, "as-accurate-as-original").verdict == "not reproduced"
    measures = {m["measure"]: m for m in summary["tables"]["measures"].rows}
    mean = measures["bls - jpeg clean accuracy at JPEG's rates (mean)"]
    assert mean["value"] == pytest.approx(np.mean([0.81 - 0.1 - 0.80, 0.87 - 0.1 - 0.86]))
    assert mean["low"] <= mean["value"] <= mean["high"] < 0


def test_compressed_training_differences_inside_the_noise_are_said_so():
    """One point between families on 300 images that each family gets right independently:
    the intervals hold zero, so the claims are neither reproduced nor refuted."""
    study = get_study("compressed-training")
    summary = study.summarize(study.profile("ci"), points(HAND, images=300, shuffled=True))
    for name in ("learned-above-jpeg", "jpeg-ahead-at-low-quality"):
        assert verdict_named(summary, name).verdict == "within noise", name
    assert "within noise" in verdict_named(summary, "learned-above-jpeg").rule


def test_a_claim_is_reproduced_only_where_every_interval_excludes_zero_its_way():
    assert sign_verdict([1, 1]) == "reproduced"
    assert sign_verdict([1, 0, -1]) == "partly"
    assert sign_verdict([0, -1]) == "not reproduced"
    assert sign_verdict([0, 0]) == "within noise"
    assert sign_verdict([]) == "not testable here"


def test_storage_picks_the_smallest_set_that_keeps_the_accuracy():
    a = points(HAND)
    a["relative_size"] = np.array([1.0, 0.2, 0.3, 0.5, 0.1, 0.4])
    a["bytes"] = a["relative_size"] * 1000
    # keeping 95% of 0.90 = 0.855: jpeg 40 (0.86) is the only JPEG set; bls 0.1 the only bls
    assert smallest_kept(a, "jpeg", 0.90, 0.95) == 3
    assert smallest_kept(a, "bls", 0.90, 0.95) == 5
    assert smallest_kept(a, "bmshj", 0.90, 0.95) is None
    a["original_png"], a["original_images"] = np.array([1000.0]), np.array([6.0])
    study = get_study("storage")
    summary = study.summarize(StorageConfig("ci", kept=0.95), a)
    assert verdicts_of(summary)[0] == "not reproduced"  # 50% > 34.7%, payload too
    a["relative_size"][3] = 0.3
    summary = study.summarize(StorageConfig("ci", kept=0.95), a)
    assert verdicts_of(summary)[0] == "reproduced"
    assert verdicts_of(summary)[1] == "not reproduced"  # bls needs 40% > jpeg's 30%


def test_fourier_basis_is_real_unit_norm_and_lives_on_its_frequency_pair():
    for u, v in ((0, 0), (3, 5), (14, 0), (27, 26)):
        b = basis(28, 28, u, v)
        assert np.isrealobj(b) and np.linalg.norm(b) == pytest.approx(1.0)
        spec = np.abs(np.fft.fft2(b))
        support = set(zip(*np.nonzero(spec > 1e-9)))
        assert support == {(u, v), ((-u) % 28, (-v) % 28)}
    half = half_plane(28, 28)
    mirrored = {(u, v) for u, v in half} | {((-u) % 28, (-v) % 28) for u, v in half}
    assert len(mirrored) == 28 * 28 and len(half) == (28 * 28 + 4) // 2


class _OneFrequency(torch.nn.Module):
    """Says class 1 when the image's energy at one frequency exceeds a threshold: errors
    (on images of class 0) can only come from that frequency and its mirror."""

    def __init__(self, u: int, v: int):
        super().__init__()
        self.u, self.v = u, v

    def forward(self, x):
        f = torch.fft.fft2(x[:, 0] - 0.5)[:, self.u, self.v].abs()
        return torch.stack([torch.ones_like(f), (f > 5.0).float() * 2], 1)


def test_error_map_puts_a_models_weakness_at_its_frequency():
    images = np.full((8, 12, 12, 1), 128, np.uint8)
    labels = np.zeros(8, np.int64)
    m = error_map(_OneFrequency(2, 3), images, labels, eps=2.0, seed=0)
    assert m[2, 3] == 1.0 and m[(-2) % 12, (-3) % 12] == 1.0
    assert m.sum() == 2.0


def test_error_map_bands_are_per_image_shares_of_each_bands_frequencies():
    images = np.full((8, 12, 12, 1), 128, np.uint8)
    wrong = wrong_at(_OneFrequency(2, 3), images, np.zeros(8, np.int64), eps=2.0, seed=0)
    shares = band_errors(wrong)
    assert wrong.shape == (12, 12, 8) and shares.shape == (3, 8)
    np.testing.assert_allclose(shares.mean(axis=1) * np.bincount(band_map(12, 12).ravel()),
                               [wrong[band_map(12, 12) == b].sum() / 8 for b in range(3)])


def _fourier_arrays(base: list[float], other: list[float], images: int, noise: float = 0.0
                    ) -> dict[str, np.ndarray]:
    """Band errors (low, mid, high) of the baseline and one probed model, per image: the
    given shares plus the same uniform noise of the given width, dealt to other images for
    the probed model (so its means are exact, but it does not pair image by image)."""
    rng = np.random.default_rng(0)
    jitter = noise * rng.uniform(-1, 1, (2, 3, images))
    jitter -= jitter.mean(axis=2, keepdims=True)
    out = {"seeds": np.array([0, 1])}
    for key, bands, dealt in (("baseline|-", base, jitter),
                              ("bls_aug|0.001", other, jitter[..., rng.permutation(images)])):
        out[f"{key}|band_error"] = np.asarray(bands)[None, :, None] + dealt
        out[f"{key}|error"] = np.full((2, 28, 28), float(np.mean(bands)))
        out[f"{key}|clean_wrong"] = np.zeros((2, images), bool)
    return out


def test_fourier_verdicts_follow_the_band_errors_and_say_when_they_are_noise():
    from benchmark.studies.fourier import FourierConfig, summarize

    cfg = FourierConfig("ci", images=200, eps=3.5, entries=(
        ("submissions/baseline.yaml", "-"), ("submissions/bls_aug.yaml", "0.001")))
    v = {x.name: x.verdict for x in summarize(cfg, _fourier_arrays(
        [0.1, 0.3, 0.5], [0.2, 0.3, 0.3], 200))["verdicts"]}
    assert v == {"baseline-error-grows-with-frequency": "reproduced",
                 "less-high-frequency-error:bls_aug@0.001": "reproduced"}
    v = {x.name: x.verdict for x in summarize(cfg, _fourier_arrays(
        [0.30, 0.30, 0.31], [0.30, 0.30, 0.30], 200, noise=0.3))["verdicts"]}
    assert v == {"baseline-error-grows-with-frequency": "within noise",
                 "less-high-frequency-error:bls_aug@0.001": "within noise"}


@pytest.fixture
def ci_reports(tmp_path) -> Path:
    root = tmp_path / "reports"
    for sub in ("baseline", "jpeg_aug", "bls_aug", "bmshj_aug"):
        shutil.copytree(REPORTS / sub / "ci", root / sub / "ci")
    return root


def test_a_study_report_recomputes_and_an_edited_number_or_array_is_caught(ci_reports, tmp_path):
    ctx = StudyContext(ci_reports, tmp_path / "data", tmp_path / "runs", "cpu", False)
    folder, summary = run_study(get_study("storage"), "ci", ctx)
    assert study_folders(ci_reports) == [folder]
    assert check_study(folder) == [] and rerun_study(folder, ctx) == []
    # an edited table number
    path = folder / "summary.json"
    edited = json.loads(path.read_text())
    edited["tables"]["sets"]["rows"][1]["relative_size"] += 0.01
    path.write_text(json.dumps(edited))
    assert [m.field for m in check_study(folder)] == ["tables.sets.rows[1].relative_size"]
    # a run report that moved after the study was written: the rerun names the array
    s = json.loads((ci_reports / "jpeg_aug" / "ci" / "summary.json").read_text())
    first = next(iter(s["per_param"]))
    s["per_param"][first]["clean_acc"] += 0.01
    (ci_reports / "jpeg_aug" / "ci" / "summary.json").write_text(json.dumps(s))
    assert [m.field for m in rerun_study(folder, ctx)] == ["[clean_acc]"]


def test_a_study_part_reruns_alone_and_an_edit_inside_it_is_caught(tmp_path):
    """``--rerun PROFILE:N`` recomputes parts of a study: each dct-noise setting and seed
    alone gives its slice of the whole study's arrays; an outcome flipped inside one part is
    caught by that part's rerun and by no other."""
    from dataclasses import replace

    from benchmark.verify.plan import Sample
    from benchmark.studies.dct_noise import DctNoiseConfig
    from benchmark.verify.studies import draw_parts, rerun_part, study_parts
    from corruptions.device import cpu_kind

    root = tmp_path / "reports"
    shutil.copytree(REPORTS / "dct_noise_aug" / "ci", root / "dct_noise_aug" / "ci")
    ctx = StudyContext(root, tmp_path / "data", tmp_path / "runs", "cpu", False)
    study = get_study("dct-noise")
    cfg = replace(study.profile("ci"), train_images=128, test_images=40, seeds=(0, 1),
                  settings=("8:0", "8:0.2"))
    assert isinstance(cfg, DctNoiseConfig)
    folder, _ = run_study(study, "ci", ctx, config=cfg)
    parts = study_parts(root, "ci")
    assert [p.label for p in parts] == ["8:0 seed 0", "8:0 seed 1", "8:0.2 seed 0",
                                        "8:0.2 seed 1"]
    assert all(rerun_part(p, ctx) == [] for p in parts)
    here = Sample("ci", 2, None, cpu_kind())
    assert len(draw_parts(root, here, "abc")) == 2
    assert draw_parts(root, here, "abc") == draw_parts(root, here, "abc")
    assert draw_parts(root, Sample("ci", 1, 0, cpu_kind()), "abc") == []  # none took <= 0 s
    assert draw_parts(root, Sample("ci", 2, None, "elsewhere"), "abc") == []  # another kind
    arrays = dict(np.load(folder / "arrays.npz"))
    arrays["noisy_outcomes"][1, 0, 3] ^= True  # 8:0.2, seed 0, image 3
    np.savez(folder / "arrays.npz", **arrays)
    found = {p.label: [m.field for m in rerun_part(p, ctx)] for p in parts}
    assert found == {"8:0 seed 0": [], "8:0 seed 1": [], "8:0.2 seed 0": ["[noisy_outcomes]"],
                     "8:0.2 seed 1": []}


def test_band_weights_parts_are_its_seeds():
    from benchmark.studies.band_weights import parts

    cfg = get_study("band-weights").profile("cpu")
    got = parts(cfg)
    assert [p.label for p in got] == ["seed 0", "seed 1", "seed 2"]
    assert got[1].config.seeds == (1,) and got[1].at["outcomes"] == (slice(None), slice(1, 2))


def test_the_committed_study_reports_recompute():
    """The ci profile's studies here; every profile's in ``make test``'s ``bench verify``,
    which runs the same ``check_study`` over all of them (twice was 49 s of the suite)."""
    folders = study_folders(REPORTS)
    assert {f.parent.name for f in folders} >= {"compressed-training", "storage", "fourier-heatmap"}
    ci = [f for f in folders if f.name == "ci"]
    assert len(ci) >= 5
    for folder in ci:
        assert check_study(folder) == [], folder
        assert read_arrays(folder)


def test_study_commands_reject_bad_input_in_one_line(ci_reports, capsys):
    assert main(["storage", "--profile", "nope", "--reports", str(ci_reports)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "no profile 'nope'" in err[0]
    assert main(["fourier-heatmap", "--profile", "ci", "--reports", str(ci_reports),
                 "--submission", "submissions/nothing.yaml"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "nothing.yaml" in err[0]
    assert not (ci_reports / "studies").exists()


def _counted(counts: list[list[list[int]]], images: int) -> np.ndarray:
    """(settings, seeds, cells, images) outcomes with these counts right, nested."""
    return np.arange(images) < np.asarray(counts)[..., None]


def test_preprocess_verdicts_read_the_bands_and_the_noise_rows():
    from benchmark.studies.preprocess import PreprocessConfig, summarize

    # cells: clean, gaussian_noise (high, noise), fog (low); 2 seeds; 1000 images each
    base = [[900, 200, 600], [900, 200, 600]]
    helps = [[800, 600, 600], [800, 700, 600]]      # a codec that recovers the noise, costs clean
    a = {"setting": np.array(["none:-", "jpeg:10", "bls:0.01"]),
         "corruption": np.array(["clean", "gaussian_noise", "fog"]),
         "severity": np.array([0, 3, 3]), "n": np.array([1000]), "seeds": np.array([0, 1]),
         "bpp": np.array([np.nan, 0.5, 0.3]),
         "outcomes": _counted([base, base, helps], 1000)}
    summary = summarize(PreprocessConfig("ci", images=1000), a)
    rows = {r["family"]: r for r in summary["tables"]["codecs"].rows}
    assert rows["bls"]["high_delta"] == pytest.approx(0.45)
    assert rows["bls"]["high_low"] < 0.45 < rows["bls"]["high_high"]
    assert rows["bls"]["clean_delta"] == pytest.approx(-0.1)
    assert rows["none"]["bpp"] is None and rows["jpeg"]["noise_delta"] == 0
    v = {x.name: x.verdict for x in summary["verdicts"]}
    assert v == {"learned-codecs-help-high-band": "reproduced",
                 "jpeg-no-noise-resilience": "within noise",  # JPEG changes nothing
                 "learned-denoise-better-than-jpeg": "reproduced"}
    a["outcomes"] = _counted([base, helps, base], 1000)  # now JPEG is the one that helps
    v = {x.name: x.verdict for x in summarize(PreprocessConfig("ci", images=1000), a)["verdicts"]}
    assert v == {"learned-codecs-help-high-band": "within noise",
                 "jpeg-no-noise-resilience": "not reproduced",
                 "learned-denoise-better-than-jpeg": "not reproduced"}


def test_resummarize_rewrites_tables_from_the_arrays_and_keeps_the_measurement(ci_reports, tmp_path):
    ctx = StudyContext(ci_reports, tmp_path / "data", tmp_path / "runs", "cpu", False)
    folder, _ = run_study(get_study("storage"), "ci", ctx)
    arrays = (folder / "arrays.npz").read_bytes()
    path = folder / "summary.json"
    edited = json.loads(path.read_text())
    measured_at = edited["provenance"]["date"]
    edited["verdicts"][0]["verdict"] = "reproduced" if edited["verdicts"][0]["verdict"] != "reproduced" else "partly"
    path.write_text(json.dumps(edited))
    assert check_study(folder)
    assert main(["storage", "--profile", "ci", "--reports", str(ci_reports), "--resummarize"]) == 0
    assert check_study(folder) == []
    fresh = json.loads(path.read_text())
    assert fresh["provenance"]["date"] == measured_at and "summarized_by" in fresh["provenance"]
    assert (folder / "arrays.npz").read_bytes() == arrays


def _reduced(acc: dict[str, list[float]], images: int = 4000,
             shuffled: bool = False) -> dict[str, np.ndarray]:
    """gather()'s and clean_outcomes()'s arrays plus model, parameters and data, from
    accuracies per data set over three models (largest first)."""
    models, sizes = ["big", "mid", "tiny"], [1000.0, 100.0, 10.0]
    rows = [(d, m, s, a) for d, accs in acc.items() for m, s, a in zip(models, sizes, accs)]
    a = points([("none" if d == "original" else "bls", "-" if d == "original" else d.split()[1],
                 np.nan, np.nan, np.nan, x) for d, _, _, x in rows], images, shuffled)
    a["model"] = np.array([m for _, m, _, _ in rows])
    a["parameters"] = np.array([s for _, _, s, _ in rows])
    a["data"] = np.array([d for d, _, _, _ in rows])
    return a


def test_reduced_models_percent_change_and_verdicts_follow_the_numbers():
    from benchmark.studies.reduced import ReducedConfig, percent_change

    study, config = get_study("reduced-models"), ReducedConfig("ci")
    a = _reduced({"original": [0.90, 0.88, 0.78], "bls 0.1": [0.85, 0.84, 0.765]})
    np.testing.assert_allclose(percent_change(a), [0, -100 * 0.02 / 0.9, -100 * 0.12 / 0.9,
                                                   0, -100 / 85, -10])
    summary = study.summarize(config, a)
    # original above bls for every model; bls loses 10% at the tiny model, original 13.3%
    assert verdicts_of(summary)[:3] == ["reproduced", "reproduced", "not testable here"]
    rows = summary["tables"]["models"].rows
    assert [(r["model"], r["data"]) for r in rows[:2]] == [("big", "original"), ("big", "bls 0.1")]
    assert rows[-1]["change"] == pytest.approx(-10.0)
    measures = {m["measure"]: m for m in summary["tables"]["measures"].rows}
    loses = measures["tiny: bls 0.1 minus original percent change"]
    assert loses["value"] == pytest.approx(-10 + 100 * 0.12 / 0.9)
    assert 0 < loses["low"] <= loses["value"] <= loses["high"]

    flipped = _reduced({"original": [0.90, 0.88, 0.85], "bls 0.1": [0.91, 0.89, 0.70]})
    summary = study.summarize(config, flipped)
    # original above only at the tiny model; bls loses 23% against the original's 5.6%
    assert verdicts_of(summary)[:2] == ["partly", "not reproduced"]


def test_reduced_models_gaps_inside_the_noise_are_said_so():
    """Half a point between the arms on 300 images each gets right independently: no
    interval excludes zero, and a one-percent margin is not excluded either."""
    study = get_study("reduced-models")
    a = _reduced({"original": [0.90, 0.88, 0.80], "bls 0.1": [0.895, 0.875, 0.795]},
                 images=300, shuffled=True)
    summary = study.summarize(study.profile("ci"), a)
    assert verdicts_of(summary)[:2] == ["within noise", "within noise"]


def test_every_verdict_is_a_named_claim_of_its_study():
    """Verdicts are addressed by name: each committed summary lists exactly its study's
    claims (``name`` or ``name:case``), in the registered order."""
    for folder in study_folders(REPORTS):
        summary = json.loads((folder / "summary.json").read_text())
        claims = get_study(summary["study"]).claims.names()
        seen = [v["name"].split(":")[0] for v in summary["verdicts"]]
        assert list(dict.fromkeys(seen)) == claims, folder


def test_a_claim_made_of_each_case_gives_one_named_verdict_per_case():
    claims = Claims("mine", texts={"above": {"paper": "p", "claim": "{case} is above zero",
                                             "reported": "r"}})

    @claims.claim("above", each=lambda config: [str(k) for k in config])
    def above(config, arrays, case):
        ok = arrays[case] > 0
        return Finding(f"{case}: {arrays[case]}", "reproduced" if ok else "not reproduced", "> 0")

    verdicts, _ = claims.judge(("a", "b"), {"a": 1, "b": -1})
    assert [(v.name, v.claim, v.verdict) for v in verdicts] == [
        ("above:a", "a is above zero", "reproduced"), ("above:b", "b is above zero", "not reproduced")]
    with pytest.raises(ValueError, match="twice"):
        claims.claim("above")
    with pytest.raises(ValueError, match="not in claims.yaml"):
        claims.claim("below")


def test_the_claims_catalogue_and_the_checks_match():
    """Every claim in ``claims.yaml`` has its check registered, under its study, and every
    text is there: a claim cannot be catalogued and left unchecked, or checked unstated."""
    from benchmark.studies.base import claim_texts

    catalogue = {s: list(c) for s, c in claim_texts().items()}
    registered = {s: get_study(s).claims.names() for s in study_names()}
    assert catalogue == {s: names for s, names in registered.items() if names}
    for study, claims in claim_texts().items():
        for name, text in claims.items():
            assert set(text) == {"paper", "claim", "reported"}, (study, name)
            assert all(isinstance(v, str) and v.strip() for v in text.values()), (study, name)


def test_a_study_trains_only_the_units_it_probes(tmp_path):
    """A probed parameter without trained models has its units trained, and only them."""
    from benchmark.pipeline.runner import unit_folder
    from benchmark.pipeline.submission import load_submission
    from benchmark.studies.base import StudyContext
    from benchmark.studies.trained import trained_classifiers

    path = tmp_path / "two.yaml"
    path.write_text("""
id: two
name: Two
dataset: fashion-mnist
model: {name: small_cnn}
augmentation: {family: jpeg, params: [10, 80]}
training: {epochs: 1, batch_size: 64, seeds: [0, 1], images: 128}
evaluation: {corruptions: [fog], severities: [1], test_images: 50, validation_images: 0}
""")
    spec = load_submission(path)
    ctx = StudyContext(tmp_path / "reports", tmp_path / "data", tmp_path / "runs", "cpu", False)
    models = trained_classifiers(spec, "80", ctx)
    assert [seed for seed, _ in models] == [0, 1]
    assert all((unit_folder(spec, ctx.runs_root, "80", s) / "model.pt").is_file() for s in (0, 1))
    assert not unit_folder(spec, ctx.runs_root, "10", 0).exists()
