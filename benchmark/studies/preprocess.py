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
from ..pipeline.evaluate import CLEAN, count_correct
from ..pipeline.inputs import load_eval_splits, prepare_eval
from ..pipeline.submission import load_submission
from ..scoring.selection import COMMON
from .base import Claims, Finding, StudyContext, Table, count_verdict, register_study
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


def _acc(correct: np.ndarray, n: int, mask: np.ndarray) -> np.ndarray:
    """Per seed: mean accuracy over the cells in ``mask``."""
    return correct[:, mask].mean(axis=1) / n


def _rows(a: dict) -> list[dict]:
    """Per codec setting: accuracies, and their paired change against the raw images."""
    n = int(a["n"][0])
    corr, labels = a["corruption"], list(a["setting"])
    common = np.isin(corr, COMMON)
    masks = {"clean": corr == CLEAN, "corrupt": common,
             **{b: common & (np.array([_band(c) for c in corr]) == b) for b in ("low", "mid", "high")},
             "noise": np.isin(corr, NOISE)}
    seeds = len(a["seeds"])
    raw = labels.index(NONE)
    rows = []
    for i, label in enumerate(labels):
        family, param = label.split(":", 1)
        row = {"family": family, "param": param,
               "bpp": None if np.isnan(a["bpp"][i]) else float(a["bpp"][i])}
        for k, m in masks.items():
            if not m.any():
                row[f"{k}_acc"] = row[f"{k}_delta"] = row[f"{k}_margin"] = None
                continue
            acc, base = _acc(a["correct"][i], n, m), _acc(a["correct"][raw], n, m)
            paired = acc - base  # the same model with and without the codec, seed by seed
            p = float(base.mean())
            se = np.sqrt(max(p * (1 - p), 1e-12) / (n * int(m.sum()) * seeds))
            row[f"{k}_acc"] = float(acc.mean())
            row[f"{k}_delta"] = float(paired.mean())
            row[f"{k}_margin"] = float(max(paired.std(), 1.96 * se))
        rows.append(row)
    return rows


def _best(rows: list[dict], family: str, key: str) -> dict | None:
    fam = [r for r in rows if r["family"] == family and r[key] is not None]
    return max(fam, key=lambda r: r[key]) if fam else None


def _best_learned(rows: list[dict]) -> list[dict]:
    return [b for b in (_best(rows, "bls", "high_delta"), _best(rows, "bmshj", "high_delta")) if b]


CLAIMS = Claims()


@CLAIMS.claim("learned-codecs-help-high-band", paper="002 section 4",
              claim="Learned codecs remove high-frequency corruptions well enough to help a "
                    "downstream classifier.",
              reported="Kodak-C / CLIC-C: learned codecs denoise high-frequency corruptions "
                       "(G, R measures)")
def learned_codecs_help(config: PreprocessConfig, a: dict) -> Finding:
    learned = _best_learned(_rows(a))
    if not learned:
        return Finding("no learned codec measured", "not testable here", "needs BLS or BMSHJ")
    helped = [r for r in learned if r["high_delta"] > r["high_margin"]]
    return Finding(
        "; ".join(f"{r['family']} {r['param']}: high band {100 * r['high_delta']:+.2f} "
                  f"± {100 * r['high_margin']:.2f} points, clean {100 * r['clean_delta']:+.2f}"
                  for r in learned),
        count_verdict(len(helped), len(learned)),
        "the best rate of each learned codec (chosen on this test set: an upper bound) must "
        "raise the same models' high-band accuracy by more than its margin")


@CLAIMS.claim("jpeg-no-noise-resilience", paper="004 Table IV",
              claim="JPEG pre-processing does not make a classifier resilient to noise.",
              reported="AutoGluon on noisy inputs: JPEG does not recover the lost accuracy")
