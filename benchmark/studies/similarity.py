"""Augmentation-corruption similarity (Mintun et al., NeurIPS 2021): does a gain on a
corruption track how similar the training augmentation is to it, and what is left on
CIFAR-10-C-bar, the corruptions chosen far from CIFAR-10-C?

The feature space is the penultimate layer (the input of its last linear layer) of the
``baseline`` submission's classifier of the profile, its first seed: a network trained on
clean data, as theirs. A transform's feature is its mean feature shift over a set of
images, f_t = mean_i f(t(x_i)) - mean_i f(x_i). Corruptions: every (corruption, severity) of
the C and C-bar test sets the run reports were evaluated on (those very images).
Augmentations: each submission's training data at its held-out BDA pick, over the first
``train_images`` of the images it trained on; one transform per member parameter (a union
such as ``bls_top2`` has two); an online family (AugMix, ...) and an online stage on top of a
codec (``jpeg_augmix``) by one draw per image, what one epoch sees. MSD(a, c) = min over a's members of ||f_a - f_c||; a
corruption's MSD is the mean over its severities. Gains are the run reports' own per-image
outcomes at that pick against the baseline's (error reduction, in points), on the same
images and seeds, with the leaderboard's paired bootstrap.

Where this differs from theirs: they sample 100k random augmentation parameters and keep the
nearest; a codec at one quality is one deterministic transform, and a random family (noise)
is averaged over its draws, so its MSD is their MMD. They take both shifts on the same 100
training images; here augmentations on training images and corruptions on the test images
the reports used, each shift from its own clean mean. The network is a small CNN, not a
WRN-40-2. The MSD itself is a point estimate (2000 test images); intervals come from the
gains.

**Look-alikes**, decided by measurement: corruption c resembles augmentation a when the
augmented and the corrupted images are nearer each other than either is to the clean ones,
``||f_a - f_c|| < min(||f_a||, ||f_c||)`` for some member of a and c's severity-mean shift
(the distances are in the points table). Parameter-free and symmetric: a corruption or an
augmentation that barely moves the features resembles nothing; two that move them the same
way resemble each other. The leaderboard shows corrupt accuracy without them.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import torch
from scipy import stats
from torch import nn

from corruptions.errors import DataError
from corruptions.rng import image_rngs

from ..augment import AugmentSpec, get_family
from ..augment.cache import ensure_augmented, load_augmented
from ..pipeline.inputs import load_eval_splits, prepare_eval, training_split
from ..pipeline.submission import RunSpec, load_submission
from ..scoring.reports import RunFolder
from ..scoring.selection import BASELINE, CLEAN, COMMON, cbar_mask, is_cbar
from ..scoring.statistics import beyond_noise, choice_outcomes, replicates
from .base import Claims, Finding, StudyContext, Table, not_testable, register_study
from .intervals import BOOT, estimate, estimate_draws, sign_verdict, signed_points
from .trained import BEST, resolve_param, trained_classifiers

log = logging.getLogger(__name__)

COMPRESSION = ("jpeg_aug", "jpeg2000_aug", "webp_aug", "avif_aug", "bls_aug", "bmshj_aug",
               "bls_top2", "deepaugment_bls")
REFERENCES = ("augmix", "augmix_jsd", "trivialaugment", "randaugment", "autoaugment")
COMBINATIONS = ("jpeg_augmix", "bls_augmix", "deepaugment_bls_augmix")
SHIPPED = (*COMPRESSION, *REFERENCES, *COMBINATIONS, "noise_aug", "blur_aug", "dct_aug",
           "dct_noise_aug")


@dataclass(frozen=True)
class SimilarityConfig:
    source_profile: str  # the run reports' profile, and the baseline classifier's
    submissions: tuple[str, ...] = SHIPPED  # augmentations, at their held-out BDA picks
    train_images: int = 1000  # the training images an augmentation's shift is taken over
    classifier: str = "submissions/baseline.yaml"
    compression: tuple[str, ...] = COMPRESSION  # those of ``submissions`` that compress
    references: tuple[str, ...] = REFERENCES  # the field's recipes among ``submissions``


# ----------------------------------------------------------------------------- features
@torch.inference_mode()
def penultimate(model: nn.Module, images: np.ndarray, batch: int = 1000) -> np.ndarray:
    """(N, D) float64: the input of ``model``'s last linear layer for uint8 NHWC images."""
    last = [m for m in model.modules() if isinstance(m, nn.Linear)][-1]
    found: list[torch.Tensor] = []
    hook = last.register_forward_hook(lambda m, inputs, out: found.append(inputs[0].flatten(1)))
    try:
        for start in range(0, len(images), batch):
            x = torch.from_numpy(np.array(images[start:start + batch]))  # a writable copy
            model(x.permute(0, 3, 1, 2).float().div(255))
    finally:
        hook.remove()
    return torch.cat(found).double().numpy()


