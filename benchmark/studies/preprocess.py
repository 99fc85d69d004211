"""Codecs as test-time pre-processing (seeds 002 and 004, which disagree).

Seed 002 finds that learned codecs remove high-frequency corruptions well enough to help a
downstream classifier; seed 004 that JPEG does not make a classifier resilient to noise.
Here one classifier trained on the original images (the ``baseline`` submission, every
seed) is evaluated on the corrupted test images passed through JPEG, BLS and BMSHJ at each
rate of their submissions' grids (the very codecs those submissions trained with), against
the same classifier on the raw corrupted images, per frequency band.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from tqdm import tqdm

from corruptions.registry import PUBLISHED_BANDS
from corruptions.rng import image_rngs

from ..augment import AugmentContext, get_family
from ..pipeline.evaluate import CLEAN, correct_mask
from ..pipeline.inputs import load_eval_splits, prepare_eval
from ..pipeline.submission import load_submission
from ..scoring.selection import COMMON
from ..scoring.statistics import CellOutcomes, beyond_noise, difference, in_points
from .base import Claims, Finding, StudyContext, Table, not_testable, register_study
from .intervals import (
    BOOT,
    interval_columns,
    interval_fields,
    sign_verdict,
    signed_points,
)
from .trained import trained_classifiers

NOISE = ("gaussian_noise", "shot_noise", "impulse_noise", "speckle_noise")
NONE = "none:-"


@dataclass(frozen=True)
class PreprocessConfig:
    source_profile: str
    images: int                       # first N images of the profile's corrupted test set
    codecs: tuple[str, ...] = ("submissions/jpeg_aug.yaml", "submissions/bls_aug.yaml",
                               "submissions/bmshj_aug.yaml")
    classifier: str = "submissions/baseline.yaml"
    severities: tuple[int, ...] = (1, 2, 3, 4, 5)


def settings(config: PreprocessConfig) -> list[tuple[str, str, tuple]]:
    """(family, parameter label, codec recipe overrides) of every codec submission's grid."""
    out = []
    for path in config.codecs:
        spec = load_submission(path, config.source_profile)
        out += [(spec.family, label, spec.codec) for label in spec.labels if "+" not in label]
    return out


def _band(corruption: str) -> str:
    return PUBLISHED_BANDS.get(corruption, "extra")


INTERVALS = ("95% intervals: the leaderboard's two-level bootstrap over the classifier's "
             "training seeds and the test images (an image with all its corrupted versions), "
             "paired: every codec and rate is compared with the same models on the same images")


def _outcomes(a: dict, i: int) -> CellOutcomes:
    cells = tuple((str(c), int(v)) for c, v in zip(a["corruption"], a["severity"]))
    return CellOutcomes(tuple(int(s) for s in a["seeds"]), cells, a["outcomes"][i])


def _groups(o: CellOutcomes) -> dict[str, list[tuple[str, int]]]:
    """The cells of each group a row reports: clean, the common corruptions, their published
    bands, the noise corruptions."""
    common = [c for c in o.cells if c[0] in COMMON]
    return {"clean": [c for c in o.cells if c[0] == CLEAN], "corrupt": common,
            **{b: [c for c in common if _band(c[0]) == b] for b in ("low", "mid", "high")},
            "noise": [c for c in o.cells if c[0] in NOISE]}


def _rows(a: dict) -> list[dict]:
    """Per codec setting: accuracies, and their paired change against the raw images with
    its 95% interval."""
    labels = list(a["setting"])
    raw = _outcomes(a, labels.index(NONE))
    rows = []
    for i, label in enumerate(labels):
        family, param = label.split(":", 1)
        o = _outcomes(a, i)
        row = {"family": family, "param": param,
               "bpp": None if np.isnan(a["bpp"][i]) else float(a["bpp"][i])}
        for k, cells in _groups(o).items():
            # the same models with and without the codec
            d = difference(o, raw, cells, BOOT) if cells else None
            row[f"{k}_acc"] = float(o.scores(cells).mean()) if cells else None
            row.update(interval_fields(f"{k}_delta", d, stem=k))
        rows.append(row)
    return rows


