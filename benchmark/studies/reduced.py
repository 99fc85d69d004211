"""Thesis 003, Fig 3.6: fewer parameters and compressed data.

The thesis trains VGG11 and its reduced-parameter variants (Table 3.2) on the original
images and on BLS-compressed ones (lambda 0.012, 0.033, 0.05, 0.1), testing each model on
test images compressed to the same extent (``evaluation.transform``). It reports accuracy and
the percent change in accuracy as parameters are removed, and reads the second as "the
percent decrease with compressed data is comparable to, if not less than, with original
data". The two arms are the model sweeps ``reduced_vgg`` (original) and ``reduced_vgg_bls``
(compressed); this study reads their run reports (their summaries and per-image clean
outcomes), so ``bench verify`` checks every number it starts from. Both verdicts judge on the
leaderboard's paired bootstrap: a gap is claimed only where its 95% interval excludes zero
(or, for "comparable to", a margin fixed in advance).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..datasets import load_dataset
from ..models import count_parameters, create_model
from ..pipeline.submission import load_submissions
from ..scoring.statistics import beyond_noise
from .base import Claims, Finding, StudyContext, Table, not_testable, register_study
from .intervals import (
    ABOVE_MARGIN,
    ABOVE_ZERO,
    BOOT,
    Cases,
    estimate,
    measure_row,
    measures_table,
    sign_verdict,
)
from .points import accuracy_replicates, clean_outcomes, gather

ORIGINAL = "original"


@dataclass(frozen=True)
class ReducedConfig:
    source_profile: str
    original: str = "submissions/reduced_vgg.yaml"      # the sweep on the original images
    compressed: str = "submissions/reduced_vgg_bls.yaml"  # the sweep trained+tested compressed


def data_label(family: str, param: str) -> str:
    return ORIGINAL if family == "none" else f"{family} {param}"


def percent_change(a: dict, values: np.ndarray | None = None) -> np.ndarray:
    """Per entry: its clean accuracy's percent change from the largest model's on the same
    data (the thesis' "percent change in accuracy", 0 for the largest model itself); of
    ``values`` (entries, ...) instead of the clean accuracy when given (its replicates)."""
    values = a["clean_acc"] if values is None else values
    out = np.full(values.shape, np.nan)
    for d in np.unique(a["data"]):
        m = np.flatnonzero(a["data"] == d)
        ref = m[np.argmax(a["parameters"][m])]
        with np.errstate(divide="ignore", invalid="ignore"):  # a replicate at 0% (ci)
            out[m] = 100 * (values[m] - values[ref]) / values[ref]
    return out


def _data(a: dict) -> list[str]:
    return list(dict.fromkeys(a["data"]))


def _models(a: dict) -> list[str]:
    """Largest first."""
    return list(dict.fromkeys(str(m) for m in a["model"][np.argsort(-a["parameters"], kind="stable")]))


def _at(a: dict, model: str, d: str) -> int | None:
    m = np.flatnonzero((a["model"] == model) & (a["data"] == d))
    return int(m[0]) if len(m) else None


MARGIN = 1.0  # "comparable to": a non-inferiority margin of one percent, fixed in advance
PAIRED = ("two-level bootstrap over the training seeds and the test images, every entry on the "
          "same draws (the compressed arm is tested on the same images, coded), so differences "
          "are paired")
INTERVALS = f"95% intervals: {PAIRED}"


CLAIMS = Claims("reduced-models")


@CLAIMS.claim("original-above-compressed")
def original_above_compressed(config: ReducedConfig, a: dict) -> Finding:
    reps = accuracy_replicates(a, BOOT)
    compressed = [d for d in _data(a) if d != ORIGINAL]
    cases = Cases()
    for model in _models(a):
        o = _at(a, model, ORIGINAL)
        if o is None:
            continue
        found = []
        for d in compressed:
            c = _at(a, model, d)
            if c is None:
                continue
            e = estimate(float(a["clean_acc"][o] - a["clean_acc"][c]), reps[o] - reps[c])
            cases.measures.append(measure_row(f"{model}: original minus {d} clean accuracy", e,
                                              points=1))
            found.append(beyond_noise(e))
        cases.signs += found
        if found:
            cases.parts.append(f"{model}: original {100 * a['clean_acc'][o]:.2f}%, above beyond "
                               f"noise at {found.count(1)} of {len(found)} rates, below at "
                               f"{found.count(-1)}")
    return cases.finding(
        "no model in both arms",
        f"per (model, rate), the original minus the compressed data's clean accuracy: {ABOVE_ZERO} "
        f"{INTERVALS}")


@CLAIMS.claim("compressed-loses-no-faster")
def compressed_loses_no_faster(config: ReducedConfig, a: dict) -> Finding:
    models = _models(a)
    smallest, largest = (models[-1], models[0]) if models else (None, None)
    o = _at(a, smallest, ORIGINAL) if smallest else None
    if o is None:
        return not_testable("no original-data run of the smallest model",
                            "needs both arms' smallest and largest models")
    change = percent_change(a)
    reps = percent_change(a, accuracy_replicates(a, BOOT))
    cases = Cases()
    for d in _data(a):
        c = _at(a, smallest, d) if d != ORIGINAL else None
        if c is None:
            continue
        # the compressed change minus the original's: above zero, compressed data lose less
        e = estimate(float(change[c] - change[o]), reps[c] - reps[o])
        cases.add(f"{smallest}: {d} minus original percent change", e,
                  f"{d}: {change[c]:+.2f}% ({e.value:+.2f} [{e.low:+.2f}, {e.high:+.2f}] against "
                  "the original)", -MARGIN, points=1)
    return Finding(
        f"{smallest} against {largest}: original {change[o]:+.2f}%; " + ", ".join(cases.parts),
        sign_verdict(cases.signs),
        "per rate, the smallest model's percent change from the largest on compressed data "
        f"minus that on the original data; non-inferiority with a margin of {MARGIN:.0f}% "
        f"fixed in advance: {ABOVE_MARGIN} {INTERVALS}", tuple(cases.measures))


@CLAIMS.claim("resnet18-loses-faster-on-original")
def resnet18_loses_faster(config: ReducedConfig, a: dict) -> Finding:
    return not_testable("the ResNet18 sweep is not run here (resnet18_1..4 are registered; a "
                        "sweep like reduced_vgg over them runs it)",
                        "needs the ResNet18 sweep's reports")


def summarize(config: ReducedConfig, a: dict) -> dict:
    change, data = percent_change(a), _data(a)
    rows = []
    for i in np.lexsort((np.array([data.index(d) for d in a["data"]]), -a["parameters"])):
        rows.append({"model": str(a["model"][i]), "parameters": int(a["parameters"][i]),
                     "data": str(a["data"][i]),
                     "bpp": None if np.isnan(a["bpp"][i]) else float(a["bpp"][i]),
                     "clean_acc": float(a["clean_acc"][i]),
                     "clean_acc_std": float(a["clean_acc_std"][i]),
                     "change": float(change[i]),
                     "corrupt_acc": None if np.isnan(a["corrupt_acc"][i]) else float(a["corrupt_acc"][i])})
    table = Table(
        "Each model trained and tested on one data set: the original images, or BLS at one "
        "rate with the test images compressed the same way; change = percent change of the "
        "clean accuracy from the largest model's on the same data (Fig 3.6, right); corrupt = "
        "the run's corruptions, passed through the same codec (mean over seeds).",
        (("model", "Model", "text"), ("parameters", "Parameters", "int"), ("data", "Data", "text"),
         ("bpp", "Training bpp", "bpp"), ("clean_acc", "Clean %", "pct"),
         ("clean_acc_std", "± std", "pct"), ("change", "Change %", "num"),
         ("corrupt_acc", "Corrupt %", "pct")),
        rows)
    verdicts, measures = CLAIMS.judge(config, a)
    return {"tables": {"models": table, "measures": measures_table(measures, PAIRED)},
            "verdicts": verdicts}


@register_study("reduced-models", title="Fewer parameters and compressed data (thesis Fig 3.6)",
                papers=("003 Fig 3.6",), config=ReducedConfig,
                profiles={"ci": ReducedConfig("ci"), "cpu": ReducedConfig("cpu")},
                summarize=summarize, from_reports=True, claims=CLAIMS,
                description="VGG11 variants trained and tested on original or compressed data, "
                            "from run reports")
def compute(config: ReducedConfig, ctx: StudyContext) -> dict[str, np.ndarray]:
    specs = [*load_submissions(config.original, config.source_profile),
             *load_submissions(config.compressed, config.source_profile)]
    ids = tuple(s.id for s in specs)
    a = {**gather(ctx.reports_root, config.source_profile, ids),
         **clean_outcomes(ctx.reports_root, config.source_profile, ids)}
    test = load_dataset(specs[0].dataset, "test", ctx.data_root)
    counts = {s.model: count_parameters(create_model(s.model, test.channels, len(test.classes),
                                                     test.images.shape[1])) for s in specs}
    model_of = {s.id: s.model for s in specs}
    a["model"] = np.array([model_of[s] for s in a["submission"]], dtype=np.str_)
    a["parameters"] = np.array([counts[m] for m in a["model"]], dtype=np.float64)
    a["data"] = np.array([data_label(f, p) for f, p in zip(a["family"], a["param"])], dtype=np.str_)
    return a
