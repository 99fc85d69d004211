"""Seed 004, Table III: the storage a compressed training set takes against the accuracy a
classifier keeps when trained on it.

"Original size" is the training images as PNG files, one per image (what a folder of the
dataset takes on disk; seed 004 measured image folders). Compressed sizes are the files as
stored: JPEG files with their headers and tables, a learned codec's bitstreams (the latents
a user would keep, decoder aside), both from the run reports (``inputs.data_stats``). The
payload alone (entropy-coded bits) is shown beside it, since on 28 px images a JPEG file is
mostly headers.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..scoring.reports import report_summary
from .base import Claims, Finding, StudyContext, Table, not_testable, register_study
from .points import gather, rows_of

CODECS = ("jpeg", "bls", "bmshj")
PAPER_SIZES = (0.1377, 0.3469)  # Table III: relative size of the JPEG sets, min and max
PAPER_KEPT = 0.9898  # Table III: relative accuracy kept on every set but CIFAR-10/100


@dataclass(frozen=True)
class StorageConfig:
    source_profile: str
    submissions: tuple[str, ...] = ("baseline", "jpeg_aug", "bls_aug", "bmshj_aug")
    kept: float = PAPER_KEPT  # "negligible drop": this share of the original accuracy kept


def smallest_kept(a: dict, family: str, base_acc: float, kept: float) -> int | None:
    """Index of the family's smallest set (as stored) whose clean accuracy keeps ``kept`` of
    the original's, or None."""
    m = np.flatnonzero((a["family"] == family) & (a["clean_acc"] >= kept * base_acc)
                       & ~np.isnan(a["relative_size"]))
    return None if not len(m) else int(m[np.argmin(a["relative_size"][m])])


def _base_acc(a: dict) -> float | None:
    base = np.flatnonzero(a["family"] == "none")
    return float(a["clean_acc"][base[0]]) if len(base) else None


def _rows(a: dict) -> list[dict]:
    base_acc = _base_acc(a)
    rows = rows_of(a)
    for r in rows:
        r["payload_relative"] = (None if r["bytes"] is None or a["original_png"][0] <= 0
                                 else r["bytes"] / float(a["original_png"][0]))
        r["accuracy_kept"] = (None if base_acc is None else r["clean_acc"] / base_acc)
    return rows


def _picks(config: StorageConfig, a: dict) -> list[dict]:
    """Per codec: its smallest set keeping the accuracy, and the held-out BDA pick."""
    base_acc, rows, out = _base_acc(a), _rows(a), []
    if base_acc is None:
        return out
    for family in CODECS:
        i = smallest_kept(a, family, base_acc, config.kept)
        chosen = np.flatnonzero((a["family"] == family) & (a["chosen"] == 1))
        for what, idx in (("smallest set keeping the accuracy", i),
                          ("held-out BDA pick", int(chosen[0]) if len(chosen) else None)):
            if idx is None:
                continue
            out.append({"family": family, "which": what, "param": str(a["param"][idx]),
                        "relative_size": float(a["relative_size"][idx]),
                        "payload_relative": rows[idx]["payload_relative"],
                        "accuracy_kept": float(a["clean_acc"][idx]) / base_acc})
    return out


def _smallest(config: StorageConfig, a: dict, jpeg: bool) -> list[dict]:
    return [m for m in _picks(config, a) if (m["family"] == "jpeg") == jpeg
            and m["which"].startswith("smallest")]


def _said(ms: list[dict]) -> str:
    return "; ".join(f"{m['family']} {m['param']}: {100 * m['relative_size']:.1f}% as files "
                     f"({100 * (m['payload_relative'] or 0):.1f}% payload), "
                     f"{100 * m['accuracy_kept']:.1f}% of the accuracy" for m in ms)


NO_BASELINE = not_testable("no baseline report", "needs the baseline's accuracy")
CLAIMS = Claims("storage")


@CLAIMS.claim("jpeg-sets-small")
def jpeg_sets_small(config: StorageConfig, a: dict) -> Finding:
    if _base_acc(a) is None:
        return NO_BASELINE
    jpeg, hi = _smallest(config, a, True), PAPER_SIZES[1]
    return Finding(
        _said(jpeg) or f"no JPEG set keeps {100 * config.kept:.2f}% of the accuracy",
        ("not testable here" if not jpeg else "reproduced" if jpeg[0]["relative_size"] <= hi
         else "partly" if (jpeg[0]["payload_relative"] or 1) <= hi else "not reproduced"),
        f"the smallest JPEG set (files as stored) keeping {100 * config.kept:.2f}% of the "
        f"original accuracy: reproduced if it is at most {100 * hi:.1f}% of the original, "
        "partly if only its payload is")


@CLAIMS.claim("latents-smaller-than-jpeg")
def latents_smaller_than_jpeg(config: StorageConfig, a: dict) -> Finding:
    if _base_acc(a) is None:
        return NO_BASELINE
    jpeg, learned = _smallest(config, a, True), _smallest(config, a, False)
    return Finding(
        _said(learned) or "no learned set keeps the accuracy",
        ("not testable here" if not jpeg or not learned else
         "reproduced" if all(m["relative_size"] < jpeg[0]["relative_size"] for m in learned)
         else "partly" if any(m["relative_size"] < jpeg[0]["relative_size"] for m in learned)
         else "not reproduced"),
        "reproduced if every learned codec's smallest accuracy-keeping set is smaller than "
        "JPEG's, partly if one is")


def summarize(config: StorageConfig, a: dict) -> dict:
    table = Table(
        f"Each parameter's training set as stored against the original "
        f"{int(a['original_images'][0])} images as PNG files "
        f"({float(a['original_png'][0]) / 1e6:.2f} MB); accuracy kept = clean accuracy over "
        "the original data's; chosen = the BDA pick on the held-out validation split.",
        (("family", "Family", "text"), ("param", "Parameter", "text"),
         ("file_bytes", "Stored", "bytes"), ("relative_size", "Size %", "size"),
         ("payload_relative", "Payload %", "size"), ("clean_acc", "Clean %", "pct"),
         ("accuracy_kept", "Kept %", "size"), ("corrupt_acc", "Corrupt %", "pct"),
         ("chosen", "Chosen", "int")),
        _rows(a))
    picks = Table("The sets behind the verdicts.",
                  (("family", "Family", "text"), ("which", "Which", "text"),
                   ("param", "Parameter", "text"), ("relative_size", "Size %", "size"),
                   ("payload_relative", "Payload %", "size"), ("accuracy_kept", "Kept %", "size")),
                  _picks(config, a))
    verdicts, _ = CLAIMS.judge(config, a)
    return {"tables": {"sets": table, "picks": picks}, "verdicts": verdicts}


@register_study("storage", title="Storage against accuracy (seed 004, Table III)",
                papers=("004 Table III",), config=StorageConfig,
                profiles={"ci": StorageConfig("ci"), "cpu": StorageConfig("cpu")},
                summarize=summarize, from_reports=True, claims=CLAIMS,
                description="bytes on disk of the training set against accuracy, from run reports")
def compute(config: StorageConfig, ctx: StudyContext) -> dict[str, np.ndarray]:
    a = gather(ctx.reports_root, config.source_profile, config.submissions)
    original = report_summary(ctx.reports_root, config.submissions[0],
                              config.source_profile).original_data or {}
    a["original_png"] = np.array([original.get("png_bytes", np.nan)], dtype=np.float64)
    a["original_images"] = np.array([original.get("images", np.nan)], dtype=np.float64)
    return a
