"""The Fourier heat map of a classifier (Yin et al. 2019, "A Fourier perspective on model
robustness"; proposed in thesis section 6.2 to explain what compressed training data buys).

For each 2D frequency (u, v) the basis image U(u, v) = the real image whose DFT is supported
on (u, v) and (-u, -v) only, scaled to unit L2 norm. Each test image x becomes
clip(x + r * eps * U, 0, 1), with r = +-1 at random per image (and per channel), and the map
holds the model's error rate at each frequency, DC at the centre. Yin et al. used eps = 4
on 32 x 32 x 3 CIFAR-10 images; here eps is set per profile so that the perturbation has
the same RMS per pixel (4 / 32 = 0.125 on [0, 1]): 3.5 on 28 x 28 Fashion-MNIST.

Every model of a submission's unit (one per seed) is probed with the same perturbations; a
frequency and its mirror share one basis image, so half the plane is computed.
"""
from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import torch
from tqdm import tqdm

from corruptions.spectrum import BANDS, band_map

from ..datasets import load_dataset
from ..pipeline.submission import load_submission
from .base import Claims, Finding, StudyContext, Table, register_study
from .trained import BEST, resolve_param, trained_classifiers

DEFAULT_ENTRIES = (("submissions/baseline.yaml", "-"), ("submissions/bls_aug.yaml", BEST),
                   ("submissions/jpeg_aug.yaml", BEST))


@dataclass(frozen=True)
class FourierConfig:
    source_profile: str                     # the profile whose trained models are probed
    images: int                             # first N test images
    eps: float                              # L2 norm of the perturbation on [0, 1] images
    entries: tuple[tuple[str, str], ...] = DEFAULT_ENTRIES  # (submission file, parameter)
    seed: int = 0


def basis(h: int, w: int, u: int, v: int) -> np.ndarray:
    """Unit-norm real image whose spectrum lives on (u, v) and (-u, -v) (fftfreq indices)."""
    spec = np.zeros((h, w), dtype=np.complex128)
    spec[u, v] = 1
    spec[(-u) % h, (-v) % w] = 1
    img = np.fft.ifft2(spec).real
    return img / np.linalg.norm(img)


def half_plane(h: int, w: int) -> list[tuple[int, int]]:
    """One (u, v) of every mirror pair, in a fixed order."""
    return [(u, v) for u in range(h) for v in range(w) if (u, v) <= ((-u) % h, (-v) % w)]


def signs(seed: int, u: int, v: int, n: int, channels: int) -> np.ndarray:
    return np.random.default_rng([seed, u, v]).choice(np.array([-1.0, 1.0]), size=(n, channels))


@torch.inference_mode()
def error_map(model: torch.nn.Module, images: np.ndarray, labels: np.ndarray, eps: float,
              seed: int, device: str = "cpu", progress: bool = False, name: str = "") -> np.ndarray:
    """(H, W) error rate under Fourier-basis noise of norm ``eps``, fftfreq order."""
    n, h, w, c = images.shape
    x = torch.from_numpy(images).permute(0, 3, 1, 2).double().div(255)
    y = torch.from_numpy(np.asarray(labels, np.int64)).to(device)
    model = model.to(device).eval()
    out = np.zeros((h, w))
    for u, v in tqdm(half_plane(h, w), desc=f"fourier {name}", unit="freq",
                     disable=not progress or None, leave=False):
        noise = torch.from_numpy(basis(h, w, u, v))
        r = torch.from_numpy(signs(seed, u, v, n, c))[:, :, None, None]
        xp = (x + eps * r * noise).clamp_(0, 1).float().to(device)
        wrong = (model(xp).argmax(1) != y).sum().item()
        out[u, v] = out[(-u) % h, (-v) % w] = wrong / n
    return out


def _key(path: str, param: str) -> str:
    """The arrays' name stem of one entry: the submission file's stem and the parameter."""
    return f"{_name(path)}|{param}"


def _name(path: str) -> str:
    return path.replace("\\", "/").rsplit("/", 1)[-1].removesuffix(".yaml")


def resolve(config: FourierConfig, ctx: StudyContext) -> FourierConfig:
    """``best`` replaced by the parameter each report chose (held out), so reruns probe the
    same models."""
    entries = []
    for path, param in config.entries:
        spec = load_submission(path, config.source_profile)
        entries.append((path, resolve_param(spec, param, ctx.reports_root)))
    return replace(config, entries=tuple(dict.fromkeys(entries)))


def _rows(config: FourierConfig, a: dict) -> list[dict]:
    rows = []
    for path, param in config.entries:
        k = _key(path, param)
        maps = a[f"{k}|error"]                     # (seeds, H, W), DC centred
        bands = np.fft.fftshift(band_map(*maps.shape[1:]))
        mean = maps.mean(axis=0)
        row = {"submission": _name(path), "param": param,
               "clean_error": float(a[f"{k}|clean"].mean()), "mean_error": float(mean.mean())}
        for i, b in enumerate(BANDS):
            row[f"{b}_error"] = float(mean[bands == i].mean())
        row["seed_spread"] = float(maps.mean(axis=(1, 2)).std())
        rows.append(row)
    return rows


def _baseline(rows: list[dict]) -> dict | None:
    return next((r for r in rows if r["submission"] == "baseline"), None)


NO_BASELINE = Finding("the baseline is not among the probed submissions", "not testable here",
                      "needs the baseline's heat map")
CLAIMS = Claims()