def jpeg_no_noise_resilience(config: PreprocessConfig, a: dict) -> Finding:
    jpeg = [r for r in _rows(a) if r["family"] == "jpeg" and r["noise_delta"] is not None]
    if not jpeg:
        return Finding("no JPEG quality on noise corruptions measured", "not testable here",
                       "needs JPEG and the noise corruptions")
    top = max(jpeg, key=lambda r: r["noise_delta"])
    return Finding(
        f"best JPEG quality on the 4 noise corruptions: {top['param']}, "
        f"{100 * top['noise_delta']:+.2f} ± {100 * top['noise_margin']:.2f} points "
        "(test-time only; 004 also trained on compressed noisy data)",
        "reproduced" if top["noise_delta"] <= top["noise_margin"] else "not reproduced",
        "reproduced if no JPEG quality raises the same models' noise accuracy by more than "
        "its margin")


@CLAIMS.claim("learned-denoise-better-than-jpeg", paper="002 vs 004",
              claim="Learned codecs denoise high-frequency corruptions better than JPEG.",
              reported="002: learned codecs generalise and denoise better; 004 tested JPEG only")
def learned_denoise_better(config: PreprocessConfig, a: dict) -> Finding:
    rows = _rows(a)
    j, learned = _best(rows, "jpeg", "high_delta"), _best_learned(rows)
    if not (j and learned):
        return Finding("JPEG or the learned codecs not measured", "not testable here",
                       "needs JPEG and a learned codec")
    lead = max(learned, key=lambda r: r["high_delta"])
    margin = max(lead["high_margin"], j["high_margin"])
    return Finding(
        f"best learned {lead['family']} {lead['param']} {100 * lead['high_delta']:+.2f} "
        f"points vs best JPEG {j['param']} {100 * j['high_delta']:+.2f} on the high band "
        f"(margin {100 * margin:.2f})",
        "reproduced" if lead["high_delta"] - j["high_delta"] > margin else
        "partly" if lead["high_delta"] > j["high_delta"] else "not reproduced",
        "reproduced if the best learned codec beats the best JPEG quality on the high band "
        "by more than the larger of their margins, partly if by less")


def summarize(config: PreprocessConfig, a: dict) -> dict:
    n, seeds = int(a["n"][0]), len(a["seeds"])
    cols = (("family", "Codec", "text"), ("param", "Rate", "text"),
            ("bpp", "bpp in", "bpp"), ("clean_acc", "Clean %", "pct"),
            ("corrupt_acc", "Corrupt %", "pct"), ("low_delta", "Low Δ", "pct"),
            ("mid_delta", "Mid Δ", "pct"), ("high_delta", "High Δ", "pct"),
            ("high_margin", "± margin", "pct"), ("noise_delta", "Noise Δ", "pct"),
            ("clean_delta", "Clean Δ", "pct"))
    table = Table(f"The baseline classifier ({seeds} seeds) on the first {n} corrupted test "
                  "images passed through each codec and rate; Δ = accuracy minus the same "
                  "model's on the raw images (the none row), mean over seeds, in points; margin "
                  "= the larger of the seeds' spread of Δ and 1.96 binomial standard errors; "
                  "bands are the published groups of the 15 common corruptions, noise the 4 "
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
    split = load_eval_splits(spec.dataset, ctx.data_root, test, spec.corruptions, tuple(s for s in spec.severities
                                                     if s in config.severities))[0]
    n = min(config.images, len(split.labels))
    labels = split.labels[:n]
    cells = [(c, s, np.array(images[:n])) for c, s, _, images in split.sets()]
    grid = [("none", "-", ())] + settings(config)
    correct = np.zeros((len(grid), len(models), len(cells)), np.int64)
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
                    correct[i, k, j] = count_correct(model, seen, labels, ctx.device)
                bar.update(1)
            if family != "none" and fam.is_codec:
                bpp[i] = bits / (pixels * len(cells))
    return {"setting": np.array([f"{f}:{p}" for f, p, _ in grid]),
            "corruption": np.array([c for c, _, _ in cells]),
            "severity": np.array([s for _, s, _ in cells], np.int64),
            "correct": correct, "bpp": bpp, "n": np.array([n], np.int64),
            "seeds": np.array([seed for seed, _ in models], np.int64)}
