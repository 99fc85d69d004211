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
the benchmark's photograph recipe (``zoo.photo_recipe``), or the config's recipe overrides. The seed compares learned codecs with JPEG 2000, so the
verdicts do too (its classical anchor); JPEG is measured beside it, and each verdict says
what it would be against JPEG.
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
from .base import Claims, Finding, StudyContext, Table, count_verdict, register_study

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
    """Mean |DFT2(a - b)| over images and channels of uint8 (N, H, W, C) batches, on [0, 1],
    in ``np.fft.fftfreq`` order."""
    d = (a.astype(np.float32) - b.astype(np.float32)) / 255
    return torch.fft.fft2(torch.from_numpy(d), dim=(1, 2)).abs().mean(dim=(0, 3)).double().numpy()


def band_density(m: np.ndarray) -> np.ndarray:
    """Mean magnitude per bin of the low, mid and high bands."""
    band = band_map(*m.shape)
    return np.array([m[band == k].mean() for k in range(len(BANDS))])


def small_map(m: np.ndarray, side: int = MAP_SIDE) -> np.ndarray:
    """Centred (DC in the middle) and block-averaged to ``side`` x ``side``, float32."""
    c = np.fft.fftshift(m)
    kh, kw = c.shape[0] // side, c.shape[1] // side
    c = c[: kh * side, : kw * side]
    return c.reshape(side, kh, side, kw).mean(axis=(1, 3)).astype(np.float32)


def shares(density: np.ndarray) -> np.ndarray:
    return density / density.sum(axis=-1, keepdims=True)


def group_of(corruption: str) -> str:
    return PUBLISHED_BANDS.get(corruption, "extra")


def _generalisation(a: dict) -> list[dict]:
    """Per setting: G (error ratio corrupted/clean) and R (PSNR gained against the clean
    image) per published group, and the bpp shift."""
    corr = [str(c) for c in a["corruption"]]
    groups = {g: np.array([group_of(c) == g for c in corr]) for g in BANDS}
    rows = []
    for i, s in enumerate(str(x) for x in a["setting"]):
        ratio = a["g_mse"][i] / a["d_mse"][i]  # error on corrupted inputs over clean ones
        gain = 10 * np.log10(a["input_mse"] / a["r_mse"][i])  # PSNR vs clean: gained by coding
        rows.append({"setting": s, **{f"g_{g}": float(ratio[m].mean()) for g, m in groups.items()},
                     **{f"r_{g}": float(gain[m].mean()) for g, m in groups.items()},
                     "bpp_shift": float(np.mean(a["bpp"][i] / a["bpp_clean"][i]))})
    return rows


def summarize(config: SpectralConfig, a: dict) -> dict:
    d_share = shares(a["d_band"])
    rows = [{"setting": str(s), "bpp": float(a["bpp_clean"][i]),
             "psnr": float(10 * np.log10(1 / a["d_mse"][i])),
             **{f"d_{b}": float(d_share[i, k]) for k, b in enumerate(BANDS)}}
            for i, s in enumerate(a["setting"])]
    gen_rows = _generalisation(a)
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
            gen_rows)}

    verdicts, _ = CLAIMS.judge(config, a)
    return {"tables": tables, "verdicts": verdicts}


ANCHOR = "jpeg2000"  # seed 002 compares learned codecs with JPEG 2000
NAMES = {"jpeg2000": "JPEG 2000", "jpeg": "JPEG", "webp": "WebP", "avif": "AVIF"}


@dataclass(frozen=True)
class _Measured:
    """What the claims read: settings, D shares, G/R rows and clean bpp, by index."""

    labels: list[str]
    d_share: np.ndarray
    gen_rows: list[dict]
    bpp: np.ndarray
    learned: list[int]


