"""``bench perf capacity``: the sweep that chooses the capacity recipe, clean accuracy
against training seconds on this machine.

Each configuration (a model, a schedule, regularisers) trains once, seed 0, on every
training image of the embedded data and is scored on the validation split only, clean, with
and without test-time flip: the test split stays unseen until the chosen recipe runs as a
profile. Its training seconds are measured here, one configuration at a time, at the
machine's thread count. A configuration's result is kept under ``--runs`` by its digest, so
a sweep cut short resumes; ``--fresh`` measures every one again. The table marks the
configurations no other beats in both accuracy and time (the Pareto front) and those that
meet the target: ``TARGET_ACC`` clean in at most ``TARGET_S`` seconds of training; the
chosen recipe is the most accurate of those, or the fastest that reaches the accuracy
(``choose``), and ``--out`` keeps the table with the CPU kind it was timed on
(``reports/perf/capacity.json``: a test holds the submissions' capacity profiles to its
choice).
"""
from __future__ import annotations

import argparse
import json
import logging
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch

from corruptions import files
from corruptions.device import cpu_kind
from corruptions.errors import DataError

from ..datasets import load_dataset
from ..pipeline.evaluate import FlipAveraged, correct_mask
from ..pipeline.submission import digest
from ..pipeline.train import TrainConfig, build_classifier, train_classifier

log = logging.getLogger(__name__)
TARGET_ACC, TARGET_S = 0.93, 240.0
DATASET = "fashion-mnist"  # the embedded data the recipe is for
TABLE = "capacity.json"  # under reports/perf: the committed table
# what ``measure`` records of a configuration; the rest of a table row follows from these
MEASURED = ("name", "model", "params", "train", "train_s", "threads", "epoch_s", "val_acc",
            "val_acc_flip")


@dataclass(frozen=True)
class Candidate:
    """One configuration of the sweep: a registered model and its training recipe."""

    model: str
    train: TrainConfig = field(default_factory=TrainConfig)

    @property
    def name(self) -> str:
        t, base = self.train, TrainConfig()
        extra = [f"{k}={getattr(t, k)}" for k in ("label_smoothing", "ema", "batch_size", "bf16")
                 if getattr(t, k) != getattr(base, k)]
        return " ".join([self.model, f"{t.epochs}ep", t.schedule, f"lr={t.lr}", *extra])

    def key(self) -> str:
        train = asdict(self.train)
        if not train["bf16"]:  # unset: the keys measured before the option existed
            del train["bf16"]
        return digest({"model": self.model, "train": train})


def _recipe(epochs: int, **kw) -> TrainConfig:
    return TrainConfig(**{"epochs": epochs, "schedule": "cosine", "lr": 0.05, **kw})


# what the issue measured; then what might reach its accuracy in its time: fewer epochs,
# label smoothing, an average of the weights, larger batches, a narrower net (none did);
# then bf16 autocast (1.5x per epoch on this CPU), with and without label smoothing, at
# 12 to 15 epochs; a wider net last, for the front
CANDIDATES = (
    Candidate("small_cnn", _recipe(15)),
    Candidate("cnn6_16", _recipe(15)),
    Candidate("cnn6_16", _recipe(12, label_smoothing=0.1, ema=0.999)),
    Candidate("cnn6_16", _recipe(12, label_smoothing=0.1)),
    Candidate("cnn6_16", _recipe(12, label_smoothing=0.1, batch_size=256, lr=0.1)),
    Candidate("cnn6_12", _recipe(15, label_smoothing=0.1)),
    Candidate("cnn6_16", _recipe(15, bf16=True)),
    Candidate("cnn6_16", _recipe(15, label_smoothing=0.1, bf16=True)),
    Candidate("cnn6_16", _recipe(12, label_smoothing=0.1, bf16=True)),
    Candidate("cnn6_16", _recipe(14, bf16=True)),
    Candidate("cnn6_16", _recipe(13, bf16=True)),
    Candidate("cnn6_24", _recipe(12, bf16=True)),
)


def measure(c: Candidate, train, validation, threads: int) -> dict:
    """Train ``c`` on ``train``; its seconds and its validation accuracy, plain and flipped."""
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    model = build_classifier(c.model, train.images, len(train.classes))
    start = time.perf_counter()
    model, history = train_classifier(model, train.images, train.labels, c.train, seed=0,
                                      progress=False, name=c.name)
    seconds = time.perf_counter() - start
    plain = correct_mask(model, validation.images, validation.labels, "cpu").mean()
    flipped = correct_mask(FlipAveraged(model), validation.images, validation.labels,
                           "cpu").mean()
    return {"name": c.name, "model": c.model, "params": sum(p.numel() for p in model.parameters()),
            "train": asdict(c.train), "train_s": round(seconds, 1), "threads": threads,
            # each epoch's seconds: how steady the machine was while it trained
            "epoch_s": [round(h["seconds"], 1) for h in history],
            "val_acc": float(plain), "val_acc_flip": float(flipped)}