def _shown(r: dict, key: str) -> str:
    return in_points({"value": r[f"{key}_delta"], "low": r[f"{key}_low"],
                      "high": r[f"{key}_high"]}, signed=True) + " points"


def _sign(r: dict, key: str) -> int:
    return beyond_noise({"low": r[f"{key}_low"], "high": r[f"{key}_high"]})


def _best(rows: list[dict], family: str, key: str) -> dict | None:
    fam = [r for r in rows if r["family"] == family and r[key] is not None]
    return max(fam, key=lambda r: r[key]) if fam else None


def _best_learned(rows: list[dict]) -> list[dict]:
    return [b for b in (_best(rows, "bls", "high_delta"), _best(rows, "bmshj", "high_delta")) if b]


CLAIMS = Claims("preprocess")


@CLAIMS.claim("learned-codecs-help-high-band")
def learned_codecs_help(config: PreprocessConfig, a: dict) -> Finding:
    learned = _best_learned(_rows(a))
    if not learned:
        return not_testable("no learned codec measured", "needs BLS or BMSHJ")
    return Finding(
        "; ".join(f"{r['family']} {r['param']}: high band {_shown(r, 'high')}, clean "
                  f"{_shown(r, 'clean')}" for r in learned),
        sign_verdict([_sign(r, "high") for r in learned]),
        "the best rate of each learned codec (chosen on this test set: an upper bound) must "
        "raise the same models' high-band accuracy: reproduced if its 95% interval lies above "
        "zero for every learned codec, partly if for some, not reproduced if for none and some "
        f"lower it, within noise otherwise. {INTERVALS}")


@CLAIMS.claim("jpeg-no-noise-resilience")
def jpeg_no_noise_resilience(config: PreprocessConfig, a: dict) -> Finding:
    jpeg = [r for r in _rows(a) if r["family"] == "jpeg" and r["noise_delta"] is not None]
    if not jpeg:
        return not_testable("no JPEG quality on noise corruptions measured",
                            "needs JPEG and the noise corruptions")
    top = max(jpeg, key=lambda r: r["noise_delta"])
    signs = [-_sign(r, "noise") for r in jpeg]
    return Finding(
        f"on the 4 noise corruptions, {signs.count(1)} of {len(jpeg)} JPEG qualities lower the "
        f"accuracy beyond noise, {signs.count(-1)} raise it; the best, {top['param']}: "
        f"{_shown(top, 'noise')} (test-time only; 004 also trained on compressed noisy data)",
        sign_verdict(signs),
        "per JPEG quality, the change in the same models' accuracy on the noise corruptions: "
        "reproduced if every quality's 95% interval lies below zero, partly if some do, not "
        f"reproduced if none does and some lie above, within noise otherwise. {INTERVALS}")


@CLAIMS.claim("learned-denoise-better-than-jpeg")
def learned_denoise_better(config: PreprocessConfig, a: dict) -> Finding:
    rows = _rows(a)
    j, learned = _best(rows, "jpeg", "high_delta"), _best_learned(rows)
    if not (j and learned):
        return not_testable("JPEG or the learned codecs not measured",
                            "needs JPEG and a learned codec")
    lead = max(learned, key=lambda r: r["high_delta"])
    labels = list(a["setting"])
    o = [_outcomes(a, labels.index(f"{r['family']}:{r['param']}")) for r in (lead, j)]
    d = difference(*o, _groups(o[0])["high"], BOOT)
    return Finding(
        f"best learned {lead['family']} {lead['param']} minus best JPEG {j['param']} on the high "
        f"band: {signed_points(d)} points",
        sign_verdict([beyond_noise(d)]),
        "the best learned codec's high-band accuracy minus the best JPEG quality's (both chosen "
        "on this test set): reproduced if its 95% interval lies above zero, not reproduced if "
        f"below, within noise if it holds zero. {INTERVALS}")


