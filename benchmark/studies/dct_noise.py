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

from ..datasets import load_dataset
from ..scoring.reports import report_summary
from .base import Claims, Finding, StudyContext, Table, register_study
from .loop import LoopConfig, fit

FULL = 28
PAPER = {"28:0": 0.9558, "8:0.2": 0.3482, "8:0.1": 0.3977, "8:0": 0.4482, "16:0": 0.9558}


@dataclass(frozen=True)
class DctNoiseConfig:
    train_images: int
    test_images: int
    epochs: int
    seeds: tuple[int, ...]
    dataset: str = "fashion-mnist"
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
def _correct(net: nn.Module, x: torch.Tensor, y: torch.Tensor, sigma: float, seed: int) -> int:
    g = torch.Generator().manual_seed(seed)
    if sigma:
        x = x + sigma * torch.randn(x.shape, generator=g)
    return int((net(x).argmax(1) == y).sum())


def train_one(cfg: DctNoiseConfig, m: int, sigma: float, seed: int, train: tuple, test: tuple,
              progress: bool = False) -> tuple[int, int, list[float]]:
    """(clean correct, noisy correct, loss per epoch) of one model."""
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


def _rows(a: dict) -> list[dict]:
    n = int(a["n_test"][0])
    clean, noisy = a["clean_correct"] / n, a["noisy_correct"] / n
    rows = []
    for i, s in enumerate(list(a["setting"])):
        m, sigma = parse_setting(s)
        rows.append({"setting": s, "m": m, "sigma": sigma,
                     "clean_acc": float(clean[i].mean()), "clean_std": float(clean[i].std()),
                     "noisy_acc": float(noisy[i].mean()), "paper": PAPER.get(s)})
    return rows


def _twin(a: dict) -> dict[str, float]:
    return {str(p): float(c) for p, c in zip(a["twin_param"], a["twin_clean"])}


def _missing(what: str) -> Finding:
    return Finding(f"{what} not measured in this profile", "not testable here",
                   "needs the settings the claim names")


def _falls(accs: list[float]) -> str:
    return ("reproduced" if accs[0] > accs[1] > accs[2] else
            "partly" if accs[0] > accs[2] else "not reproduced")


CLAIMS = Claims()


@CLAIMS.claim("threshold-8-vs-16", paper="000 section 6",
              claim="Keeping 8 x 8 DCT coefficients collapses accuracy while 16 x 16 keeps the "
                    "uncompressed baseline's.",
              reported="MNIST: 8x8 44.82%, 16x16 95.58% = baseline 95.58%")
def threshold_8_vs_16(config: DctNoiseConfig, a: dict) -> Finding:
    rows = _rows(a)
    by = {r["setting"]: r for r in rows}
    full, m8, m16 = by.get("28:0"), by.get("8:0"), by.get("16:0")
    if not (full and m8 and m16):
        return _missing("28:0, 8:0 or 16:0")
    spread = max(r["clean_std"] for r in rows)
    drop8, drop16 = full["clean_acc"] - m8["clean_acc"], full["clean_acc"] - m16["clean_acc"]
    return Finding(
        f"Fashion-MNIST: all coefficients {100 * full['clean_acc']:.2f}%, 16x16 "
        f"{100 * m16['clean_acc']:.2f}% ({-100 * drop16:+.2f}), 8x8 "
        f"{100 * m8['clean_acc']:.2f}% ({-100 * drop8:+.2f}); seed std up to {100 * spread:.2f}",
        "reproduced" if drop8 > 0.20 and drop16 <= 0.02 else
        "partly" if drop8 > max(spread, 0.02) and drop16 <= 0.02 else "not reproduced",
        "reproduced if 8x8 loses more than 20 points against all coefficients while 16x16 "
        "stays within 2; partly if 8x8 loses less (but more than the seed std and 2 points)")


@CLAIMS.claim("noise-lowers-8", paper="000 section 6",
              claim="Noise on the 8 x 8 coefficients lowers accuracy further.",
              reported="44.82% -> 39.77% -> 34.82% (sigma 0, 0.1, 0.2)")
def noise_lowers_8(config: DctNoiseConfig, a: dict) -> Finding:
    by = {r["setting"]: r for r in _rows(a)}
    noisy8 = [by.get(f"8:{s}") for s in ("0", "0.1", "0.2")]
    if not all(noisy8):
        return _missing("8:0, 8:0.1 or 8:0.2")
    accs = [r["noisy_acc"] for r in noisy8]
    return Finding(
        " -> ".join(f"{100 * x:.2f}%" for x in accs) + " (noisy test, the training sigma)",
        _falls(accs), "reproduced if accuracy falls at each step of sigma, partly if only "
        "from 0 to 0.2")


@CLAIMS.claim("16-keeps-baseline-under-noise", paper="000 abstract",
              claim="16 x 16 keeps the baseline accuracy even under noise (sigma 0.2).",
              reported="95.58% with noise")
def keeps_baseline_under_noise(config: DctNoiseConfig, a: dict) -> Finding:
    by = {r["setting"]: r for r in _rows(a)}
    full, n16 = by.get("28:0"), by.get("16:0.2")
    if not (full and n16):
        return _missing("28:0 or 16:0.2")
    gap = full["clean_acc"] - n16["noisy_acc"]
    return Finding(
        f"16x16 sigma 0.2: {100 * n16['noisy_acc']:.2f}% vs {100 * full['clean_acc']:.2f}% "
        f"({-100 * gap:+.2f} points)",
        "reproduced" if gap <= 0.02 else "partly" if gap <= 0.05 else "not reproduced",
        "reproduced within 2 points of the baseline, partly within 5")