def _against(a: dict, measure, rule: str) -> Finding:
    """``measure(m, classical indices) -> (measured, verdict)`` against the seed's classical
    codec (JPEG 2000; else the first measured), the other classical codecs beside it."""
    labels = [str(s) for s in a["setting"]]
    fam = [s.split(":")[0] for s in labels]
    learned = [i for i, f in enumerate(fam) if f in LEARNED]
    classical = list(dict.fromkeys(f for f in fam if f not in LEARNED))
    if not learned or not classical:
        return Finding("needs a learned and a classical codec", "not testable here",
                       "needs both kinds of codec")
    m = _Measured(labels, shares(a["d_band"]), _generalisation(a), a["bpp_clean"], learned)
    anchor = ANCHOR if ANCHOR in classical else classical[0]
    found = {f: measure(m, [i for i, g in enumerate(fam) if g == f]) for f in classical}
    name = NAMES.get(anchor, anchor)
    beside = "".join(f"; beside it, against {NAMES.get(f, f)}: {found[f][0]} "
                     f"(would be {found[f][1]})" for f in classical if f != anchor)
    which = (" The verdict is against JPEG 2000, the seed's classical codec; " if anchor == ANCHOR
             else f" JPEG 2000 was not measured: the verdict is against {name}; ")
    return Finding(f"against {name}: {found[anchor][0]}{beside}", found[anchor][1],
                   rule.format(classical=name) + which
                   + "the other classical codecs are shown beside it.")


CLAIMS = Claims()


@CLAIMS.claim("error-in-high-band", paper="002 section 5 (D)",
              claim="Learned codecs put their error in the high frequencies; a classical codec "
                    "(JPEG 2000 in the seed) distorts low and mid frequencies more.",
              reported="NIC: high > mid > low; JPEG2000: the opposite (Kodak, CLIC)")
def error_in_high_band(config: SpectralConfig, a: dict) -> Finding:
    def measure(m: _Measured, classic: list[int]) -> tuple[str, str]:
        hi, learned = BANDS.index("high"), m.learned
        l_top = [BANDS[int(np.argmax(m.d_share[i]))] for i in learned]
        c_top = [BANDS[int(np.argmax(m.d_share[i]))] for i in classic]
        apart = float(m.d_share[learned, hi].min()) > float(m.d_share[classic, hi].max())
        own = all(t == "high" for t in l_top) and all(t != "high" for t in c_top)
        return ("high-band share of D: " + ", ".join(f"{m.labels[i]} {m.d_share[i, hi]:.2f}"
                                                     for i in learned + classic),
                "reproduced" if apart and own else "partly" if apart or own else "not reproduced")
    return _against(a, measure,
                    "reproduced if every learned setting's largest D share is the high band, no "
                    "{classical} setting's is, and every learned high share exceeds every "
                    "{classical} one; partly if one of the two holds.")


@CLAIMS.claim("generalise-to-low-mid", paper="002 section 6 (G)",
              claim="Learned codecs generalise better to low- and mid-frequency shifts than to "
                    "high-frequency ones.",
              reported="G small for low/mid corruptions, large for high")
def generalise_to_low_mid(config: SpectralConfig, a: dict) -> Finding:
    def measure(m: _Measured, classic: list[int]) -> tuple[str, str]:
        g = {i: m.gen_rows[i] for i in m.learned}
        better = [i for i in m.learned if max(g[i]["g_low"], g[i]["g_mid"]) < g[i]["g_high"]]
        return ("; ".join(f"{m.labels[i]}: low {g[i]['g_low']:.2f}, mid {g[i]['g_mid']:.2f}, "
                          f"high {g[i]['g_high']:.2f}" for i in m.learned),
                count_verdict(len(better), len(m.learned)))
    return _against(a, measure,
                    "per learned setting, the error ratio G/D on the low and the mid groups must "
                    "both be below the high group's: reproduced if every setting, partly if some "
                    "(this claim involves no classical codec).")


@CLAIMS.claim("denoise-high-better", paper="002 section 6 (R)",
              claim="Learned codecs denoise high-frequency corruptions better than a classical "
                    "codec.",
              reported="NIC's PSNR against the clean image higher than JPEG2000's")