def mean_feature(model: nn.Module, images: np.ndarray) -> np.ndarray:
    return penultimate(model, images).mean(axis=0)


def corruption_shifts(model: nn.Module, spec: RunSpec, ctx: StudyContext
                      ) -> tuple[list[tuple[str, int]], np.ndarray]:
    """The (corruption, severity) cells of the test sets a run of ``spec`` evaluated (C,
    then C-bar) and their mean feature shifts from the clean test images."""
    sets = prepare_eval(spec.dataset, ctx.data_root, spec.test_images, 0, spec.corruptions,
                        spec.severities, spec.corruption_seed, ctx.device, ctx.progress,
                        spec.cbar)
    test = load_eval_splits(spec.dataset, ctx.data_root, sets, spec.corruptions + spec.cbar,
                            spec.severities)[0]
    clean = mean_feature(model, test.images)
    cells, shifts = [], []
    for corruption, severity, _, images in test.sets():
        if corruption != CLEAN:
            cells.append((corruption, severity))
            shifts.append(mean_feature(model, np.asarray(images)) - clean)
    return cells, np.stack(shifts)


def augmentation_shifts(model: nn.Module, path: str, config: SimilarityConfig,
                        ctx: StudyContext) -> tuple[str, list[str], np.ndarray]:
    """A submission's held-out BDA pick, its member parameters, and each member's mean
    feature shift over the first training images."""
    spec = load_submission(path, config.source_profile)
    pick = resolve_param(spec, BEST, ctx.reports_root)
    train = training_split(spec, ctx.data_root)
    n = min(config.train_images, len(train))
    clean = mean_feature(model, np.asarray(train.images[:n]))
    members, shifts = [], []
    for member in AugmentSpec.parse(spec.family, pick).members():
        folder, _ = ensure_augmented(train, get_family(spec.family), member.values[0],
                                     ctx.data_root, progress=ctx.progress, device=ctx.device,
                                     codec=spec.codec)
        images = np.asarray(load_augmented(folder, verify=False)[0][:n])
        if spec.online is not None:  # the stage on top, one draw per image (one epoch's)
            stage = get_family(spec.online.family)
            images = stage.fn(images, spec.online.values[0],
                              image_rngs(0, f"augment:{stage.name}", 0, range(n))).images
        members.append(member.label)
        shifts.append(mean_feature(model, images) - clean)
    return pick, members, np.stack(shifts)


# ----------------------------------------------------------------------------- outcomes
def pick_outcomes(reports_root: Path, profile: str, submission: str, chosen: str,
                  corruptions: list[str]) -> tuple[tuple[int, ...], np.ndarray]:
    """(seeds, (seeds, corruptions, images) uint8): how many of each corruption's severities
    each seed's model got each test image right in, at the BDA pick ``chosen``."""
    found = RunFolder.at(reports_root, submission, profile).required_outcomes()
    parts = [choice_outcomes(*found, chosen)]
    if cbar_mask(found[0]["corruption"]).any():
        parts.append(choice_outcomes(*found, chosen, suite="cbar"))
    counts = []
    for c in corruptions:
        o = next((o for o in parts if any(k[0] == c for k in o.cells)), None)
        if o is None:
            raise DataError(f"{submission} [{profile}]: no outcomes for {c} (run it with "
                            "evaluation.cbar)")
        idx = [i for i, k in enumerate(o.cells) if k[0] == c]
        counts.append(o.correct[:, idx, :].sum(axis=1))
    return parts[0].seeds, np.stack(counts, axis=1).astype(np.uint8)