@CLAIMS.claim("baseline-error-grows-with-frequency", paper="Yin et al. 2019 Fig 1",
              claim="A naturally trained classifier is sensitive to perturbations at all but "
                    "the lowest frequencies: its error grows from low to high.",
              reported="CIFAR-10, eps 4: low error only near DC")
def baseline_error_grows(config: FourierConfig, a: dict) -> Finding:
    base = _baseline(_rows(config, a))
    if base is None:
        return NO_BASELINE
    return Finding(
        f"baseline error low {100 * base['low_error']:.1f}%, mid "
        f"{100 * base['mid_error']:.1f}%, high {100 * base['high_error']:.1f}%",
        "reproduced" if base["low_error"] < base["mid_error"] <= base["high_error"]
        else "partly" if base["low_error"] < base["high_error"] else "not reproduced",
        "reproduced if low < mid <= high, partly if only low < high")


def _probed(config: FourierConfig) -> list[str]:
    """Each probed model but the baseline, as ``submission@param``."""
    return [f"{_name(path)}@{param}" for path, param in config.entries if _name(path) != "baseline"]


@CLAIMS.claim("less-high-frequency-error", paper="thesis 6.2 / Yin et al. 2019",
              claim="Training on {case} data (compression removes high frequencies) makes the "
                    "model less sensitive to high-frequency noise, at some cost at low "
                    "frequencies, as Gaussian augmentation does in Yin et al.",
              reported="Yin et al.: Gaussian augmentation lowers high-frequency error, raises low",
              each=_probed)
def less_high_frequency_error(config: FourierConfig, a: dict, case: str) -> Finding:
    rows = _rows(config, a)
    base = _baseline(rows)
    if base is None:
        return NO_BASELINE
    r = next(r for r in rows if f"{r['submission']}@{r['param']}" == case)
    d_high, d_low = r["high_error"] - base["high_error"], r["low_error"] - base["low_error"]
    spread = max(r["seed_spread"], base["seed_spread"])
    return Finding(
        f"{r['submission']} {r['param']}: high {100 * d_high:+.1f} points, low "
        f"{100 * d_low:+.1f} points against the baseline (seed std {100 * spread:.1f})",
        "reproduced" if d_high < -spread and d_low > 0 else
        "partly" if d_high < -spread else "not reproduced",
        "reproduced if the high-band error drops by more than the seed std and the low-band "
        "error rises; partly if only the high-band error drops")


def summarize(config: FourierConfig, a: dict) -> dict:
    table = Table(f"Error rate under Fourier-basis noise of L2 norm {config.eps} on the first "
                  f"{config.images} test images, mean over the models' seeds and over the "
                  "frequencies of each band (rho = |f| / f_Nyquist: low < 1/3 <= mid < 2/3 <= high).",
                  (("submission", "Submission", "text"), ("param", "Parameter", "text"),
                   ("clean_error", "Clean error %", "pct"), ("mean_error", "Mean %", "pct"),
                   ("low_error", "Low %", "pct"), ("mid_error", "Mid %", "pct"),
                   ("high_error", "High %", "pct"), ("seed_spread", "Seed std %", "pct")),
                  _rows(config, a))
    verdicts, _ = CLAIMS.judge(config, a)
    return {"tables": {"bands": table}, "verdicts": verdicts}


def arguments(parser) -> None:
    parser.add_argument("--submission", default=None,
                        help="a submission YAML to probe (added to the profile's report); "
                             "default: the profile's baseline, best BLS and best JPEG")
    parser.add_argument("--param", default=BEST,
                        help="its parameter label, or 'best' (the held-out BDA pick)")


def configure(config: FourierConfig, args) -> FourierConfig:
    if not args.submission:
        return config
    from ..scoring.reports import read_summary
    from .report import study_dir

    old = study_dir(args.reports, "fourier-heatmap", args.profile) / "summary.json"
    entries = tuple(tuple(e) for e in read_summary(old)["config"]["entries"]) if old.is_file() else ()
    return replace(config, entries=(*entries, (args.submission, args.param)))


@register_study("fourier-heatmap", title="Fourier heat maps of trained classifiers "
                "(Yin et al. 2019, thesis 6.2)", papers=("Yin et al. 2019", "003 section 6.2"),
                config=FourierConfig,
                profiles={"ci": FourierConfig("ci", images=16, eps=3.5),
                          "cpu": FourierConfig("cpu", images=500, eps=3.5)},
                summarize=summarize, resolve=resolve, arguments=arguments, configure=configure,
                claims=CLAIMS, description="error rate under Fourier-basis noise at every frequency")
def compute(config: FourierConfig, ctx: StudyContext) -> dict[str, np.ndarray]:
    out = {}
    for path, param in config.entries:
        spec = load_submission(path, config.source_profile)
        test = load_dataset(spec.dataset, "test", ctx.data_root).head(config.images)
        images, labels = np.asarray(test.images), np.asarray(test.labels)
        maps, clean = [], []
        for seed, model in trained_classifiers(spec, param, ctx):
            maps.append(np.fft.fftshift(error_map(model, images, labels, config.eps,
                                                  config.seed, ctx.device, ctx.progress,
                                                  f"{spec.id} {param} seed {seed}")))
            with torch.inference_mode():
                x = torch.from_numpy(images).permute(0, 3, 1, 2).float().div(255).to(ctx.device)
                clean.append(float((model(x).argmax(1).cpu().numpy() != labels).mean()))
        out[f"{_key(path, param)}|error"] = np.stack(maps)
        out[f"{_key(path, param)}|clean"] = np.asarray(clean)
    return out
