"""Training a learned codec for one lambda, with a checkpoint cache and resume.

Loss (the published codecs' convention): bpp + lambda * 255^2 * MSE on [0, 1] images, plus
the entropy bottleneck's auxiliary quantile loss on its own optimiser. When training ends
the integer coding tables are frozen and saved with the weights (``coding``). Checkpoints live in
``<data-root>/codecs/<dataset>/<family>/<lambda>/<recipe digest>/codec.pt``.

Photographs (and any set of mixed sizes) are seen through random square crops, one image
drawn uniformly per crop, as learned codecs are usually trained; small fixed-size images
are used whole.
"""
from __future__ import annotations

import logging
import math
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from corruptions import files
from corruptions.errors import BenchError

from ..datasets import dataset_slug
from .models import FactorizedPrior, build_codec
from .recipe import CodecRecipe

log = logging.getLogger(__name__)


def checkpoint_path(data_root: Path, dataset: str, recipe: CodecRecipe, lmbda: float) -> Path:
    return (Path(data_root) / "codecs" / dataset_slug(dataset) / recipe.config.family
            / f"{lmbda:g}" / recipe.digest() / "codec.pt")


def rd_terms(model: FactorizedPrior, x: torch.Tensor, lmbda: float) -> tuple[torch.Tensor, ...]:
    """(loss, bpp, mse) as tensors: the part of a step that ``torch.compile`` can fuse."""
    x_hat, likelihoods = model(x)
    pixels = x.shape[0] * x.shape[-2] * x.shape[-1]
    bpp = sum((-torch.log2(p)).sum() for p in likelihoods) / pixels
    mse = torch.mean((x_hat - x) ** 2)
    return bpp + lmbda * 255**2 * mse, bpp, mse


def rd_loss(model: FactorizedPrior, x: torch.Tensor, lmbda: float) -> tuple[torch.Tensor, float, float]:
    loss, bpp, mse = rd_terms(model, x, lmbda)
    return loss, float(bpp.detach()), float(mse.detach())


class LossFn:
    """``rd_terms`` compiled by inductor when asked; a compiler that fails (no C++ toolchain,
    an unsupported op) is reported in one warning line and the step runs eagerly: compiling
    is lazy, so the first call is where it fails."""

    def __init__(self, model: FactorizedPrior, lmbda: float, compile: bool):
        self.eager = lambda x: rd_terms(model, x, lmbda)
        self.fn = torch.compile(self.eager, dynamic=False) if compile else self.eager
        self.tried = not compile

    def __call__(self, x: torch.Tensor):
        if self.tried:
            return self.fn(x)
        self.tried = True
        try:
            return self.fn(x)
        except Exception as e:  # noqa: BLE001 - any compiler failure falls back
            log.warning("torch.compile failed (%s: %s); codec training runs eagerly",
                        type(e).__name__, str(e).splitlines()[0] if str(e) else "")
            self.fn = self.eager
            return self.fn(x)


class _Batches:
    """Seeded training batches: whole images, or random ``patch``-pixel crops."""

    def __init__(self, images: np.ndarray | list[np.ndarray], batch_size: int, patch: int):
        if not patch and not isinstance(images, np.ndarray):
            raise BenchError("codec training on images of mixed sizes needs crops "
                             "(--codec patch=SIDE)")
        if patch:
            small = min(min(im.shape[:2]) for im in images)
            if patch > small:
                raise BenchError(f"--codec patch={patch} is larger than the smallest training "
                                 f"image side ({small} px)")
        self.images, self.batch_size, self.patch = images, batch_size, patch

    def draw(self, gen: np.random.Generator) -> torch.Tensor:
        idx = gen.integers(0, len(self.images), self.batch_size)
        if self.patch:
            crops = []
            for i in idx:
                im = self.images[i]
                y = gen.integers(0, im.shape[0] - self.patch + 1)
                x = gen.integers(0, im.shape[1] - self.patch + 1)
                crops.append(im[y:y + self.patch, x:x + self.patch])
            batch = np.stack(crops)
        else:
            batch = self.images[idx]
        return torch.from_numpy(batch).permute(0, 3, 1, 2)


class Optimizers:
    """Adam with a cosine schedule on the transforms and entropy model, and the entropy
    bottleneck's quantiles on their own Adam (the auxiliary loss), as CompressAI trains."""

    def __init__(self, model: FactorizedPrior, lr: float, steps: int):
        self.model = model
        self.main = [p for n, p in model.named_parameters() if not n.endswith("quantiles")]
        aux = [p for n, p in model.named_parameters() if n.endswith("quantiles")]
        self.opt = torch.optim.Adam(self.main, lr=lr)
        self.aux_opt = torch.optim.Adam(aux, lr=1e-3)
        self.sched = torch.optim.lr_scheduler.CosineAnnealingLR(self.opt, steps, eta_min=lr / 20)

    def step(self, loss: torch.Tensor) -> None:
        """One update from the rate-distortion loss, then one of the quantiles."""
        self.opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(self.main, 1.0)
        self.opt.step()
        self.sched.step()
        self.aux_opt.zero_grad()
        self.model.aux_loss().backward()
        self.aux_opt.step()

    def state_dict(self) -> dict:
        return {"opt": self.opt.state_dict(), "aux_opt": self.aux_opt.state_dict(),
                "sched": self.sched.state_dict()}

    def load_state_dict(self, state: dict) -> None:
        self.opt.load_state_dict(state["opt"])
        self.aux_opt.load_state_dict(state["aux_opt"])
        self.sched.load_state_dict(state["sched"])