# ----------------------------------------------------------------------------- measures
def msd(a: dict, k: int) -> dict[str, float]:
    """Submission ``k``'s MSD to each corruption: its nearest member, severities averaged."""
    rows = a["distance"][a["member_of"] == k]  # (members, cells)
    nearest = rows.min(axis=0)
    return {c: float(nearest[a["corruption"] == c].mean())
            for c in dict.fromkeys(a["corruption"].tolist()) if c not in identity(a)}


def resembles(a: dict, k: int) -> np.ndarray:
    """(corruptions,) bool: whether some member m of submission ``k`` and the corruption's
    severity-mean shift are nearer each other than either is to the clean images,
    ||f_m - f_c|| < min(||f_m||, ||f_c||) (the module's rule)."""
    own = np.flatnonzero(a["member_of"] == k)
    radius = np.minimum(a["member_shift_norm"][own][:, None], a["corruption_mean_norm"][None])
    return (a["distance_to_mean"][own] < radius).any(axis=0)


def lookalikes(a: dict, k: int) -> list[str]:
    """The common corruptions submission ``k`` resembles (identities never do)."""
    return [c for c, near in zip(a["outcome_corruption"].tolist(), resembles(a, k))
            if near and c in COMMON and c not in identity(a)]


def identity(a: dict) -> set[str]:
    """Corruptions that left every test image as it was (their shift is exactly zero)."""
    zero = a["corruption_shift_norm"] == 0
    return {c for c in set(a["corruption"].tolist()) if zero[a["corruption"] == c].all()}


def corruption_gains(a: dict, k: int) -> dict[str, np.ndarray]:
    """Per corruption, submission ``k``'s accuracy minus the baseline's over its severities
    (1 + replicates: the point first, the paired bootstrap's replicates after)."""
    per_severity = len(a["severities"])
    out = {}
    for j, c in enumerate(a["outcome_corruption"].tolist()):
        diff = (a["correct"][k][:, j, :].astype(np.float64)
                - a["baseline_correct"][:, j, :]) / per_severity  # (seeds, images)
        out[c] = np.concatenate([[diff.mean()], replicates(diff, a["seeds"].tolist(), BOOT)])
    return out


def group_gain(gains: dict[str, np.ndarray], corruptions: list[str]) -> np.ndarray:
    """The gain over several corruptions (each with its severities): the mean of theirs."""
    return np.mean([gains[c] for c in corruptions], axis=0)


def correlation_draws(a: dict, k: int, gains: dict[str, np.ndarray]) -> tuple[np.ndarray, int]:
    """Spearman's rank correlation, across the corruptions (C and C-bar, identities out),
    of submission ``k``'s gain against its MSD: the point first, replicates after; and how
    many corruptions it is over."""
    distance = msd(a, k)
    names = [c for c in a["outcome_corruption"].tolist() if c in distance]
    ranked_gain = stats.rankdata(np.stack([gains[c] for c in names]), axis=0)
    ranked_d = stats.rankdata([distance[c] for c in names])
    g = ranked_gain - ranked_gain.mean(axis=0)
    d = (ranked_d - ranked_d.mean())[:, None]
    rho = (g * d).sum(axis=0) / np.sqrt((g * g).sum(axis=0) * (d * d).sum())
    return rho, len(names)


CLAIMS = Claims("similarity")
INTERVALS = ("95% intervals: the leaderboard's two-level bootstrap over training seeds and "
             "test images, paired with the baseline (MSD held at its point estimate)")


def _submissions(config: SimilarityConfig) -> list[str]:
    return list(config.submissions)


def _index(a: dict, sub: str) -> int | None:
    found = np.flatnonzero(a["submission"] == sub)
    return int(found[0]) if len(found) else None


