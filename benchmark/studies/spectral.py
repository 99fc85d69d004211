"""Seed 002's spectral measures of codecs on Kodak-C.

For a codec C at one rate, a clean image x and its corruption c(x), with F the 2D DFT:

    D = E |F(C(x) - x)|          its error on clean images
    G = E |F(C(c(x)) - c(x))|    its error on the corrupted input (generalisation)
    R = E |F(C(c(x)) - x)|       its output on the corrupted input against the clean image
                                 (what is left of the corruption: denoising)

E is the mean over images and colour channels. Each map is summarised per frequency band
with the corruption profiles' definitions (``corruptions.spectrum``: radial frequency below
1/3, 1/3 to 2/3, above 2/3 of Nyquist), as the mean magnitude per bin of the band (its
density) and as shares of the three densities. The paper's figures are heat maps of these
maps; here they are kept block-averaged (``MAP_SIDE``) for the pictures, while every number
of the tables and verdicts comes from the full-resolution maps.

Kodak-C is built by the benchmark's own engine from Kodak's test split (kodim13-24, whole
images at the Kodak scale), then each image and corruption is cut to its central ``crop``
pixels before coding (the CPU budget). Learned codecs are trained on ``codec_dataset``
(``photos``: kodim01-12 and the scikit-image photographs, disjoint from the test images) with
the benchmark's photograph recipe (``zoo.photo_recipe``), or the config's recipe overrides.
The seed compares learned codecs with JPEG 2000, so the verdicts do too (its classical
anchor); JPEG is measured beside it, and each verdict says what it would be against JPEG.

Every measure is kept per test image, so the verdicts are judged on intervals like the
other studies': a bootstrap over the test images (the leaderboard's ``Bootstrap``; every
setting sees the same draws, so comparisons are paired). Each statistic is a ratio or log
of image means, so it is recomputed from the reweighted means in every replicate. With the
``cpu`` profile's 12 images the intervals are coarse (a bootstrap over few images is
somewhat too narrow); with one image (``ci``) they collapse to the point.
"""
from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import torch
from tqdm import tqdm

from corruptions.errors import BenchError
from corruptions.registry import PUBLISHED_BANDS
from corruptions.spectrum import BANDS, band_map

from ..augment import AugmentContext, get_family
from ..codecs.recipe import parse_overrides
from ..datasets import load_dataset
from ..pipeline.inputs import ensure_corrupted
from ..scoring.selection import COMMON
from ..scoring.statistics import Bootstrap, Estimate, beyond_noise
from .base import Claims, Finding, StudyContext, Table, not_testable, register_study
from .intervals import BOOT, estimate_draws, measures_table, sign_verdict

MAP_SIDE = 32  # side of the stored (block-averaged, centred) heat maps
LEARNED = ("bls", "bmshj")


@dataclass(frozen=True)
class SpectralConfig:
    images: int                      # the first N test images of the dataset
    crop: int                        # central crop side coded and measured; 0: whole images
    severities: tuple[int, ...]
    rates: tuple[tuple[str, tuple], ...]  # (family, parameters)
    codec: str                       # learned-codec recipe overrides (``--codec`` syntax)
    dataset: str = "kodak"
    codec_dataset: str = "photos"    # what learned codecs are trained on
    corruptions: tuple[str, ...] = COMMON
    seed: int = 0                    # of the corruption engine


# JPEG 2000's parameter is its target bpp: 0.25-1 spans about the rates of the others on Kodak
CPU_RATES = (("jpeg2000", (0.25, 0.5, 1.0)), ("jpeg", (5, 20, 50)), ("bls", (0.003, 0.012, 0.05)),
             ("bmshj", (0.003, 0.012, 0.05)))


def settings(config: SpectralConfig) -> list[tuple[str, object]]:
    return [(family, p) for family, params in config.rates for p in params]


def setting_label(family: str, param) -> str:
    return f"{family}:{get_family(family).label(param)}"