def summarize(config: PreprocessConfig, a: dict) -> dict:
    n, seeds = int(a["n"][0]), len(a["seeds"])
    cols = (("family", "Codec", "text"), ("param", "Rate", "text"),
            ("bpp", "bpp in", "bpp"), ("clean_acc", "Clean %", "pct"),
            ("corrupt_acc", "Corrupt %", "pct"), ("low_delta", "Low Δ", "pct"),
            ("mid_delta", "Mid Δ", "pct"), *interval_columns("high_delta", "High Δ", stem="high"),
            ("noise_delta", "Noise Δ", "pct"), ("clean_delta", "Clean Δ", "pct"))
    table = Table(f"The baseline classifier ({seeds} seeds) on the first {n} corrupted test "
                  "images passed through each codec and rate; Δ = accuracy minus the same "
                  "model's on the raw images (the none row), mean over seeds, in points, with the "
                  "95% interval of the high band's (two-level bootstrap, paired); bands are the published groups of the 15 common corruptions, noise the 4 "
                  "noise corruptions.", cols, _rows(a))
    verdicts, _ = CLAIMS.judge(config, a)
    return {"tables": {"codecs": table}, "verdicts": verdicts}


@register_study("preprocess", title="Codecs as test-time pre-processing (seeds 002, 004)",
                papers=("002", "004 Table IV"), config=PreprocessConfig,
                profiles={"ci": PreprocessConfig("ci", images=20, severities=(1, 3, 5)),
                          "cpu": PreprocessConfig("cpu", images=300, severities=(1, 3, 5))},
                summarize=summarize, claims=CLAIMS,
                description="the baseline classifier on corrupted images passed through codecs")
def compute(config: PreprocessConfig, ctx: StudyContext) -> dict[str, np.ndarray]:
    spec = load_submission(config.classifier, config.source_profile)
    models = trained_classifiers(spec, "-", ctx)
    test = prepare_eval(spec.dataset, ctx.data_root, spec.test_images, 0, spec.corruptions,
                        spec.severities, spec.corruption_seed, ctx.device, ctx.progress)
    severities = tuple(s for s in spec.severities if s in config.severities)
    split = load_eval_splits(spec.dataset, ctx.data_root, test, spec.corruptions, severities)[0]
    n = min(config.images, len(split.labels))
    labels = split.labels[:n]
    cells = [(c, s, np.array(images[:n])) for c, s, _, images in split.sets()]
    grid = [("none", "-", ())] + settings(config)
    correct = np.zeros((len(grid), len(models), len(cells), n), bool)
    bpp = np.full(len(grid), np.nan)
    pixels = n * int(np.prod(split.images.shape[1:3]))
    with tqdm(total=len(grid) * len(cells), desc="preprocess", unit="set",
              disable=not ctx.progress or None) as bar:
        for i, (family, label, codec) in enumerate(grid):
            fam = get_family(family)
            actx = AugmentContext(spec.dataset, ctx.data_root, ctx.device, ctx.progress, codec)
            bits = 0.0
            for j, (c, s, images) in enumerate(cells):
                if family == "none":
                    seen = images
                else:
                    out = fam.fn(images, fam.read(label), image_rngs(0, f"pre:{c}", s, range(n)), actx)
                    seen, bits = out.images, bits + (out.bits.sum() if out.bits is not None else 0)
                for k, (_, model) in enumerate(models):
                    correct[i, k, j] = correct_mask(model, seen, labels, ctx.device)
                bar.update(1)
            if family != "none" and fam.is_codec:
                bpp[i] = bits / (pixels * len(cells))
    return {"setting": np.array([f"{f}:{p}" for f, p, _ in grid]),
            "corruption": np.array([c for c, _, _ in cells]),
            "severity": np.array([s for _, s, _ in cells], np.int64),
            "outcomes": correct, "bpp": bpp, "n": np.array([n], np.int64),
            "seeds": np.array([seed for seed, _ in models], np.int64)}