@CLAIMS.claim("gains-track-similarity", each=_submissions)
def gains_track_similarity(config: SimilarityConfig, a: dict, sub: str) -> Finding:
    k = _index(a, sub)
    if k is None:
        return not_testable(f"{sub} not measured in this profile", "its report")
    rho, count = correlation_draws(a, k, corruption_gains(a, k))
    e = estimate(float(rho[0]), rho[1:])
    return Finding(
        f"Spearman rho of error reduction against MSD over {count} corruptions (C and "
        f"C-bar): {e.value:+.2f} [{e.low:+.2f}, {e.high:+.2f}]",
        sign_verdict([-beyond_noise(e)]),
        "reproduced if the 95% interval of rho lies below zero, not reproduced if above, "
        f"within noise if it holds zero. {INTERVALS}",
        ({"measure": f"{sub}: rank correlation of gain with MSD", "value": e.value,
          "low": e.low, "high": e.high, "submission": sub},))


def _suites(a: dict) -> tuple[list[str], list[str]]:
    """The C-bar corruptions and the common ones measured, identities left out."""
    names = [c for c in a["outcome_corruption"].tolist() if c not in identity(a)]
    return [c for c in names if is_cbar(c)], [c for c in names if c in COMMON]


def _compressing(config: SimilarityConfig) -> list[str]:
    return [s for s in config.submissions if s in config.compression]


@CLAIMS.claim("compression-gains-from-nearest", each=_compressing)
def gains_from_nearest(config: SimilarityConfig, a: dict, sub: str) -> Finding:
    k = _index(a, sub)
    if k is None:
        return not_testable(f"{sub} not measured in this profile", "its report")
    near = lookalikes(a, k)
    rest = [c for c in a["outcome_corruption"].tolist()
            if c in COMMON and c not in near and c not in identity(a)]
    if not near or not rest:
        return not_testable(f"{sub}: resembles {', '.join(near) or 'none'} of the common "
                            "corruptions", "look-alikes and other common corruptions both")
    gains = corruption_gains(a, k)
    g_near, g_rest = group_gain(gains, near), group_gain(gains, rest)
    more, on_rest = estimate(g_near[0] - g_rest[0], g_near[1:] - g_rest[1:]), estimate(
        g_rest[0], g_rest[1:])
    larger, nothing = beyond_noise(more), 1 if beyond_noise(on_rest) <= 0 else -1
    return Finding(
        f"resembles {', '.join(near)}; gain there minus on the other {len(rest)}: "
        f"{signed_points(more)} points; gain on the others: {signed_points(on_rest)} points",
        sign_verdict([larger, nothing]),
        "two parts: the gain on its look-alikes exceeds the gain on the other common "
        "corruptions (the interval of the difference above zero), and on those others it "
        "is not beyond noise above zero; reproduced if both, partly if one. " + INTERVALS)


@CLAIMS.claim("compression-keeps-gain-on-cbar", each=_compressing)
def keeps_gain_on_cbar(config: SimilarityConfig, a: dict, sub: str) -> Finding:
    k = _index(a, sub)
    if k is None:
        return not_testable(f"{sub} not measured in this profile", "its report")
    bar, common = _suites(a)
    if not bar or not common:
        return not_testable(f"{sub}: no C-bar or no common corruption measured", "both")
    gains = corruption_gains(a, k)
    g_bar, g_c = group_gain(gains, bar), group_gain(gains, common)
    on_bar, on_c = estimate(g_bar[0], g_bar[1:]), estimate(g_c[0], g_c[1:])
    return Finding(
        f"gain on C-bar ({len(bar)} corruptions): {signed_points(on_bar)} points; on the "
        f"common corruptions: {signed_points(on_c)} points",
        sign_verdict([beyond_noise(on_bar)]),
        "reproduced if the 95% interval of the C-bar gain lies above zero, not reproduced "
        f"if below, within noise if it holds zero. {INTERVALS}")


def _references(config: SimilarityConfig) -> list[str]:
    return [s for s in config.submissions if s in config.references]


def c_to_cbar_loss(a: dict, k: int) -> np.ndarray:
    """Submission ``k``'s gain on the common corruptions minus its gain on C-bar (points in
    [0, 1]; the point first, the paired replicates after): what it loses away from C."""
    bar, common = _suites(a)
    gains = corruption_gains(a, k)
    return group_gain(gains, common) - group_gain(gains, bar)


