"""Training one classifier: the thesis recipe as a loop over a tensor that lives on the device.

The whole (augmented) training set is one uint8 tensor on the device; each batch is cut from
it by index, and random crop (zero padding) and horizontal flip run batched on the device.
Every random draw comes from a CPU generator seeded by (seed, epoch), so CPU and GPU draw the
same batches, and a run resumed from its last epoch checkpoint continues exactly as an
uninterrupted one would (on the CPU, bit for bit at a fixed thread count). Activations are
channels_last everywhere (faster on both); on CUDA also bf16 autocast, pinned memory and
``torch.compile`` (``accel``: on any device when asked, a failed compilation falls back).
"""
from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from tqdm import tqdm

from corruptions import files
from corruptions.errors import BenchError

from ..augment.online import Recipe, epoch_generator, to_nchw
from ..models import Normalized, create_model
from .accel import Acceleration, Forward, guarded, to_device
from ..models.bands import BandConfig, BandWeighted

log = logging.getLogger(__name__)

OPTIMIZERS = ("sgd", "adam")
SCHEDULES = ("constant", "cosine", "step")


class NonFiniteLoss(BenchError):
    """Training diverged: the unit stops, the run keeps its other finished units."""


@dataclass(frozen=True)
class TrainConfig:
    """The recipe (defaults: the thesis, section 3.2)."""

    epochs: int = 30
    batch_size: int = 128
    optimizer: str = "sgd"
    lr: float = 0.01
    momentum: float = 0.9
    weight_decay: float = 5e-4
    schedule: str = "constant"
    crop_padding: int = 4  # random crop after zero padding by this many pixels; 0: none
    flip: bool = True
    # the weight of AugMix's Jensen-Shannon consistency term (Hendrycks et al. 2020: 12);
    # 0: none. Needs an online stage: each batch is seen clean and through two draws of it
    jsd: float = 0.0
    label_smoothing: float = 0.0  # of the cross-entropy's targets; 0: none
    # the decay of an exponential moving average of the weights (and batch-norm statistics)
    # updated after every step, and the network returned; 0: none, the last weights
    ema: float = 0.0
    # bf16 autocast in training on any device (CUDA trains under it always): 1.5x faster
    # per epoch for cnn6_16 on the 2-core AVX-512 CPU (the capacity sweep, issue 33); the
    # evaluation stays float32 on the CPU
    bf16: bool = False

    def as_dict(self) -> dict:
        return asdict(self)


def channel_stats(images: np.ndarray) -> tuple[list[float], list[float]]:
    """Per-channel mean and std of uint8 images, on [0, 1]."""
    x = images.reshape(-1, images.shape[-1]).astype(np.float64) / 255
    return x.mean(0).tolist(), np.maximum(x.std(0), 1e-3).tolist()


def build_classifier(model_name: str, images: np.ndarray, num_classes: int,
                     pretrained: bool = False, bands: BandConfig | None = None) -> Normalized:
    """The named network for these images (behind band weights when ``bands``), with their
    normalisation in front."""
    net = create_model(model_name, images.shape[-1], num_classes, images.shape[1], pretrained,
                       bands)
    return Normalized(net, *channel_stats(images))


def crop_flip(x: torch.Tensor, shifts: torch.Tensor | None, flips: torch.Tensor | None,
              pad: int) -> torch.Tensor:
    """Batched random crop (of the zero-padded images, offsets ``shifts`` (B, 2)) and
    horizontal flip (where ``flips``) of a (B, C, H, W) batch, on its device."""
    b, c, h, w = x.shape
    if shifts is not None and pad:
        padded = F.pad(x, (pad, pad, pad, pad))
        rows = (shifts[:, 0, None] + torch.arange(h, device=x.device))[:, None, :, None]
        cols = (shifts[:, 1, None] + torch.arange(w, device=x.device))[:, None, None, :]
        x = padded[torch.arange(b, device=x.device)[:, None, None, None],
                   torch.arange(c, device=x.device)[None, :, None, None], rows, cols]
    if flips is not None:
        x = torch.where(flips[:, None, None, None], x.flip(3), x)
    return x