def denoise_high_better(config: SpectralConfig, a: dict) -> Finding:
    def measure(m: _Measured, classic: list[int]) -> tuple[str, str]:
        pairs = []
        for i in m.learned:  # each learned setting against the classical one nearest in bpp
            j = min(classic, key=lambda k: abs(np.log(m.bpp[k] / m.bpp[i])))
            pairs.append((i, j, m.gen_rows[i]["r_high"] - m.gen_rows[j]["r_high"]))
        won = [p for p in pairs if p[2] > 0]
        return ("; ".join(f"{m.labels[i]} ({m.bpp[i]:.2f} bpp) vs {m.labels[j]} "
                          f"({m.bpp[j]:.2f} bpp): {diff:+.2f} dB on the high group"
                          for i, j, diff in pairs),
                count_verdict(len(won), len(pairs)))
    return _against(a, measure,
                    "each learned setting against the {classical} setting nearest in clean bpp: "
                    "its PSNR gain against the clean image on the high group (R) must be larger; "
                    "reproduced if for every pair, partly if some.")


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
    n_s, n_c = len(grid), len(config.corruptions)
    side = clean.shape[1:3]
    out = {"setting": np.array([setting_label(f, p) for f, p in grid], dtype=np.str_),
           "corruption": np.array(config.corruptions, dtype=np.str_),
           "n_images": np.array([len(clean)]),
           "bpp_clean": np.zeros(n_s), "bpp": np.zeros((n_s, n_c)),
           "d_band": np.zeros((n_s, 3)), "g_band": np.zeros((n_s, n_c, 3)),
           "r_band": np.zeros((n_s, n_c, 3)), "d_mse": np.zeros(n_s),
           "g_mse": np.zeros((n_s, n_c)), "r_mse": np.zeros((n_s, n_c)),
           "input_mse": np.zeros(n_c),
           "d_map": np.zeros((n_s, MAP_SIDE, MAP_SIDE), np.float32),
           "g_map": np.zeros((n_s, n_c, MAP_SIDE, MAP_SIDE), np.float32),
           "r_map": np.zeros((n_s, n_c, MAP_SIDE, MAP_SIDE), np.float32)}
    pixels = float(np.prod(side))
    for k, c in enumerate(config.corruptions):
        out["input_mse"][k] = np.mean([_mse(x, clean) for x in corrupted[c]])
    actx = AugmentContext(config.codec_dataset, ctx.data_root, ctx.device, ctx.progress,
                          parse_overrides(config.codec))
    with tqdm(total=n_s * (1 + n_c), desc="spectral", unit="set",
              disable=not ctx.progress or None) as bar:
        for i, (family, param) in enumerate(grid):
            fam = get_family(family)
            res = fam.fn(clean, param, [None] * len(clean), actx)
            d = magnitude(res.images, clean)
            out["bpp_clean"][i] = float(np.mean(res.bits)) / pixels
            out["d_band"][i], out["d_map"][i] = band_density(d), small_map(d)
            out["d_mse"][i] = _mse(res.images, clean)
            bar.update(1)
            for k, c in enumerate(config.corruptions):
                g, r, bits, g_mse, r_mse = 0.0, 0.0, [], [], []
                for x in corrupted[c]:  # one array per severity, averaged over them
                    rec = fam.fn(x, param, [None] * len(x), actx)
                    g = g + magnitude(rec.images, x) / len(config.severities)
                    r = r + magnitude(rec.images, clean) / len(config.severities)
                    bits.append(np.mean(rec.bits) / pixels)
                    g_mse.append(_mse(rec.images, x))
                    r_mse.append(_mse(rec.images, clean))
                out["g_band"][i, k], out["r_band"][i, k] = band_density(g), band_density(r)
                out["g_map"][i, k], out["r_map"][i, k] = small_map(g), small_map(r)
                out["bpp"][i, k] = float(np.mean(bits))
                out["g_mse"][i, k], out["r_mse"][i, k] = np.mean(g_mse), np.mean(r_mse)
                bar.update(1)
    return out


def _mse(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.mean(((a.astype(np.float64) - b.astype(np.float64)) / 255) ** 2))