@CLAIMS.claim("references-lose-more-on-cbar")
def references_lose_more(config: SimilarityConfig, a: dict) -> Finding:
    bar, common = _suites(a)
    refs = [k for s in _references(config) if (k := _index(a, s)) is not None]
    comp = [k for s in _compressing(config) if (k := _index(a, s)) is not None]
    if not refs or not comp or not bar or not common:
        return not_testable(f"{len(refs)} reference recipe(s) and {len(comp)} compression "
                            "submission(s) measured, with C and C-bar",
                            "one of each, C and C-bar")
    loss_ref = np.mean([c_to_cbar_loss(a, k) for k in refs], axis=0)
    loss_comp = np.mean([c_to_cbar_loss(a, k) for k in comp], axis=0)
    more, r, c = (estimate(d[0], d[1:]) for d in (loss_ref - loss_comp, loss_ref, loss_comp))
    return Finding(
        f"mean loss from C to C-bar: references ({len(refs)}) {signed_points(r)} points, "
        f"compression ({len(comp)}) {signed_points(c)} points; the difference "
        f"{signed_points(more)} points",
        sign_verdict([beyond_noise(more)]),
        "reproduced if the 95% interval of the references' mean loss minus compression's "
        "lies above zero, not reproduced if below, within noise if it holds zero; every "
        "submission's loss on the same bootstrap draws. " + INTERVALS,
        ({"measure": "loss C to C-bar, references minus compression", "value": more.value,
          "low": more.low, "high": more.high},))


# ----------------------------------------------------------------------------- summary
def group_of(config: SimilarityConfig, sub: str) -> str:
    """compression (``config.compression``: the codecs, and compression DeepAugment, a
    codec's network perturbed), reference (``config.references``), combination (one of
    ``COMBINATIONS``, a codec or DeepAugment with AugMix on top) or other."""
    if sub in config.compression:
        return "compression"
    if sub in config.references:
        return "reference"
    return "combination" if sub in COMBINATIONS else "other"


def summarize(config: SimilarityConfig, a: dict) -> dict:
    verdicts, _ = CLAIMS.judge(config, a)
    names = a["outcome_corruption"].tolist()
    rows, table = [], []
    for k, sub in enumerate(a["submission"].tolist()):
        distance, gains = msd(a, k), corruption_gains(a, k)
        bar, common = _suites(a)
        rho, _ = correlation_draws(a, k, gains)
        e_c, e_bar, e_rho = (estimate(d[0], d[1:]) for d in
                             (group_gain(gains, common), group_gain(gains, bar), rho))
        rows.append({"submission": sub, "group": group_of(config, sub), "pick": str(a["pick"][k]),
                     "shift": float(a["member_shift_norm"][a["member_of"] == k].min()),
                     "lookalikes": ", ".join(lookalikes(a, k)) or "none",
                     "gain_c": e_c.value, "gain_c_low": e_c.low, "gain_c_high": e_c.high,
                     "gain_cbar": e_bar.value, "gain_cbar_low": e_bar.low,
                     "gain_cbar_high": e_bar.high, "rho": e_rho.value, "rho_low": e_rho.low,
                     "rho_high": e_rho.high})
        own = np.flatnonzero(a["member_of"] == k)
        near = dict(zip(names, resembles(a, k)))
        to_mean = dict(zip(names, a["distance_to_mean"][own].min(axis=0)))
        for j, c in enumerate(names):
            if c in distance:
                e = estimate(gains[c][0], gains[c][1:])
                table.append({"submission": sub, "corruption": c,
                              "suite": "C-bar" if is_cbar(c) else "C", "msd": distance[c],
                              "to_mean": float(to_mean[c]),
                              "shift": float(a["corruption_mean_norm"][j]),
                              "resembles": "yes" if near[c] else "no",
                              "gain": e.value, "gain_low": e.low, "gain_high": e.high})
    summary = Table(
        f"Each augmentation at its held-out BDA pick [{config.source_profile}]: its feature "
        "shift ||f_a|| (its smallest member's), the common corruptions it resembles "
        "(||f_a - f_c|| < min(||f_a||, ||f_c||)), its gain over the baseline on the "
        "common corruptions and on C-bar (points, 95% interval), and the rank correlation "
        "of its per-corruption gain with MSD.",
        (("submission", "Submission", "text"), ("group", "Group", "text"),
         ("pick", "Pick", "text"),
         ("shift", "||f_a||", "num"), ("lookalikes", "Resembles", "text"),
         ("gain_c", "Gain C", "pct"), ("gain_c_low", "95% low", "pct"),
         ("gain_c_high", "95% high", "pct"),
         ("gain_cbar", "Gain C-bar", "pct"), ("gain_cbar_low", "95% low", "pct"),
         ("gain_cbar_high", "95% high", "pct"),
         ("rho", "rho(gain, MSD)", "num"), ("rho_low", "95% low", "num"),
         ("rho_high", "95% high", "num")), rows)
    points = Table(
        "Per augmentation and corruption: MSD in the baseline classifier's penultimate "
        "features (severities averaged), the distance to the corruption's severity-mean "
        "shift and that shift's norm ||f_c|| (what the look-alike rule compares), and the "
        "gain over the baseline (points).",
        (("submission", "Submission", "text"), ("corruption", "Corruption", "text"),
         ("suite", "Suite", "text"), ("msd", "MSD", "num"),
         ("to_mean", "to mean shift", "num"), ("shift", "||f_c||", "num"),
         ("resembles", "Resembles", "text"), ("gain", "Gain", "pct"),
         ("gain_low", "95% low", "pct"), ("gain_high", "95% high", "pct")), table)
    return {"tables": {"augmentations": summary, "points": points,
                       "versus": versus_table(config, a)}, "verdicts": verdicts}