def pareto(rows: list[dict], key: str = "val_acc_best") -> set[str]:
    """The names no other row beats in both accuracy and seconds."""
    return {r["name"] for r in rows
            if not any(o[key] >= r[key] and o["train_s"] <= r["train_s"]
                       and (o[key] > r[key] or o["train_s"] < r["train_s"]) for o in rows)}


def choose(rows: list[dict]) -> dict | None:
    """The most accurate row that meets the target (the faster of a tie); where none does,
    the fastest that reaches its accuracy (the accuracy is the point of the profile; the
    seconds are a budget that this machine's speed moves by up to a third from hour to
    hour: see each row's ``epoch_s``); None where no row reaches the accuracy."""
    met = [r for r in rows if r["meets_target"]]
    if met:
        return max(met, key=lambda r: (r["val_acc_best"], -r["train_s"]))
    accurate = [r for r in rows if r["val_acc_best"] >= TARGET_ACC]
    return min(accurate, key=lambda r: r["train_s"]) if accurate else None


def tabulate(measured: list[dict], *, images: int, validation_images: int, threads: int,
             cpu: str) -> dict:
    """The sweep's table from its measured rows (``measure``'s fields): the better of plain
    and flipped accuracy, the front, the target and the choice. Pure, so that ``bench verify``
    recomputes the committed table from its own rows as ``bench perf capacity`` wrote it."""
    rows = [{k: r[k] for k in MEASURED if k in r} for r in measured]
    for r in rows:
        r["val_acc_best"] = max(r["val_acc"], r["val_acc_flip"])
    front = pareto(rows)
    for r in rows:
        r["pareto"] = r["name"] in front
        r["meets_target"] = r["val_acc_best"] >= TARGET_ACC and r["train_s"] <= TARGET_S
    chosen = choose(rows)
    return {"images": images, "validation_images": validation_images, "threads": threads,
            "cpu": cpu, "target": {"val_acc": TARGET_ACC, "train_s": TARGET_S},
            "chosen": chosen["name"] if chosen else None, "rows": rows}


def candidate_of(row: dict) -> Candidate:
    """The configuration a table row measured (rows from before ``bf16`` existed lack it)."""
    return Candidate(row["model"], TrainConfig(**row["train"]))


def read_table(path: Path) -> dict:
    """A table ``--out`` wrote; anything else is bad input."""
    try:
        table = json.loads(Path(path).read_text())
    except (OSError, ValueError) as e:
        raise DataError(f"{path}: not a capacity sweep table ({e})") from None
    if not isinstance(table, dict) or not isinstance(table.get("rows"), list):
        raise DataError(f"{path}: not a capacity sweep table (no rows)")
    return table


def run(args: argparse.Namespace) -> int:
    train = load_dataset(DATASET, "train", args.data_root)
    validation = load_dataset(DATASET, "validation", args.data_root)
    folder = Path(args.runs) / "capacity-sweep"
    threads = torch.get_num_threads()
    measured = []
    for c in CANDIDATES:
        path = folder / f"{c.key()}-t{threads}.json"
        if path.is_file() and not args.fresh:
            row = json.loads(path.read_text())
        else:
            log.info("capacity sweep: %s", c.name)
            row = measure(c, train, validation, threads)
            path.parent.mkdir(parents=True, exist_ok=True)
            files.write_json(path, row)
        measured.append(row)
    result = tabulate(measured, images=len(train), validation_images=len(validation),
                      threads=threads, cpu=cpu_kind())
    rows = result["rows"]
    chosen = next((r for r in rows if r["name"] == result["chosen"]), None)
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        files.write_json(Path(args.out), result)
    if args.json:
        print(json.dumps(result, indent=1))
        return 0
    print(f"{'configuration':<62} {'params':>7} {'train s':>8} {'val %':>6} {'+flip %':>7}")
    for r in sorted(rows, key=lambda r: r["train_s"]):
        mark = (("*" if r["pareto"] else " ") + ("T" if r["meets_target"] else " ")
                + ("<" if r is chosen else ""))
        print(f"{r['name']:<62} {r['params']:>7} {r['train_s']:>8.1f} {100 * r['val_acc']:>6.2f} "
              f"{100 * r['val_acc_flip']:>7.2f} {mark}")
    print(f"*: on the accuracy-for-time front; T: >= {100 * TARGET_ACC:.1f}% on validation in "
          f"<= {TARGET_S:.0f} s of training; <: the chosen recipe ({len(train)} images, "
          f"{threads} threads, {result['cpu']})")
    return 0
