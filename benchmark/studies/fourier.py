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

from corruptions.errors import DataError

from ..datasets import load_dataset
from ..pipeline.submission import load_submission
from ..scoring.statistics import replicates
from .base import Claims, Finding, StudyContext, Table, not_testable, register_study
from .intervals import BOOT, judged, sign_verdict, signed_points
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
def wrong_at(model: torch.nn.Module, images: np.ndarray, labels: np.ndarray, eps: float,
             seed: int, device: str = "cpu", progress: bool = False, name: str = "") -> np.ndarray:
    """(H, W, N) bool: whether the model gets each image wrong under Fourier-basis noise of
    norm ``eps`` at each frequency, fftfreq order."""
    n, h, w, c = images.shape
    x = torch.from_numpy(images).permute(0, 3, 1, 2).double().div(255)
    y = torch.from_numpy(np.asarray(labels, np.int64)).to(device)
    model = model.to(device).eval()
    out = np.zeros((h, w, n), bool)
    for u, v in tqdm(half_plane(h, w), desc=f"fourier {name}", unit="freq",
                     disable=not progress or None, leave=False):
        noise = torch.from_numpy(basis(h, w, u, v))
        r = torch.from_numpy(signs(seed, u, v, n, c))[:, :, None, None]
        xp = (x + eps * r * noise).clamp_(0, 1).float().to(device)
        out[u, v] = out[(-u) % h, (-v) % w] = (model(xp).argmax(1) != y).cpu().numpy()
    return out


def error_map(model: torch.nn.Module, images: np.ndarray, labels: np.ndarray, eps: float,
              seed: int, device: str = "cpu", progress: bool = False, name: str = "") -> np.ndarray:
    """(H, W) error rate under Fourier-basis noise of norm ``eps``, fftfreq order."""
    return wrong_at(model, images, labels, eps, seed, device, progress, name).mean(axis=-1)


def band_errors(wrong: np.ndarray) -> np.ndarray:
    """(bands, N): the share of each band's frequencies at which each image is got wrong (the
    per-image scores the intervals resample)."""
    bands = band_map(*wrong.shape[:2])
    return np.stack([wrong[bands == i].mean(axis=0) for i in range(len(BANDS))])


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


INTERVALS = ("95% intervals: the leaderboard's two-level bootstrap over the models' training "
             "seeds and the test images, paired (every model probed on the same images and "
             "perturbations)")


def _band_reps(a: dict, key: str) -> dict[str, tuple[float, np.ndarray]]:
    """Per band: the error (mean over seeds, images and the band's frequencies) and its
    bootstrap replicates."""
    scores = a[f"{key}|band_error"]  # (seeds, bands, images)
    seeds = tuple(int(s) for s in a["seeds"])  # every model's (checked by compute)
    return {b: (float(scores[:, i].mean()), replicates(scores[:, i], seeds, BOOT))
            for i, b in enumerate(BANDS)}


def _rows(config: FourierConfig, a: dict) -> list[dict]:
    rows = []
    for path, param in config.entries:
        k = _key(path, param)
        maps = a[f"{k}|error"]                     # (seeds, H, W), DC centred
        row = {"submission": _name(path), "param": param,
               "clean_error": float(a[f"{k}|clean_wrong"].mean()), "mean_error": float(maps.mean())}
        for b, (value, _) in _band_reps(a, k).items():
            row[f"{b}_error"] = value
        row["seed_spread"] = float(maps.mean(axis=(1, 2)).std())
        rows.append(row)
    return rows


def _entry(config: FourierConfig, name: str) -> str | None:
    """The arrays' key of the probed model named ``submission@param`` (or the baseline)."""
    for path, param in config.entries:
        if f"{_name(path)}@{param}" == name or (name == "baseline" and _name(path) == "baseline"):
            return _key(path, param)
    return None


NO_BASELINE = not_testable("the baseline is not among the probed submissions",
                           "needs the baseline's heat map")
CLAIMS = Claims("fourier-heatmap")


@CLAIMS.claim("baseline-error-grows-with-frequency")
def baseline_error_grows(config: FourierConfig, a: dict) -> Finding:
    key = _entry(config, "baseline")
    if key is None:
        return NO_BASELINE
    band = _band_reps(a, key)
    steps = [judged(band[hi][0] - band[lo][0], band[hi][1] - band[lo][1])
             for lo, hi in (("low", "mid"), ("mid", "high"))]
    return Finding(
        f"baseline error low {100 * band['low'][0]:.1f}%, mid {100 * band['mid'][0]:.1f}%, high "
        f"{100 * band['high'][0]:.1f}%; mid minus low {signed_points(steps[0][0])} points, "
        "high minus mid "
        f"{signed_points(steps[1][0])} points",
        sign_verdict([s for _, s in steps]),
        "reproduced if the error grows beyond noise from low to mid and from mid to high (each "
        "step's 95% interval above zero), partly if at one step, not reproduced if at neither "
        f"and it falls beyond noise at one, within noise otherwise. {INTERVALS}")


def _probed(config: FourierConfig) -> list[str]:
    """Each probed model but the baseline, as ``submission@param``."""
    return [f"{_name(path)}@{param}" for path, param in config.entries if _name(path) != "baseline"]


@CLAIMS.claim("less-high-frequency-error", each=_probed)
def less_high_frequency_error(config: FourierConfig, a: dict, case: str) -> Finding:
    base_key = _entry(config, "baseline")
    if base_key is None:
        return NO_BASELINE
    base, r = _band_reps(a, base_key), _band_reps(a, _entry(config, case))
    (high, s_high), (low, s_low) = (judged(r[b][0] - base[b][0], r[b][1] - base[b][1])
                                    for b in ("high", "low"))
    return Finding(
        f"{case.replace('@', ' ')} minus the baseline: high-band error "
        f"{signed_points(high)} points, low-band "
        f"{signed_points(low)} points",
        sign_verdict([-s_high, s_low]),
        "two parts, each from a 95% interval: the high-band error drops (below zero) and the "
        "low-band error rises (above zero); reproduced if both, partly if one, not reproduced "
        f"if neither and one goes the other way, within noise otherwise. {INTERVALS}")


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
    out, seeds = {}, set()
    for path, param in config.entries:
        spec = load_submission(path, config.source_profile)
        test = load_dataset(spec.dataset, "test", ctx.data_root).head(config.images)
        images, labels = np.asarray(test.images), np.asarray(test.labels)
        maps, bands, clean, probed = [], [], [], []
        for seed, model in trained_classifiers(spec, param, ctx):
            probed.append(seed)
            wrong = wrong_at(model, images, labels, config.eps, config.seed, ctx.device,
                             ctx.progress, f"{spec.id} {param} seed {seed}")
            maps.append(np.fft.fftshift(wrong.mean(axis=-1)))
            bands.append(band_errors(wrong))
            with torch.inference_mode():
                x = torch.from_numpy(images).permute(0, 3, 1, 2).float().div(255).to(ctx.device)
                clean.append(model(x).argmax(1).cpu().numpy() != labels)
        out[f"{_key(path, param)}|error"] = np.stack(maps)
        out[f"{_key(path, param)}|band_error"] = np.stack(bands)
        out[f"{_key(path, param)}|clean_wrong"] = np.stack(clean)
        seeds.add(tuple(probed))
    if len(seeds) != 1:
        raise DataError(f"the probed submissions ran different seeds {sorted(seeds)}: not paired")
    return {**out, "seeds": np.array(seeds.pop(), np.int64)}