def _says(e, better: str, worse: str) -> str:
    return {1: better, -1: worse}.get(beyond_noise(e), "tied")


def versus_table(config: SimilarityConfig, a: dict) -> Table:
    """Every compression submission against every reference recipe, paired on the same
    images and seeds: its gain minus the reference's, on C and on C-bar."""
    bar, common = _suites(a)
    rows = []
    for ref in _references(config):
        r = _index(a, ref)
        for comp in _compressing(config):
            c = _index(a, comp)
            if r is None or c is None or not bar or not common:
                continue
            g_r, g_c = corruption_gains(a, r), corruption_gains(a, c)
            on_c = estimate_draws(group_gain(g_c, common) - group_gain(g_r, common))
            on_bar = estimate_draws(group_gain(g_c, bar) - group_gain(g_r, bar))
            rows.append({"compression": comp, "reference": ref,
                         "diff_c": on_c.value, "diff_c_low": on_c.low, "diff_c_high": on_c.high,
                         "says_c": _says(on_c, "compression better", "reference better"),
                         "diff_cbar": on_bar.value, "diff_cbar_low": on_bar.low,
                         "diff_cbar_high": on_bar.high,
                         "says_cbar": _says(on_bar, "compression better", "reference better")})
    return Table(
        f"Compression against the field's reference recipes [{config.source_profile}], both "
        "at their held-out BDA picks: the compression row's accuracy minus the reference's "
        "on the common corruptions and on C-bar (points, 95% interval, paired on the same "
        "images and seeds); beyond noise when the interval excludes zero.",
        (("compression", "Compression", "text"), ("reference", "Reference", "text"),
         ("diff_c", "Δ C", "pct"), ("diff_c_low", "95% low", "pct"),
         ("diff_c_high", "95% high", "pct"), ("says_c", "On C", "text"),
         ("diff_cbar", "Δ C-bar", "pct"), ("diff_cbar_low", "95% low", "pct"),
         ("diff_cbar_high", "95% high", "pct"), ("says_cbar", "On C-bar", "text")), rows)


def lookalikes_of(summary: dict) -> dict[str, tuple[str, tuple[str, ...]]]:
    """Submission -> (the pick measured, the common corruptions it resembles there), from a
    similarity study's summary (what the leaderboard leaves out of "corrupt without
    look-alikes", for an entry that chose that pick)."""
    rows = summary["tables"]["augmentations"]["rows"]
    return {r["submission"]: (r["pick"], tuple(c for c in r["lookalikes"].split(", ")
                                               if c != "none")) for r in rows}


# ----------------------------------------------------------------------------- compute
def _evaluated(reports_root: Path, submission: str, profile: str, cbar: tuple[str, ...]) -> bool:
    """Whether ``submission`` has a report of ``profile`` that evaluated every one of
    ``cbar`` (the study pairs it with the baseline on them)."""
    folder = RunFolder.at(reports_root, submission, profile)
    return folder.exists() and set(cbar) <= set(folder.summary().corruptions)