@CLAIMS.claim("threshold-in-image-domain", paper="000 (image domain)",
              claim="The same threshold appears when the masks are applied to images and a CNN "
                    "trains on them (the image-domain twin submission).",
              reported="not measured in 000")
def threshold_in_image_domain(config: DctNoiseConfig, a: dict) -> Finding:
    tw = _twin(a)
    if not ("8" in tw and "16" in tw):
        return _missing(f"{config.image_twin} at M=8 or M=16")
    drop = tw["16"] - tw["8"]
    return Finding(
        f"{config.image_twin}: 16 {100 * tw['16']:.2f}%, 8 {100 * tw['8']:.2f}% "
        f"({-100 * drop:+.2f} points)",
        "reproduced" if drop > 0.20 else "partly" if drop > 0.02 else "not reproduced",
        "reproduced if M=8 loses more than 20 points against M=16, partly if more than 2")


@CLAIMS.claim("noise-lowers-8-in-image-domain", paper="000 (image domain)",
              claim="Noise on the 8 x 8 coefficients lowers accuracy further, in the image "
                    "domain too.",
              reported="44.82% -> 39.77% -> 34.82% (coefficient domain)")
def noise_lowers_8_in_image_domain(config: DctNoiseConfig, a: dict) -> Finding:
    tw = _twin(a)
    if not all(k in tw for k in ("8", "8:0.1", "8:0.2")):
        return _missing(f"{config.image_twin} at 8, 8:0.1 or 8:0.2")
    accs = [tw[k] for k in ("8", "8:0.1", "8:0.2")]
    return Finding(
        f"{config.image_twin} (clean test): " + " -> ".join(f"{100 * x:.2f}%" for x in accs),
        _falls(accs), "reproduced if accuracy falls at each step of sigma, partly if only "
        "from 0 to 0.2")


def summarize(config: DctNoiseConfig, a: dict) -> dict:
    n = int(a["n_test"][0])
    twin = [{"param": p, "clean_acc": c} for p, c in _twin(a).items()]
    verdicts, _ = CLAIMS.judge(config, a)
    table = Table(f"The paper's Conv1D on the M x M DCT coefficients of {config.dataset} "
                  f"({config.train_images} training and {n} test images, {config.epochs} epochs, "
                  f"{len(config.seeds)} seeds); noisy = tested with the training sigma; the "
                  "paper's column is its MNIST accuracy.",
                  (("setting", "M:sigma", "text"), ("clean_acc", "Clean %", "pct"),
                   ("clean_std", "± std", "pct"), ("noisy_acc", "Noisy %", "pct"),
                   ("paper", "Paper %", "pct")), _rows(a))
    twin_table = Table(f"The image-domain twin: the {config.image_twin} submission "
                       f"[{config.image_profile}], each mask size trained on its own (clean test).",
                       (("param", "M", "text"), ("clean_acc", "Clean %", "pct")), twin)
    return {"tables": {"coefficients": table, "image-domain": twin_table}, "verdicts": verdicts}


@register_study("dct-noise", title="DCT masks with noise (seed 000)", papers=("000",),
                config=DctNoiseConfig,
                profiles={"ci": DctNoiseConfig(train_images=256, test_images=100, epochs=1,
                                               seeds=(0,), image_profile="ci"),
                          "cpu": DctNoiseConfig(train_images=15000, test_images=2000,
                                                epochs=10, seeds=(0, 1))},
                summarize=summarize, claims=CLAIMS,
                description="the paper's Conv1D on the M x M DCT coefficients, with noise")
def compute(config: DctNoiseConfig, ctx: StudyContext) -> dict[str, np.ndarray]:
    train = load_dataset(config.dataset, "train", ctx.data_root).head(config.train_images)
    test = load_dataset(config.dataset, "test", ctx.data_root).head(config.test_images)
    ytr = torch.from_numpy(np.asarray(train.labels, np.int64))
    yte = torch.from_numpy(np.asarray(test.labels, np.int64))
    clean = np.zeros((len(config.settings), len(config.seeds)), np.int64)
    noisy = np.zeros_like(clean)
    losses = np.zeros((len(config.settings), len(config.seeds), config.epochs))
    for i, s in enumerate(config.settings):
        m, sigma = parse_setting(s)
        xtr = torch.from_numpy(coefficients(np.asarray(train.images), m))
        xte = torch.from_numpy(coefficients(np.asarray(test.images), m))
        for j, seed in enumerate(config.seeds):
            clean[i, j], noisy[i, j], losses[i, j] = train_one(
                config, m, sigma, seed, (xtr, ytr), (xte, yte), ctx.progress)
    twin = report_summary(ctx.reports_root, config.image_twin, config.image_profile)["per_param"]
    return {"setting": np.array(config.settings), "clean_correct": clean,
            "noisy_correct": noisy, "loss": losses, "n_test": np.array([len(yte)]),
            "twin_param": np.array(list(twin)),
            "twin_clean": np.array([twin[p]["clean_acc"] for p in twin], np.float64)}
