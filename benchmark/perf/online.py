"""``bench perf augment-online``: the online stage (``augment.online``) against the textbook
way, torchvision's transform applied per image in a ``DataLoader`` with workers, on the same
Fashion-MNIST training images in batches of the same size, in the same run; and one epoch of
training with the stage against one without it (what the stage costs a run).

The textbook reference is the CIFAR pipeline of the papers' code: PIL images through the
torchvision transform, one call per image, then ``PILToTensor``, collated by the loader's
workers (one per core). The stage draws an epoch's operations at once and runs each
operation once per batch on the tensor.
"""
from __future__ import annotations

import argparse
import json
import logging
import time

import numpy as np
import torch
from PIL import Image
from torch.utils.data import DataLoader, Dataset
from torchvision import transforms as T

from ..augment import get_family
from ..augment.online import epoch_generator, recipe_of, to_nchw
from ..datasets import load_dataset
from ..pipeline.train import TrainConfig, build_classifier, train_classifier

log = logging.getLogger(__name__)
BATCH = 128
TARGET = 3.0  # the stage over the textbook loader, overall
RECIPES = {"augmix": (3, lambda: T.AugMix(severity=3, all_ops=False)),
           "trivialaugment": (31, lambda: T.TrivialAugmentWide(num_magnitude_bins=31))}


class PerImage(Dataset):
    """Images as PIL, each through ``transform`` when the loader asks for it."""

    def __init__(self, images: np.ndarray, transform):
        self.images, self.transform = images, transform
        self.to_tensor = T.PILToTensor()

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, i: int) -> torch.Tensor:
        img = Image.fromarray(self.images[i][..., 0] if self.images.shape[-1] == 1 else self.images[i])
        return self.to_tensor(self.transform(img))


def textbook(images: np.ndarray, transform, workers: int) -> float:
    """Seconds for one pass of the per-image loader (its workers started inside)."""
    start = time.perf_counter()
    loader = DataLoader(PerImage(images, transform), batch_size=BATCH, num_workers=workers,
                        persistent_workers=False)
    for _ in loader:
        pass
    return time.perf_counter() - start


def stage(images: np.ndarray, family: str, value) -> float:
    """Seconds for one epoch of the stage: the epoch's draws, then every batch through them."""
    x = to_nchw(images)
    recipe = recipe_of(get_family(family), value)
    start = time.perf_counter()
    draws = recipe.draw(epoch_generator(0, 0), len(x), tuple(x.shape[-2:]))
    for k in range(0, len(x), BATCH):
        recipe.apply(x[k:k + BATCH], draws.take(np.arange(k, min(k + BATCH, len(x)))))
    return time.perf_counter() - start


def training_cost(images: np.ndarray, labels: np.ndarray) -> dict:
    """One epoch of small_cnn, without and with AugMix (severity 3) on every batch."""
    out = {}
    for name, online in (("plain", None), ("augmix", recipe_of(get_family("augmix"), 3))):
        torch.manual_seed(0)
        model = build_classifier("small_cnn", images, 10)
        start = time.perf_counter()
        train_classifier(model, images, labels, TrainConfig(epochs=1, batch_size=BATCH), seed=0,
                         progress=False, online=online)
        out[name] = round(time.perf_counter() - start, 2)
    out["cost"] = round(out["augmix"] / out["plain"], 2)
    return out


def run(args: argparse.Namespace) -> int:
    train = load_dataset("fashion-mnist", "train", args.data_root)
    images = np.ascontiguousarray(train.images[:args.images])
    workers = max(1, torch.get_num_threads())
    result = {"images": len(images), "batch": BATCH, "workers": workers,
              "threads": torch.get_num_threads(), "recipes": {}}
    ours_s = ref_s = 0.0
    for family, (value, make) in RECIPES.items():
        ours = stage(images, family, value)
        ref = textbook(images, make(), workers)
        ours_s, ref_s = ours_s + ours, ref_s + ref
        result["recipes"][family] = {"param": value, "stage_img_per_s": round(len(images) / ours),
                                     "textbook_img_per_s": round(len(images) / ref),
                                     "ratio": round(ref / ours, 2)}
    result["ratio"] = round(ref_s / ours_s, 2)
    result["target"] = TARGET
    result["training_epoch_s"] = training_cost(images, train.labels[:args.images])
    if args.json:
        print(json.dumps(result, indent=1))
        return 0
    for family, r in result["recipes"].items():
        print(f"{family:<15} stage {r['stage_img_per_s']} img/s; torchvision per image in a "
              f"DataLoader ({workers} workers) {r['textbook_img_per_s']} img/s; "
              f"ratio {r['ratio']:.1f}")
    print(f"overall ratio {result['ratio']:.2f} (target >= {TARGET})")
    t = result["training_epoch_s"]
    print(f"one training epoch of small_cnn on {len(images)} images: {t['plain']:.1f} s plain, "
          f"{t['augmix']:.1f} s with AugMix on every batch ({t['cost']:.2f}x)")
    return 0