@register_study("similarity", title="Augmentation-corruption similarity (Mintun et al. 2021)",
                papers=("Mintun et al. 2021",), config=SimilarityConfig,
                profiles={"ci": SimilarityConfig("ci", ("jpeg_aug", "bls_aug", "noise_aug",
                                                        "augmix", "jpeg_augmix"),
                                                 train_images=256),
                          "cpu": SimilarityConfig("cpu")},
                summarize=summarize, claims=CLAIMS,
                description="MSD of each augmentation to each C and C-bar corruption, in the "
                            "baseline classifier's features, against its gain")
def compute(config: SimilarityConfig, ctx: StudyContext) -> dict[str, np.ndarray]:
    spec = load_submission(config.classifier, config.source_profile)
    if not spec.cbar:
        raise DataError(f"{config.classifier} [{config.source_profile}]: evaluates no C-bar "
                        "corruption (evaluation.cbar)")
    spec = replace(spec, seeds=spec.seeds[:1])
    (_, model), = trained_classifiers(spec, "-", ctx)
    cells, shifts = corruption_shifts(model, spec, ctx)
    corruptions = list(dict.fromkeys(c for c, _ in cells))
    subs, picks, owner, members, aug = [], [], [], [], []
    # a submission without a report of the profile that evaluated the classifier's C-bar
    # corruptions is left out: its claims say it was not measured
    measured = [s for s in config.submissions if _evaluated(ctx.reports_root, s,
                                                            config.source_profile, spec.cbar)]
    if missing := sorted(set(config.submissions) - set(measured)):
        log.warning("similarity [%s]: no report with C-bar of %s; left out",
                    config.source_profile, ", ".join(missing))
    for k, sub in enumerate(measured):
        pick, labels, found = augmentation_shifts(model, f"submissions/{sub}.yaml", config, ctx)
        subs.append(sub)
        picks.append(pick)
        owner += [k] * len(labels)
        members += labels
        aug.append(found)
    aug = np.concatenate(aug)
    means = np.stack([shifts[[i for i, (c, _) in enumerate(cells) if c == name]].mean(axis=0)
                      for name in corruptions])  # each corruption's severity-mean shift
    seeds, base = pick_outcomes(ctx.reports_root, config.source_profile, BASELINE, "-",
                                corruptions)
    outcomes = []
    for sub, pick in zip(subs, picks):
        sub_seeds, found = pick_outcomes(ctx.reports_root, config.source_profile, sub, pick,
                                         corruptions)
        if sub_seeds != seeds or found.shape != base.shape:
            raise DataError(f"{sub} [{config.source_profile}]: seeds {sub_seeds} on "
                            f"{found.shape[-1]} images, the baseline {seeds} on "
                            f"{base.shape[-1]}: not paired")
        outcomes.append(found)
    return {
        "corruption": np.asarray([c for c, _ in cells], dtype=np.str_),
        "severity": np.asarray([s for _, s in cells], dtype=np.int64),
        "corruption_shift_norm": np.linalg.norm(shifts, axis=1),
        "submission": np.asarray(subs, dtype=np.str_),
        "pick": np.asarray(picks, dtype=np.str_),
        "member": np.asarray(members, dtype=np.str_),
        "member_of": np.asarray(owner, dtype=np.int64),
        "member_shift_norm": np.linalg.norm(aug, axis=1),
        # (members, cells): ||f_a - f_c||; (members, corruptions): to c's severity mean
        "distance": np.linalg.norm(aug[:, None, :] - shifts[None, :, :], axis=2),
        "distance_to_mean": np.linalg.norm(aug[:, None, :] - means[None, :, :], axis=2),
        "corruption_mean_norm": np.linalg.norm(means, axis=1),
        "outcome_corruption": np.asarray(corruptions, dtype=np.str_),
        "severities": np.asarray(sorted(set(int(s) for _, s in cells)), dtype=np.int64),
        "seeds": np.asarray(seeds, dtype=np.int64),
        "baseline_correct": base,                # (seeds, corruptions, images)
        "correct": np.stack(outcomes),           # (submissions, seeds, corruptions, images)
    }