def _crop(images, side: int) -> np.ndarray:
    """The central ``side`` x ``side`` pixels of each image (all of it when 0)."""
    out = []
    for im in images:
        if side:
            y, x = (im.shape[0] - side) // 2, (im.shape[1] - side) // 2
            im = im[y:y + side, x:x + side]
        out.append(im)
    return np.stack(out)


def magnitude(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """|DFT2(a - b)| per image, mean over colour channels, of uint8 (N, H, W, C) batches on
    [0, 1], in ``np.fft.fftfreq`` order: (N, H, W)."""
    d = (a.astype(np.float32) - b.astype(np.float32)) / 255
    return torch.fft.fft2(torch.from_numpy(d), dim=(1, 2)).abs().mean(dim=3).double().numpy()


def band_density(m: np.ndarray) -> np.ndarray:
    """Mean magnitude per bin of the low, mid and high bands, per image of (..., H, W) maps:
    (..., 3)."""
    band = band_map(*m.shape[-2:])
    return np.stack([m[..., band == k].mean(axis=-1) for k in range(len(BANDS))], axis=-1)


def small_map(m: np.ndarray, side: int = MAP_SIDE) -> np.ndarray:
    """Centred (DC in the middle) and block-averaged to ``side`` x ``side``, float32."""
    c = np.fft.fftshift(m)
    kh, kw = c.shape[0] // side, c.shape[1] // side
    c = c[: kh * side, : kw * side]
    return c.reshape(side, kh, side, kw).mean(axis=(1, 3)).astype(np.float32)


def shares(density: np.ndarray, axis: int = -1) -> np.ndarray:
    return density / density.sum(axis=axis, keepdims=True)


def group_of(corruption: str) -> str:
    return PUBLISHED_BANDS.get(corruption, "extra")


INTERVALS = ("95% intervals: bootstrap over the test images (the leaderboard's draws, shared "
             "by every setting, so differences are paired)")


@dataclass(frozen=True)
class Measured:
    """The study's statistics from the per-image arrays, each with a last axis of draws:
    index 0 weighs every image alike (the reported value), 1... are the bootstrap's
    replicates. Ratios and logs are taken of the reweighted image means, draw by draw."""

    labels: list[str]
    bpp: np.ndarray      # (settings, draws) clean bpp
    psnr: np.ndarray     # (settings, draws) on clean images
    d_share: np.ndarray  # (settings, 3 bands, draws) shares of D's density
    g: dict[str, np.ndarray]  # per published group: (settings, draws) G/D MSE ratio
    r: dict[str, np.ndarray]  # per published group: (settings, draws) PSNR gained vs clean
    bpp_shift: np.ndarray  # (settings, draws) bpp on corrupted over clean inputs

    @property
    def learned(self) -> list[int]:
        return [i for i, s in enumerate(self.labels) if s.split(":")[0] in LEARNED]


def measured(a: dict, boot: Bootstrap = BOOT) -> Measured:
    """The statistics of the per-image arrays ``a`` (``compute``'s), reported and resampled."""
    n = a["d_mse"].shape[-1]
    w = np.vstack([np.full(n, 1 / n), boot.images(n)])  # (draws, images)

    def mean(x: np.ndarray) -> np.ndarray:  # over the image axis (last), draw by draw
        return x @ w.T

    corr = [str(c) for c in a["corruption"]]
    d_mse = mean(a["d_mse"])                                    # (s, draws)
    ratio = mean(a["g_mse"]) / d_mse[:, None]                   # (s, c, draws)
    gain = 10 * np.log10(mean(a["input_mse"])[None] / mean(a["r_mse"]))
    shift = mean(a["bpp"]) / mean(a["bpp_clean"])[:, None]
    groups = {g: [k for k, c in enumerate(corr) if group_of(c) == g] for g in BANDS}
    return Measured(
        labels=[str(s) for s in a["setting"]], bpp=mean(a["bpp_clean"]),
        psnr=-10 * np.log10(d_mse),
        d_share=shares(np.einsum("sik,bi->skb", a["d_band"], w), axis=1),
        g={g: ratio[:, k].mean(axis=1) if k else np.full_like(d_mse, np.nan)
           for g, k in groups.items()},
        r={g: gain[:, k].mean(axis=1) if k else np.full_like(d_mse, np.nan)
           for g, k in groups.items()},
        bpp_shift=shift.mean(axis=1))


def summarize(config: SpectralConfig, a: dict) -> dict:
    m = measured(a)
    rows = [{"setting": s, "bpp": float(m.bpp[i, 0]), "psnr": float(m.psnr[i, 0]),
             **{f"d_{b}": float(m.d_share[i, k, 0]) for k, b in enumerate(BANDS)}}
            for i, s in enumerate(m.labels)]
    gen_rows = [{"setting": s, **{f"g_{g}": float(m.g[g][i, 0]) for g in BANDS},
                 **{f"r_{g}": float(m.r[g][i, 0]) for g in BANDS},
                 "bpp_shift": float(m.bpp_shift[i, 0])} for i, s in enumerate(m.labels)]
    verdicts, measures = CLAIMS.judge(config, a)
    tables = {
        "clean": Table(
            f"D: each codec's error on the {int(a['n_images'][0])} clean test images "
            f"({config.crop or 'whole'} px), as shares of its mean DFT magnitude per bin in the "
            "low, mid and high bands (they sum to 1; white noise gives 1/3 each).",
            (("setting", "Codec:rate", "text"), ("bpp", "bpp", "bpp"), ("psnr", "PSNR dB", "num"),
             ("d_low", "D low", "size"), ("d_mid", "D mid", "size"), ("d_high", "D high", "size")),
            rows),
        "corrupted": Table(
            "G: the codec's error on corrupted inputs over its error on clean ones (MSE ratio; "
            "1 = as on clean data), mean over the corruptions of each published group; R: "
            "PSNR against the clean image gained by coding the corrupted one (dB; > 0 = "
            "denoises); bpp shift: bits spent on corrupted over clean inputs.",
            (("setting", "Codec:rate", "text"), ("g_low", "G low", "num"), ("g_mid", "G mid", "num"),
             ("g_high", "G high", "num"), ("r_low", "R low dB", "num"), ("r_mid", "R mid dB", "num"),
             ("r_high", "R high dB", "num"), ("bpp_shift", "bpp shift", "num")),
            gen_rows),
        "measures": measures_table(measures, "bootstrap over the test images, paired")}
    return {"tables": tables, "verdicts": verdicts}


ANCHOR = "jpeg2000"  # seed 002 compares learned codecs with JPEG 2000
NAMES = {"jpeg2000": "JPEG 2000", "jpeg": "JPEG", "webp": "WebP", "avif": "AVIF"}


@dataclass(frozen=True)
class _Checked:
    """One classical codec's side of a claim: the numbers in words, the verdict and the
    measures (name, draws) it follows from."""

    text: str
    verdict: str
    measures: tuple[tuple[str, np.ndarray], ...]


def _signs(measures) -> list[int]:
    return [beyond_noise(estimate_draws(d)) for _, d in measures]


def _tally(measures, what: str) -> str:
    s = _signs(measures)
    return f"{what} beyond noise in {s.count(1)} of {len(s)}, the other way in {s.count(-1)}"


def _against(a: dict, measure, rule: str) -> Finding:
    """``measure(m, classical indices) -> _Checked`` against the seed's classical codec
    (JPEG 2000; else the first measured), the other classical codecs beside it."""
    m = measured(a)
    fam = [s.split(":")[0] for s in m.labels]
    classical = list(dict.fromkeys(f for f in fam if f not in LEARNED))
    if not m.learned or not classical:
        return not_testable("needs a learned and a classical codec", "needs both kinds of codec")
    anchor = ANCHOR if ANCHOR in classical else classical[0]
    found = {f: measure(m, [i for i, g in enumerate(fam) if g == f]) for f in classical}
    name = NAMES.get(anchor, anchor)
    beside = "".join(f"; beside it, against {NAMES.get(f, f)}: {found[f].text} "
                     f"(would be {found[f].verdict})" for f in classical if f != anchor)
    which = (" The verdict is against JPEG 2000, the seed's classical codec; " if anchor == ANCHOR
             else f" JPEG 2000 was not measured: the verdict is against {name}; ")
    rows = tuple({"measure": what, "points": 1, **estimate_draws(d).as_dict()}
                 for what, d in found[anchor].measures)
    return Finding(f"against {name}: {found[anchor].text}{beside}", found[anchor].verdict,
                   rule.format(classical=name) + which
                   + f"the other classical codecs are shown beside it. {INTERVALS}.", rows)


def _nearest(m: Measured, classic: list[int]) -> list[tuple[int, int]]:
    """Each learned setting with the classical setting nearest to it in clean bpp (on the
    reported bpp): the seed compares codecs at matched rates, and a low-rate learned setting
    held against a high-rate classical one would compare the rates, not the codecs."""
    bpp = m.bpp[:, 0]
    return [(i, min(classic, key=lambda k: abs(np.log(bpp[k] / bpp[i])))) for i in m.learned]


def _value(e: Estimate, f: str = ".2f") -> str:
    return f"{e.value:{f}} [{e.low:{f}}, {e.high:{f}}]"


CLAIMS = Claims("spectral")


@CLAIMS.claim("error-in-high-band")
def error_in_high_band(config: SpectralConfig, a: dict) -> Finding:
    def measure(m: Measured, classic: list[int]) -> _Checked:
        hi, sh = BANDS.index("high"), m.d_share
        top = lambda i: sh[i, hi] - sh[i, :hi].max(axis=0)  # noqa: E731  high over the larger other
        apart = tuple((f"{m.labels[i]} minus {m.labels[j]} high-band share of D",
                       sh[i, hi] - sh[j, hi]) for i, j in _nearest(m, classic))
        own = (tuple((f"{m.labels[i]} high-band share of D minus its largest other", top(i))
                     for i in m.learned)
               + tuple((f"{m.labels[j]} largest other share of D minus its high-band share",
                        -top(j)) for j in classic))
        text = ("high-band share of D: " + ", ".join(
            f"{m.labels[i]} {_value(estimate_draws(sh[i, hi]))}" for i in m.learned + classic)
            + f"; {_tally(apart, 'learned above classical at the nearest rate')} pairs; "
            + f"{_tally(own, 'high the largest share (learned) or not (classical)')} settings")
        return _Checked(text, sign_verdict(_signs(apart + own)), apart + own)
    return _against(a, measure,
                    "two parts, each case from a 95% interval: every learned setting's high-band "
                    "share of D above that of the {classical} setting nearest in clean bpp (pairs "
                    "chosen on the reported bpp), and "
                    "the high band the largest share for every learned setting and not for any "
                    "{classical} one (high minus the larger other share); reproduced if every "
                    "case lies beyond zero in the claimed direction, partly if some do, not "
                    "reproduced if none does and some lie the other way, within noise otherwise.")


@CLAIMS.claim("generalise-to-low-mid")
def generalise_to_low_mid(config: SpectralConfig, a: dict) -> Finding:
    def measure(m: Measured, classic: list[int]) -> _Checked:
        cases = tuple((f"{m.labels[i]} G/D high minus {g}", m.g["high"][i] - m.g[g][i])
                      for i in m.learned for g in ("low", "mid"))
        text = ("; ".join(f"{m.labels[i]}: low {m.g['low'][i, 0]:.2f}, mid {m.g['mid'][i, 0]:.2f}, "
                          f"high {m.g['high'][i, 0]:.2f}" for i in m.learned)
                + f"; {_tally(cases, 'high above low or mid')} cases")
        return _Checked(text, sign_verdict(_signs(cases)), cases)
    return _against(a, measure,
                    "per learned setting, the error ratio G/D on the high group minus that on the "
                    "low and on the mid groups, each from a 95% interval: reproduced if all lie "
                    "above zero, partly if some do, not reproduced if none does and some lie "
                    "below, within noise otherwise (this claim involves no classical codec).")


@CLAIMS.claim("denoise-high-better")
def denoise_high_better(config: SpectralConfig, a: dict) -> Finding:
    def measure(m: Measured, classic: list[int]) -> _Checked:
        bpp, pairs = m.bpp[:, 0], _nearest(m, classic)
        cases = tuple((f"{m.labels[i]} minus {m.labels[j]} R on the high group (dB)",
                       m.r["high"][i] - m.r["high"][j]) for i, j in pairs)
        text = "; ".join(f"{m.labels[i]} ({bpp[i]:.2f} bpp) vs {m.labels[j]} ({bpp[j]:.2f} bpp): "
                         f"{_value(estimate_draws(d), '+.2f')} dB on the high group"
                         for (i, j), (_, d) in zip(pairs, cases))
        return _Checked(text, sign_verdict(_signs(cases)), cases)
    return _against(a, measure,
                    "each learned setting against the {classical} setting nearest in clean bpp "
                    "(pairs chosen on the reported bpp): its PSNR gain against the clean image on the "
                    "high group (R) minus the classical one's, from a 95% interval: reproduced if "
                    "every pair lies above zero, partly if some do, not reproduced if none does "
                    "and some lie below, within noise otherwise.")


def arguments(parser) -> None:
    parser.add_argument("--dataset", default=None,
                        help="the test split corrupted and coded (default: the profile's, kodak)")
    parser.add_argument("--codecs", default=None,
                        help="comma-separated families to measure, of the profile's "
                             "(jpeg2000,jpeg,bls,bmshj)")


def configure(config: SpectralConfig, args) -> SpectralConfig:
    if args.dataset:
        config = replace(config, dataset=args.dataset,
                         codec_dataset="photos" if args.dataset == "kodak" else args.dataset)
    if args.codecs:
        wanted = [c.strip() for c in args.codecs.split(",") if c.strip()]
        known = [f for f, _ in config.rates]
        for c in wanted:
            get_family(c)  # an unknown name: one line
            if c not in known:
                raise BenchError(f"--codecs: {c!r} has no rates in this profile "
                                 f"(it has {', '.join(known)})")
        config = replace(config, rates=tuple(r for r in config.rates if r[0] in wanted))
    return config


@register_study("spectral", title="Spectral measures of codecs on Kodak-C (seed 002)",
                papers=("002",), config=SpectralConfig,
                profiles={
                    # scikit-image's photographs ship with the package: no data to fetch
                    "ci": SpectralConfig(images=1, crop=64, severities=(3,),
                                         rates=(("jpeg2000", (0.5,)), ("jpeg", (10, 50)),
                                                ("bls", (0.01,)), ("bmshj", (0.01,))),
                                         codec="N=16,M=24,patch=64,steps=20,batch_size=4",
                                         dataset="skimage", codec_dataset="skimage",
                                         corruptions=("gaussian_noise", "fog", "defocus_blur")),
                    "cpu": SpectralConfig(images=12, crop=256, severities=(1, 3, 5),
                                          rates=CPU_RATES,
                                          codec="")},  # the photograph recipe
                summarize=summarize, claims=CLAIMS, arguments=arguments, configure=configure,
                description="D, G and R spectra of JPEG 2000, JPEG and learned codecs on Kodak-C")
def compute(config: SpectralConfig, ctx: StudyContext) -> dict[str, np.ndarray]:
    if config.crop and config.crop < MAP_SIDE:
        raise BenchError(f"spectral: crop must be 0 or at least {MAP_SIDE} px, got {config.crop}")
    test = load_dataset(config.dataset, "test", ctx.data_root).head(config.images)
    cs = ensure_corrupted(test, ctx.data_root, config.images, config.corruptions,
                          config.severities, config.seed, ctx.device, ctx.progress)
    clean = _crop(test.images, config.crop)
    corrupted = {c: [_crop(cs.images(c, s), config.crop) for s in config.severities]
                 for c in config.corruptions}
    grid = settings(config)
    n_s, n_c, n = len(grid), len(config.corruptions), len(clean)
    side = clean.shape[1:3]
    # every measure per test image (the last axis), so the verdicts get image-bootstrap
    # intervals; corrupted measures are the mean over severities
    out = {"setting": np.array([setting_label(f, p) for f, p in grid], dtype=np.str_),
           "corruption": np.array(config.corruptions, dtype=np.str_),
           "n_images": np.array([n]),
           "bpp_clean": np.zeros((n_s, n)), "bpp": np.zeros((n_s, n_c, n)),
           "d_band": np.zeros((n_s, n, 3)), "g_band": np.zeros((n_s, n_c, n, 3)),
           "r_band": np.zeros((n_s, n_c, n, 3)), "d_mse": np.zeros((n_s, n)),
           "g_mse": np.zeros((n_s, n_c, n)), "r_mse": np.zeros((n_s, n_c, n)),
           "input_mse": np.zeros((n_c, n)),
           "d_map": np.zeros((n_s, MAP_SIDE, MAP_SIDE), np.float32),
           "g_map": np.zeros((n_s, n_c, MAP_SIDE, MAP_SIDE), np.float32),
           "r_map": np.zeros((n_s, n_c, MAP_SIDE, MAP_SIDE), np.float32)}
    pixels = float(np.prod(side))
    for k, c in enumerate(config.corruptions):
        out["input_mse"][k] = np.mean([_mse(x, clean) for x in corrupted[c]], axis=0)
    actx = AugmentContext(config.codec_dataset, ctx.data_root, ctx.device, ctx.progress,
                          parse_overrides(config.codec))
    with tqdm(total=n_s * (1 + n_c), desc="spectral", unit="set",
              disable=not ctx.progress or None) as bar:
        for i, (family, param) in enumerate(grid):
            fam = get_family(family)
            res = fam.fn(clean, param, [None] * len(clean), actx)
            d = magnitude(res.images, clean)
            out["bpp_clean"][i] = np.asarray(res.bits, dtype=np.float64) / pixels
            out["d_band"][i], out["d_map"][i] = band_density(d), small_map(d.mean(axis=0))
            out["d_mse"][i] = _mse(res.images, clean)
            bar.update(1)
            for k, c in enumerate(config.corruptions):
                g, r, bits, g_mse, r_mse = 0.0, 0.0, [], [], []
                for x in corrupted[c]:  # one array per severity, averaged over them
                    rec = fam.fn(x, param, [None] * len(x), actx)
                    g = g + magnitude(rec.images, x) / len(config.severities)
                    r = r + magnitude(rec.images, clean) / len(config.severities)
                    bits.append(np.asarray(rec.bits, dtype=np.float64) / pixels)
                    g_mse.append(_mse(rec.images, x))
                    r_mse.append(_mse(rec.images, clean))
                out["g_band"][i, k], out["r_band"][i, k] = band_density(g), band_density(r)
                out["g_map"][i, k] = small_map(g.mean(axis=0))
                out["r_map"][i, k] = small_map(r.mean(axis=0))
                out["bpp"][i, k] = np.mean(bits, axis=0)
                out["g_mse"][i, k] = np.mean(g_mse, axis=0)
                out["r_mse"][i, k] = np.mean(r_mse, axis=0)
                bar.update(1)
    return out


def _mse(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Per image of two uint8 (N, H, W, C) batches, on [0, 1]."""
    return np.mean(((a.astype(np.float64) - b.astype(np.float64)) / 255) ** 2, axis=(1, 2, 3))