def _lr_factor(schedule: str, epochs: int) -> Callable[[int], float]:
    if schedule == "cosine":
        return lambda e: 0.5 * (1 + math.cos(math.pi * e / epochs))
    if schedule == "step":  # x0.1 at half and at three quarters
        return lambda e: 0.1 ** ((e >= epochs // 2) + (e >= 3 * epochs // 4))
    return lambda e: 1.0


def _optimizer(cfg: TrainConfig, params) -> torch.optim.Optimizer:
    if cfg.optimizer == "adam":
        return torch.optim.Adam(params, lr=cfg.lr, weight_decay=cfg.weight_decay)
    return torch.optim.SGD(params, lr=cfg.lr, momentum=cfg.momentum, weight_decay=cfg.weight_decay)


def _optimizers(cfg: TrainConfig, model: nn.Module
                ) -> tuple[torch.optim.Optimizer, torch.optim.Optimizer | None]:
    """The recipe's optimizer for the network, and an Adam of its own for the parameters of
    modules that ask for one (``own_lr``: seed 001's band weights), or None."""
    own = [m for m in model.modules() if getattr(m, "own_lr", None)]
    separate = {id(p) for m in own for p in m.parameters(recurse=False)}
    main = _optimizer(cfg, [p for p in model.parameters() if id(p) not in separate])
    extra = [{"params": [p for p in m.parameters(recurse=False) if p.requires_grad],
              "lr": m.own_lr} for m in own]
    extra = [g for g in extra if g["params"]]
    return main, (torch.optim.Adam(extra) if extra else None)


def band_weights(model: nn.Module) -> list[float] | None:
    """The softmax band weights of a band-weighted model (seed 001), else None."""
    for m in model.modules():
        if isinstance(m, BandWeighted):
            return [float(v) for v in m.weights().detach().cpu()]
    return None


def _epoch_generator(seed: int, epoch: int) -> torch.Generator:
    return torch.Generator().manual_seed(int(seed) * 100_003 + epoch)


def to_device_images(images: np.ndarray, device: str) -> torch.Tensor:
    """(N, H, W, C) uint8 -> (N, C, H, W) uint8 on the device (through pinned memory)."""
    return to_device(to_nchw(images), device)


def train_classifier(model: nn.Module, images: np.ndarray, labels: np.ndarray, cfg: TrainConfig,
                     *, seed: int, device: str = "cpu", checkpoint: Path | None = None,
                     progress: bool = True, name: str = "unit",
                     accel: Acceleration | None = None,
                     online: Recipe | None = None) -> tuple[nn.Module, list[dict]]:
    """Train ``model`` (freshly built under ``torch.manual_seed(seed)``) on uint8 images;
    resumes from ``checkpoint`` when it holds unfinished epochs. Returns the model in eval
    mode and one history row per epoch (loss, accuracy on the augmented batches, lr,
    seconds; with ``cfg.jsd`` the accuracy of the clean batches and the loss with the
    consistency term). ``accel``: compile and autocast (default: the device's,
    ``Acceleration``). ``online``: a per-image random transform applied to every batch after
    crop and flip; each epoch's draws are made at its start, for every image in index order,
    from (seed, epoch), so neither the batches nor their order change an image's draws."""
    if cfg.jsd and online is None:
        raise BenchError("training.jsd (the consistency loss) needs an online augmentation")
    accel = accel or Acceleration.for_device(device)
    if cfg.bf16:
        accel = replace(accel, autocast=True)
    model = model.to(device, memory_format=torch.channels_last)
    parts = _training_state(cfg, model)
    opt, sched, average = parts["opt"], parts["sched"], parts["ema"]
    start, history = _resume(checkpoint, parts, device)
    if 0 < start < cfg.epochs:
        log.info("%s: resuming at epoch %d of %d", name, start + 1, cfg.epochs)
    x_all = to_device_images(images, device)
    y_all = torch.from_numpy(np.asarray(labels, np.int64)).to(device)
    step_fn = _train_step(model, opt, parts["own_opt"], device, accel, cfg.jsd,
                          cfg.label_smoothing, average)
    n = len(labels)
    batches = math.ceil(n / cfg.batch_size)
    with tqdm(total=cfg.epochs * batches, initial=start * batches, desc=name, unit="batch",
              disable=not progress or None, leave=False) as bar:
        for epoch in range(start, cfg.epochs):
            t0 = time.perf_counter()
            lr = opt.param_groups[0]["lr"]
            model.train()
            loss_sum = torch.zeros((), device=device)
            correct = torch.zeros((), device=device, dtype=torch.long)
            for xb, yb, views in _batches(x_all, y_all, cfg, seed, epoch, online):
                loss, hits = step_fn(xb, yb, views)
                loss_sum += loss * len(yb)
                correct += hits
                bar.update(1)
            sched.step()
            mean_loss = float(loss_sum) / n
            if not math.isfinite(mean_loss):
                raise NonFiniteLoss(f"{name}: non-finite loss in epoch {epoch + 1}; "
                                    "try a smaller learning rate")
            history.append({"epoch": epoch + 1, "loss": mean_loss, "accuracy": int(correct) / n,
                            "lr": lr, "seconds": time.perf_counter() - t0})
            if (weights := band_weights(model)) is not None:  # seed 001's evolution
                history[-1]["band_weights"] = weights
            bar.set_postfix(loss=f"{mean_loss:.3f}", acc=f"{int(correct) / n:.3f}")
            if checkpoint is not None:
                files.write_torch(checkpoint, {
                    **{k: p.state_dict() for k, p in parts.items() if p is not None},
                    "epoch": epoch + 1, "history": history, "config": cfg.as_dict(), "seed": seed})
    if average is not None:
        return average.module.eval(), history
    return model.eval(), history


def _training_state(cfg: TrainConfig, model: nn.Module) -> dict:
    """Everything an epoch checkpoint holds besides the epoch: the model, its optimisers,
    the schedule and the weights' moving average (None where the recipe has none)."""
    opt, own_opt = _optimizers(cfg, model)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, _lr_factor(cfg.schedule, cfg.epochs))
    average = (torch.optim.swa_utils.AveragedModel(
        model, multi_avg_fn=torch.optim.swa_utils.get_ema_multi_avg_fn(cfg.ema),
        use_buffers=True) if cfg.ema else None)
    return {"model": model, "opt": opt, "sched": sched, "own_opt": own_opt, "ema": average}


def _batches(x_all: torch.Tensor, y_all: torch.Tensor, cfg: TrainConfig, seed: int, epoch: int,
             online: Recipe | None):
    """An epoch's batches on the device, (images, labels, augmented views): its order, crops
    and flips drawn from (seed, epoch), then the online stage's draws for every image; with
    the consistency loss the views are the stage's two draws beside the clean batch, else
    the stage's draw replaces the batch."""
    n, bs, device = len(y_all), cfg.batch_size, y_all.device
    gen = _epoch_generator(seed, epoch)
    perm = torch.randperm(n, generator=gen)
    shifts = torch.randint(0, 2 * cfg.crop_padding + 1, (n, 2), generator=gen)
    flips = torch.rand(n, generator=gen) < 0.5
    size = tuple(x_all.shape[-2:])
    draws = ([online.draw(epoch_generator(seed, epoch, view), n, size)
              for view in range(2 if cfg.jsd else 1)] if online else [])
    for k in range(math.ceil(n / bs)):
        idx = perm[k * bs:(k + 1) * bs]
        xb = crop_flip(x_all[idx.to(device)], shifts[idx].to(device) if cfg.crop_padding else None,
                       flips[idx].to(device) if cfg.flip else None, cfg.crop_padding)
        views = [online.apply(xb, d.take(idx.numpy())) for d in draws]
        if views and not cfg.jsd:
            xb, views = views[0], []
        yield xb, y_all[idx.to(device)], views


def _resume(checkpoint: Path | None, parts: dict, device: str) -> tuple[int, list[dict]]:
    """The epochs done and their history, with every part (model, optimisers, schedule)
    loaded from ``checkpoint`` where it exists; else (0, [])."""
    if checkpoint is None or not checkpoint.exists():
        return 0, []
    state = torch.load(checkpoint, map_location=device, weights_only=False)
    for key, part in parts.items():
        if part is not None:
            part.load_state_dict(state[key])
    return state["epoch"], state["history"]


def jensen_shannon(logits: list[torch.Tensor]) -> torch.Tensor:
    """AugMix's consistency term: the mean KL divergence of each view's softmax from their
    mixture (clamped at 1e-7, as Hendrycks et al.'s code), averaged over the batch."""
    probs = [F.softmax(z, dim=1) for z in logits]
    mixture = torch.clamp(sum(probs) / len(probs), 1e-7, 1).log()
    return sum(F.kl_div(mixture, p, reduction="batchmean") for p in probs) / len(probs)


def _train_step(model: nn.Module, opt: torch.optim.Optimizer,
                own_opt: torch.optim.Optimizer | None, device: str, accel: Acceleration,
                jsd: float = 0.0, label_smoothing: float = 0.0,
                average: torch.optim.swa_utils.AveragedModel | None = None):
    """One optimiser step on a uint8 batch: (loss, correct) as device tensors (no sync). The
    loss adds the ``aux_loss()`` of modules that have one (seed 001's reconstruction term),
    and with ``views`` (the batch's augmented copies) ``jsd`` times their consistency with
    the clean batch; the clean batch alone is classified (Hendrycks et al. 2020), and all
    views pass through the network together, so batch norm sees them as one batch."""
    aux = [m for m in model.modules() if hasattr(m, "aux_loss")]
    optimizers = [o for o in (opt, own_opt) if o is not None]
    forward = Forward(model, accel.compile)

    def step(xb: torch.Tensor, yb: torch.Tensor, views: list[torch.Tensor]):
        x = torch.cat([xb, *views]) if views else xb
        x = x.float().div_(255).contiguous(memory_format=torch.channels_last)
        with accel.autocast_on(device):
            every = forward(x).float()
            logits = every[:len(yb)]
            loss = F.cross_entropy(logits, yb, label_smoothing=label_smoothing)
            if views:
                loss = loss + jsd * jensen_shannon(list(every.split(len(yb))))
            for m in aux:
                loss = loss + m.aux_loss()
        for o in optimizers:
            o.zero_grad(set_to_none=True)
        loss.backward()
        for o in optimizers:
            o.step()
        if average is not None:
            average.update_parameters(model)
        return loss.detach(), (logits.argmax(1) == yb).sum()
    return guarded(step, forward)
