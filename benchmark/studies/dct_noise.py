"""Seed 000: learning on the M x M lowest DCT coefficients, with Gaussian noise on them.

The paper's recipe: images on [-0.5, 0.5], orthonormal 2D DCT, keep the top-left M x M
coefficients (M in 8, 16), add N(0, sigma^2) noise to them during training (sigma 0, 0.1,
0.2), and classify the flattened coefficients with Conv1D(16, k3) + max pool, Conv1D(32, k3)
+ max pool, FC 128, FC 10; SGD momentum 0.9, lr 0.01 cosine-annealed, weight decay 1e-4,
batch 128. Accuracy is measured clean (no noise) and noisy (the training sigma). Its
"baseline" (uncompressed) is the same network on all 28 x 28 coefficients.

It reports that 8 x 8 collapses (44.82%, 39.77% and 34.82% with sigma 0, 0.1, 0.2) while
16 x 16 keeps the baseline's 95.58% on MNIST. MNIST cannot be downloaded here, so the study
runs on Fashion-MNIST (also 28 x 28 grey, 10 classes; a harder set, so every accuracy is
lower) and sets the image-domain twin beside it: the ``dct_noise_aug`` submission's report,
the same grid applied to images (``dct_mask`` family) and a CNN trained on them, tested on
the original images.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from scipy.fft import dctn
from torch import nn

from ..scoring.reports import RunFolder
from ..scoring.statistics import (
    CLEAN_CELL,
    CellOutcomes,
    Comparison,
    beyond_noise,
    choice_outcomes,
    one_set,
)
from .base import (
    Claims,
    Finding,
    StudyContext,
    StudyPart,
    Table,
    not_testable,
    register_study,
)
from .intervals import (
    clean_accuracy,
    clean_difference,
    interval_columns,
    interval_fields,
    sign_verdict,
    signed_points,
)
from .loop import LoopConfig, TrainingConfig, fit, image_sets, seed_parts

FULL = 28
PAPER = {"28:0": 0.9558, "8:0.2": 0.3482, "8:0.1": 0.3977, "8:0": 0.4482, "16:0": 0.9558}


@dataclass(frozen=True)
class DctNoiseConfig(TrainingConfig):
    settings: tuple[str, ...] = ("28:0", "8:0", "8:0.1", "8:0.2", "16:0", "16:0.1", "16:0.2")
    batch_size: int = 128
    lr: float = 0.01
    momentum: float = 0.9
    weight_decay: float = 1e-4
    image_twin: str = "dct_noise_aug"  # the image-domain submission whose report is set beside
    image_profile: str = "cpu"


def coefficients(images: np.ndarray, m: int) -> np.ndarray:
    """(N, m*m) float32: the top-left m x m orthonormal DCT-II coefficients of [-0.5, 0.5]
    images, row by row."""
    x = images[..., 0].astype(np.float64) / 255 - 0.5
    return dctn(x, axes=(1, 2), norm="ortho")[:, :m, :m].reshape(len(x), m * m).astype(np.float32)


def conv1d_net(m: int, classes: int = 10) -> nn.Module:
    """The paper's network on m*m flattened coefficients (pools round down, as torch does)."""
    length = (m * m // 2) // 2
    return nn.Sequential(nn.Unflatten(1, (1, m * m)),
                         nn.Conv1d(1, 16, 3, padding=1), nn.ReLU(), nn.MaxPool1d(2),
                         nn.Conv1d(16, 32, 3, padding=1), nn.ReLU(), nn.MaxPool1d(2),
                         nn.Flatten(), nn.Linear(32 * length, 128), nn.ReLU(),
                         nn.Linear(128, classes))


def parse_setting(text: str) -> tuple[int, float]:
    m, sigma = text.split(":")
    return int(m), float(sigma)


@torch.inference_mode()
def _correct(net: nn.Module, x: torch.Tensor, y: torch.Tensor, sigma: float, seed: int) -> np.ndarray:
    """Whether each test image is classified correctly (with noise of ``sigma`` added)."""
    g = torch.Generator().manual_seed(seed)
    if sigma:
        x = x + sigma * torch.randn(x.shape, generator=g)
    return (net(x).argmax(1) == y).numpy()


def train_one(cfg: DctNoiseConfig, m: int, sigma: float, seed: int, train: tuple, test: tuple,
              progress: bool = False) -> tuple[np.ndarray, np.ndarray, list[float]]:
    """(clean outcomes, noisy outcomes, loss per epoch) of one model: per test image, whether
    it was classified correctly."""
    torch.manual_seed(seed)
    net = conv1d_net(m)
    noise = torch.Generator().manual_seed(10_000 + seed)

    def loss_of(xb: torch.Tensor, yb: torch.Tensor) -> torch.Tensor:
        if sigma:
            xb = xb + sigma * torch.randn(xb.shape, generator=noise)
        return nn.functional.cross_entropy(net(xb), yb)
    losses = fit(net, *train, loss_of, LoopConfig(cfg.epochs, cfg.batch_size, cfg.lr,
                                                  cfg.momentum, cfg.weight_decay), seed,
                 desc=f"dct {m}:{sigma} seed {seed}", progress=progress)
    return (_correct(net, test[0], test[1], 0.0, seed),
            _correct(net, test[0], test[1], sigma, 20_000 + seed), losses)


def _outcomes(a: dict, key: str, i: int, seeds: str = "seeds") -> CellOutcomes:
    return one_set(a[key][i], a[seeds])


def _rows(a: dict) -> list[dict]:
    rows = []
    for i, s in enumerate(list(a["setting"])):
        m, sigma = parse_setting(s)
        clean, noisy = (_outcomes(a, k, i) for k in ("clean_outcomes", "noisy_outcomes"))
        per_seed = clean.correct.mean(axis=(1, 2))
        rows.append({"setting": s, "m": m, "sigma": sigma,
                     **interval_fields("clean_acc", clean_accuracy(clean)),
                     "clean_std": float(per_seed.std()),
                     **interval_fields("noisy_acc", clean_accuracy(noisy)),
                     "paper": PAPER.get(s)})
    return rows


def _twin(a: dict) -> dict[str, CellOutcomes]:
    return {str(p): _outcomes(a, "twin_outcomes", i, "twin_seeds")
            for i, p in enumerate(a["twin_param"])}


def _index(a: dict) -> dict[str, int]:
    return {str(s): i for i, s in enumerate(a["setting"])}


def _missing(what: str) -> Finding:
    return not_testable(f"{what} not measured in this profile",
                        "needs the settings the claim names")


def _falls(outcomes: list[CellOutcomes]) -> tuple[list[Comparison], list[int]]:
    """Each step's fall in accuracy (the step before minus the step after), paired."""
    steps = [clean_difference(a, b) for a, b in zip(outcomes, outcomes[1:])]
    return steps, [beyond_noise(d) for d in steps]


COLLAPSE, KEEPS = 0.20, 0.02  # a collapse loses over 20 points; keeping is within 2 (in advance)
INTERVALS = ("95% intervals: the leaderboard's two-level bootstrap over training seeds and "
             "test images, paired (every setting is tested on the same images with the same "
             "seeds)")


CLAIMS = Claims("dct-noise")


@CLAIMS.claim("threshold-8-vs-16")
def threshold_8_vs_16(config: DctNoiseConfig, a: dict) -> Finding:
    at = _index(a)
    if not all(k in at for k in ("28:0", "8:0", "16:0")):
        return _missing("28:0, 8:0 or 16:0")
    full, m8, m16 = (_outcomes(a, "clean_outcomes", at[k]) for k in ("28:0", "8:0", "16:0"))
    drop8, drop16 = clean_difference(full, m8), clean_difference(full, m16)
    loses, collapses, over = (beyond_noise(drop8), beyond_noise(drop8, COLLAPSE),
                              beyond_noise(drop16, KEEPS))
    return Finding(
        f"Fashion-MNIST, all coefficients minus 16x16: {signed_points(drop16)} points; minus 8x8: "
        f"{signed_points(drop8)} points",
        sign_verdict([loses, collapses, -over]),
        f"three parts, each from a 95% interval: 8x8 loses accuracy (its drop lies above zero), "
        f"it collapses (above {100 * COLLAPSE:.0f} points), 16x16 keeps the baseline (its drop "
        f"lies below {100 * KEEPS:.0f} points); reproduced if all hold, partly if some, not "
        f"reproduced if none does and some are refuted, within noise if no interval decides. "
        + INTERVALS)


@CLAIMS.claim("noise-lowers-8")
def noise_lowers_8(config: DctNoiseConfig, a: dict) -> Finding:
    at = _index(a)
    names = [f"8:{s}" for s in ("0", "0.1", "0.2")]
    if not all(k in at for k in names):
        return _missing("8:0, 8:0.1 or 8:0.2")
    falls, signs = _falls([_outcomes(a, "noisy_outcomes", at[k]) for k in names])
    return Finding(
        "noisy test at the training sigma, fall per step (0 -> 0.1, 0.1 -> 0.2): "
        + ", ".join(f"{signed_points(d)} points" for d in falls),
        sign_verdict(signs), "reproduced if accuracy falls beyond noise at each step of sigma "
        "(the 95% interval of each fall above zero), partly if at one, not reproduced if "
        f"at none and it rises beyond noise at one, within noise otherwise. {INTERVALS}")


@CLAIMS.claim("16-keeps-baseline-under-noise")
def keeps_baseline_under_noise(config: DctNoiseConfig, a: dict) -> Finding:
    at = _index(a)
    if not all(k in at for k in ("28:0", "16:0.2")):
        return _missing("28:0 or 16:0.2")
    gap = clean_difference(_outcomes(a, "clean_outcomes", at["28:0"]),
                           _outcomes(a, "noisy_outcomes", at["16:0.2"]))
    over = beyond_noise(gap, KEEPS)
    return Finding(
        f"all coefficients (clean) minus 16x16 at sigma 0.2 (noisy): {signed_points(gap)} points",
        sign_verdict([-over]),
        f"non-inferiority with a margin of {100 * KEEPS:.0f} points, fixed in advance: "
        "reproduced if the 95% interval of the gap lies below the margin, not reproduced if "
        f"above it, within noise if it straddles it. {INTERVALS}")


@CLAIMS.claim("threshold-in-image-domain")
def threshold_in_image_domain(config: DctNoiseConfig, a: dict) -> Finding:
    tw = _twin(a)
    if not ("8" in tw and "16" in tw):
        return _missing(f"{config.image_twin} at M=8 or M=16")
    drop = clean_difference(tw["16"], tw["8"])
    loses, collapses = beyond_noise(drop), beyond_noise(drop, COLLAPSE)
    return Finding(
        f"{config.image_twin}, M=16 minus M=8 (clean test): {signed_points(drop)} points",
        sign_verdict([loses, collapses]),
        f"two parts, each from a 95% interval: M=8 loses accuracy against M=16 (above zero), "
        f"and collapses (above {100 * COLLAPSE:.0f} points); reproduced if both, partly if one. "
        + INTERVALS)


@CLAIMS.claim("noise-lowers-8-in-image-domain")
def noise_lowers_8_in_image_domain(config: DctNoiseConfig, a: dict) -> Finding:
    tw = _twin(a)
    names = ("8", "8:0.1", "8:0.2")
    if not all(k in tw for k in names):
        return _missing(f"{config.image_twin} at 8, 8:0.1 or 8:0.2")
    falls, signs = _falls([tw[k] for k in names])
    return Finding(
        f"{config.image_twin} (clean test), fall per step of sigma: "
        + ", ".join(f"{signed_points(d)} points" for d in falls),
        sign_verdict(signs), "reproduced if accuracy falls beyond noise at each step of sigma, "
        f"partly if at one, within noise if at neither. {INTERVALS}")


def summarize(config: DctNoiseConfig, a: dict) -> dict:
    n = int(a["n_test"][0])
    twin = [{"param": p, **interval_fields("clean_acc", clean_accuracy(o))}
            for p, o in _twin(a).items()]
    verdicts, _ = CLAIMS.judge(config, a)
    table = Table(f"The paper's Conv1D on the M x M DCT coefficients of {config.dataset} "
                  f"({config.train_images} training and {n} test images, {config.epochs} epochs, "
                  f"{len(config.seeds)} seeds); noisy = tested with the training sigma; the "
                  "paper's column is its MNIST accuracy.",
                  (("setting", "M:sigma", "text"), *interval_columns("clean_acc", "Clean %"),
                   ("clean_std", "± std", "pct"), *interval_columns("noisy_acc", "Noisy %"),
                   ("paper", "Paper %", "pct")), _rows(a))
    twin_table = Table(f"The image-domain twin: the {config.image_twin} submission "
                       f"[{config.image_profile}], each mask size trained on its own (clean test).",
                       (("param", "M", "text"), *interval_columns("clean_acc", "Clean %")), twin)
    return {"tables": {"coefficients": table, "image-domain": twin_table}, "verdicts": verdicts}


def parts(config: DctNoiseConfig) -> list[StudyPart]:
    """One setting and seed: ``train_one`` seeds each alone, so it trains the same alone."""
    out = []
    for i, s in enumerate(config.settings):
        out += seed_parts(config, ("clean_outcomes", "noisy_outcomes", "loss"), f"{s} ",
                          (slice(i, i + 1),), unseeded=("setting",), settings=(s,))
    return out


@register_study("dct-noise", title="DCT masks with noise (seed 000)", papers=("000",),
                config=DctNoiseConfig,
                profiles={"ci": DctNoiseConfig(train_images=256, test_images=100, epochs=1,
                                               seeds=(0,), image_profile="ci"),
                          "cpu": DctNoiseConfig(train_images=15000, test_images=2000,
                                                epochs=10, seeds=(0, 1))},
                summarize=summarize, claims=CLAIMS, parts=parts,
                description="the paper's Conv1D on the M x M DCT coefficients, with noise")
def compute(config: DctNoiseConfig, ctx: StudyContext) -> dict[str, np.ndarray]:
    (train, ytr), (test, yte) = image_sets(config, ctx.data_root)
    clean = np.zeros((len(config.settings), len(config.seeds), len(yte)), bool)
    noisy = np.zeros_like(clean)
    losses = np.zeros((len(config.settings), len(config.seeds), config.epochs))
    for i, s in enumerate(config.settings):
        m, sigma = parse_setting(s)
        xtr, xte = (torch.from_numpy(coefficients(x, m)) for x in (train, test))
        for j, seed in enumerate(config.seeds):
            clean[i, j], noisy[i, j], losses[i, j] = train_one(
                config, m, sigma, seed, (xtr, ytr), (xte, yte), ctx.progress)
    return {"setting": np.array(config.settings), "clean_outcomes": clean,
            "noisy_outcomes": noisy, "seeds": np.array(config.seeds), "loss": losses,
            "n_test": np.array([len(yte)]), **twin_arrays(config, ctx)}


def twin_arrays(config: DctNoiseConfig, ctx: StudyContext) -> dict[str, np.ndarray]:
    """The image-domain twin's per-image outcomes on its clean test set, per parameter (its
    run report's; unions left out)."""
    folder = RunFolder.at(ctx.reports_root, config.image_twin, config.image_profile)
    summary, found = folder.summary(), folder.required_outcomes()
    params = [p for p in summary.per_param if "+" not in p]
    picked = [choice_outcomes(*found, p) for p in params]
    return {"twin_param": np.array(params),
            "twin_outcomes": np.stack([o.correct[:, o.cells.index(CLEAN_CELL)] for o in picked]),
            "twin_seeds": np.array(picked[0].seeds)}
