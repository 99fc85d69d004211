"""The small training loop of the studies that train their own networks (dct-noise,
band-weights): the seed papers' recipe of SGD with momentum, a cosine schedule over the
epochs and shuffled mini-batches, the same in both so their numbers differ only by what the
studies vary. ``bench run`` trains with ``benchmark.pipeline.train``; these networks are too
small and too unlike its models to share that one."""
from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn
from tqdm import tqdm


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
