"""Evaluation: a classifier on the clean test images and on every (corruption, severity) of
a corrupted set, as (n, correct) counts.

Images go to the device as uint8 and become floats there, in large batches; a whole
corrupted set is read once through the verified reader (``corruptions.store``). What comes
out is one ``Count`` per (split, corruption, severity): the raw material of every number the
benchmark reports.
"""
from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import nn
from tqdm import tqdm

from corruptions.registry import PUBLISHED_BANDS
from corruptions.store import CorruptedSet

from .accel import Acceleration, to_device

CLEAN = "clean"
EVAL_BATCH = 1000


@dataclass(frozen=True)
class Count:
    """Correct predictions on one evaluation set: clean (severity 0) or one corruption at
    one severity of one split; ``outcomes`` says which of its ``n`` images (in the set's
    order) were classified correctly, when known."""

    split: str
    corruption: str
    severity: int
    band: str
    n: int
    correct: int
    outcomes: np.ndarray | None = field(default=None, compare=False, repr=False)

    def as_row(self) -> dict:
        """The count without its outcomes (those are stored as packed bits, not JSON)."""
        return {"split": self.split, "corruption": self.corruption, "severity": self.severity,
                "band": self.band, "n": self.n, "correct": self.correct}


@dataclass
class EvalSplit:
    """What one split is evaluated on: its clean images and labels, and the corrupted sets
    built from them (none: clean only; on test the C set, then the C-bar one)."""

    name: str
    images: np.ndarray
    labels: np.ndarray
    corrupted: tuple[CorruptedSet, ...] = ()

    def sets(self) -> Iterator[tuple[str, int, str, np.ndarray]]:
        """(corruption, severity, band, images), clean first."""
        yield CLEAN, 0, CLEAN, self.images
        for cs in self.corrupted:
            profiles = (cs.manifest or {}).get("profiles", {})
            for c in cs.corruptions:
                band = profiles.get(c, {}).get("band") or PUBLISHED_BANDS.get(c, "unknown")
                for s in cs.severities:
                    yield c, s, band, cs.images(c, s)

    def count(self) -> int:
        return 1 + sum(len(cs.corruptions) * len(cs.severities) for cs in self.corrupted)


class FlipAveraged(nn.Module):
    """Test-time flip: the logits of each image and of its mirror image, averaged (a
    classifier trained with random horizontal flips sees both as the same class)."""

    def __init__(self, model: nn.Module):
        super().__init__()
        self.model = model

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (self.model(x) + self.model(x.flip(3))) / 2


@torch.inference_mode()
def correct_mask(model: nn.Module, images: np.ndarray, labels: np.ndarray, device: str,
                 batch: int = EVAL_BATCH, accel: Acceleration | None = None) -> np.ndarray:
    """Whether ``model`` (eval mode, [0, 1] inputs) classifies each uint8 NHWC image
    correctly (top-1), as a bool array in the images' order. ``accel``: autocast (default:
    the device's; evaluation is not compiled: each set is one pass)."""
    accel = accel or Acceleration.for_device(device)
    y = torch.from_numpy(np.asarray(labels, np.int64)).to(device)
    correct = torch.zeros(len(images), dtype=torch.bool, device=device)
    for start in range(0, len(images), batch):
        xb = torch.from_numpy(np.require(images[start:start + batch], requirements=["C", "W"]))
        xb = to_device(xb, device)
        x = xb.permute(0, 3, 1, 2).float().div_(255).contiguous(memory_format=torch.channels_last)
        with accel.autocast_on(device):
            logits = model(x)
        correct[start:start + batch] = logits.argmax(1) == y[start:start + batch]
    return correct.cpu().numpy()


def count_correct(model: nn.Module, images: np.ndarray, labels: np.ndarray, device: str,
                  batch: int = EVAL_BATCH) -> int:
    """Correct top-1 predictions of ``model`` on uint8 NHWC images."""
    return int(correct_mask(model, images, labels, device, batch).sum())


def evaluate(model: nn.Module, splits: list[EvalSplit], device: str = "cpu",
             progress: bool = True, name: str = "eval") -> list[Count]:
    """Counts for every split's clean images and each of its corruptions x severities."""
    model = model.to(device, memory_format=torch.channels_last).eval()
    out = []
    with tqdm(total=sum(s.count() for s in splits), desc=name, unit="set",
              disable=not progress or None, leave=False) as bar:
        for split in splits:
            n = len(split.labels)
            for corruption, severity, band, images in split.sets():
                if len(images) != n:
                    raise ValueError(f"{split.name}/{corruption}/{severity}: {len(images)} "
                                     f"images for {n} labels")
                mask = correct_mask(model, images, split.labels, device)
                out.append(Count(split.name, corruption, severity, band, n, int(mask.sum()),
                                 outcomes=mask))
                bar.update(1)
    return out