def train_recipe(images: np.ndarray | list[np.ndarray], recipe: CodecRecipe, lmbda: float,
                 data_root: Path, dataset: str, *, device: str = "cpu", progress: bool = True,
                 threads: int | None = None, compile: bool = False) -> FactorizedPrior:
    """The cached codec of ``recipe`` at ``lmbda`` on ``dataset``, trained (or resumed) if
    absent: first the warm start's base codec when the recipe has one, then the codec."""
    path = checkpoint_path(data_root, dataset, recipe, lmbda)
    init = None
    if recipe.init_lmbda and not path.exists():
        base = recipe.base()
        init = train_codec(images, base, recipe.init_lmbda,
                           checkpoint_path(data_root, dataset, base, recipe.init_lmbda),
                           device=device, progress=progress, threads=threads, compile=compile)
    return train_codec(images, recipe, lmbda, path, device=device, progress=progress,
                       init=init, threads=threads, compile=compile)


def train_codec(images: np.ndarray | list[np.ndarray], recipe: CodecRecipe, lmbda: float,
                path: Path, *, device: str = "cpu", save_every: int = 500, progress: bool = True,
                init: FactorizedPrior | None = None, threads: int | None = None,
                compile: bool = False) -> FactorizedPrior:
    """Train (or resume, or load when finished) the codec cached at ``path``; a fresh run
    starts from the weights of ``init`` when given (a warm start, see ``CodecRecipe``).

    ``threads`` pins torch's intra-op threads for the call (float sums, and so the weights,
    depend on it; the checkpoint records them, and a resumed run takes the recorded count);
    ``compile`` fuses the forward and backward with inductor."""
    if not lmbda > 0:
        raise BenchError(f"lambda must be > 0, got {lmbda}")
    before = torch.get_num_threads()
    if threads:
        torch.set_num_threads(threads)
    try:
        return _train(images, recipe, lmbda, path, device, save_every, progress, init, compile)
    finally:
        torch.set_num_threads(before)


def _train(images, recipe: CodecRecipe, lmbda: float, path: Path, device: str, save_every: int,
           progress: bool, init: FactorizedPrior | None, compile: bool) -> FactorizedPrior:
    config, steps, lr = recipe.config, recipe.steps, recipe.lr
    batches = _Batches(images, recipe.batch_size, recipe.patch)
    torch.manual_seed(recipe.seed)
    model = build_codec(config).to(device)
    model.quant = recipe.quant
    optim = Optimizers(model, lr, steps)
    step, gen = 0, np.random.default_rng(recipe.seed)
    if init is not None:
        model.load_state_dict(init.state_dict())
    if path.exists():
        state = torch.load(path, map_location=device, weights_only=False)
        model.load_state_dict(state["model"])
        optim.load_state_dict(state)
        step, gen = state["step"], state["rng"]
        torch.set_rng_state(state["torch_rng"])
        if state.get("threads", torch.get_num_threads()) != torch.get_num_threads():
            log.info("resuming with the %d threads it was trained with", state["threads"])
            torch.set_num_threads(state["threads"])  # train_codec restores the caller's
        if step >= steps:
            if not model.entropy_bottleneck.frozen:  # a checkpoint from before frozen tables
                model.update()
                files.write_torch(path, {**state, "model": model.state_dict()})
            return model.eval()
        log.info("resuming %s at step %d", path, step)
    else:
        log.info("training %s lambda=%g for %d steps, recipe %s -> %s", config.family, lmbda,
                 steps, recipe.as_dict(), path)
    model.train()
    loss_fn = LossFn(model, lmbda, compile)
    with tqdm(total=steps, initial=step, desc=f"{config.family} lambda={lmbda:g}",
              disable=not progress or None) as bar:
        while step < steps:
            x = batches.draw(gen).to(device, torch.float32) / 255
            loss, bpp, mse = loss_fn(x)
            bpp, mse = float(bpp.detach()), float(mse.detach())
            if not math.isfinite(float(loss.detach())):
                raise BenchError(f"non-finite loss at step {step} (lambda {lmbda:g}); "
                                 "try a smaller learning rate (--codec lr=...)")
            optim.step(loss)
            step += 1
            bar.update(1)
            bar.set_postfix(bpp=f"{bpp:.3f}", psnr=f"{-10 * math.log10(max(mse, 1e-10)):.1f}")
            if step == steps:
                model.update()  # the integer tables every coder of this codec will use
            if step % save_every == 0 or step == steps:
                files.write_torch(path, {"model": model.state_dict(), **optim.state_dict(),
                                         "step": step, "rng": gen,
                                         "torch_rng": torch.get_rng_state(),
                                         "recipe": recipe.as_dict(), "lmbda": lmbda,
                                         "threads": torch.get_num_threads()})
    return model.eval()
