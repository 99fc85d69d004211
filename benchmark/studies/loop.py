"""The small training loop of the studies that train their own networks (dct-noise,
band-weights): the seed papers' recipe of SGD with momentum, a cosine schedule over the
epochs and shuffled mini-batches, the same in both so their numbers differ only by what the
studies vary. ``bench run`` trains with ``benchmark.pipeline.train``; these networks are too
small and too unlike its models to share that one. Beside it, what else the two share: the
config fields of the data and seeds they train on, loading those images, and recomputing
one seed alone (``bench verify --rerun``)."""
from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import torch
from torch import nn
from tqdm import tqdm

from ..datasets import load_dataset
from .base import StudyPart


@dataclass(frozen=True)
class TrainingConfig:
    """The first fields of a study that trains its own networks: the first ``train_images``
    and ``test_images`` of ``dataset``, ``epochs`` of training, one model per seed. A study's
    config extends it, so both studies size and seed their runs by the same names."""

    train_images: int
    test_images: int
    epochs: int
    seeds: tuple[int, ...]
    dataset: str = "fashion-mnist"


def image_sets(config: TrainingConfig, data_root: Path
               ) -> tuple[tuple[np.ndarray, torch.Tensor], tuple[np.ndarray, torch.Tensor]]:
    """(training images, labels), (test images, labels) as the config sizes them: uint8
    image arrays (each study transforms them its own way) and int64 label tensors, what the
    loss and the test take."""
    def head(split: str, n: int) -> tuple[np.ndarray, torch.Tensor]:
        data = load_dataset(config.dataset, split, data_root).head(n)
        return np.asarray(data.images), torch.from_numpy(np.asarray(data.labels, np.int64))
    return head("train", config.train_images), head("test", config.test_images)


def seed_parts(config: TrainingConfig, seeded: tuple[str, ...], label: str = "",
               lead: tuple[slice, ...] = (slice(None),), unseeded: tuple[str, ...] = (),
               **narrowed) -> list[StudyPart]:
    """One part per seed (``StudyPart``): every model is seeded by its own seed alone, so a
    seed recomputed alone trains what it trained within the whole. The ``seeded`` arrays
    are indexed ``(*lead, seed)``, the ``unseeded`` ones ``lead`` alone; ``narrowed`` are
    the config's other fields the part keeps, ``label`` starts the part's label."""
    out = []
    for j, seed in enumerate(config.seeds):
        at = {**{k: lead for k in unseeded}, "seeds": (slice(j, j + 1),),
              **{k: (*lead, slice(j, j + 1)) for k in seeded}}
        out.append(StudyPart(f"{label}seed {seed}", replace(config, **narrowed, seeds=(seed,)), at))
    return out


@dataclass(frozen=True)
class LoopConfig:
    epochs: int
    batch_size: int
    lr: float
    momentum: float
    weight_decay: float = 0.0


def fit(net: nn.Module, x: torch.Tensor, y: torch.Tensor, loss_of: Callable, config: LoopConfig,
        seed: int, *, extra: Sequence[torch.optim.Optimizer] = (),
        after_epoch: Callable[[], None] | None = None, desc: str = "",
        progress: bool = False) -> list[float]:
    """Train ``net`` in place; ``loss_of(x_batch, y_batch)`` is the loss of one batch, and
    ``extra`` optimizers (of parameters outside ``net``) step beside its SGD. Batches come
    from a permutation drawn by ``seed`` each epoch. Returns the mean loss of each epoch."""
    opt = torch.optim.SGD(net.parameters(), lr=config.lr, momentum=config.momentum,
                          weight_decay=config.weight_decay)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, config.epochs)
    optimizers = (opt, *extra)
    order = np.random.default_rng(seed)
    losses = []
    for _ in tqdm(range(config.epochs), desc=desc, unit="epoch", disable=not progress or None,
                  leave=False):
        net.train()
        total = 0.0
        for idx in np.array_split(order.permutation(len(y)), max(1, len(y) // config.batch_size)):
            loss = loss_of(x[idx], y[idx])
            for o in optimizers:
                o.zero_grad(set_to_none=True)
            loss.backward()
            for o in optimizers:
                o.step()
            total += loss.item() * len(idx)
        sched.step()
        losses.append(total / len(y))
        if after_epoch is not None:
            after_epoch()
    net.eval()
    return losses
