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


def rd_loss(model: FactorizedPrior, x: torch.Tensor, lmbda: float) -> tuple[torch.Tensor, float, float]:
    x_hat, likelihoods = model(x)
    pixels = x.shape[0] * x.shape[-2] * x.shape[-1]
    bpp = sum((-torch.log2(p)).sum() for p in likelihoods) / pixels
    mse = torch.mean((x_hat - x) ** 2)
    return bpp + lmbda * 255**2 * mse, float(bpp.detach()), float(mse.detach())


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


def train_codec(images: np.ndarray | list[np.ndarray], recipe: CodecRecipe, lmbda: float,
                path: Path, *, device: str = "cpu", save_every: int = 500, progress: bool = True,
                init: FactorizedPrior | None = None) -> FactorizedPrior:
    """Train (or resume, or load when finished) the codec cached at ``path``; a fresh run
    starts from the weights of ``init`` when given (a warm start, see ``CodecRecipe``)."""
    if not lmbda > 0:
        raise BenchError(f"lambda must be > 0, got {lmbda}")
    config, steps, lr = recipe.config, recipe.steps, recipe.lr
    batches = _Batches(images, recipe.batch_size, recipe.patch)
    torch.manual_seed(recipe.seed)
    model = build_codec(config).to(device)
    aux_params = [p for n, p in model.named_parameters() if n.endswith("quantiles")]
    main_params = [p for n, p in model.named_parameters() if not n.endswith("quantiles")]
    opt = torch.optim.Adam(main_params, lr=lr)
    aux_opt = torch.optim.Adam(aux_params, lr=1e-3)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, steps, eta_min=lr / 20)
    step, gen = 0, np.random.default_rng(recipe.seed)
    if init is not None:
        model.load_state_dict(init.state_dict())
    if path.exists():
        state = torch.load(path, map_location=device, weights_only=False)
        model.load_state_dict(state["model"])
        opt.load_state_dict(state["opt"])
        aux_opt.load_state_dict(state["aux_opt"])
        sched.load_state_dict(state["sched"])
        step, gen = state["step"], state["rng"]
        torch.set_rng_state(state["torch_rng"])
        if step >= steps:
            if not model.entropy_bottleneck.frozen:  # a checkpoint from before frozen tables
                model.update()
                files.write_torch(path, {**state, "model": model.state_dict()})
            return model.eval()
        log.info("resuming %s at step %d", path, step)
    model.train()
    with tqdm(total=steps, initial=step, desc=f"{config.family} lambda={lmbda:g}",
              disable=not progress or None) as bar:
        while step < steps:
            x = batches.draw(gen).to(device, torch.float32) / 255
            loss, bpp, mse = rd_loss(model, x, lmbda)
            if not math.isfinite(float(loss.detach())):
                raise BenchError(f"non-finite loss at step {step} (lambda {lmbda:g}); "
                                 "try a smaller learning rate (--codec lr=...)")
            opt.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(main_params, 1.0)
            opt.step()
            sched.step()
            aux_opt.zero_grad()
            model.aux_loss().backward()
            aux_opt.step()
            step += 1
            bar.update(1)
            bar.set_postfix(bpp=f"{bpp:.3f}", psnr=f"{-10 * math.log10(max(mse, 1e-10)):.1f}")
            if step == steps:
                model.update()  # the integer tables every coder of this codec will use
            if step % save_every == 0 or step == steps:
                files.write_torch(path, {"model": model.state_dict(), "opt": opt.state_dict(),
                             "aux_opt": aux_opt.state_dict(), "sched": sched.state_dict(),
                             "step": step, "rng": gen, "torch_rng": torch.get_rng_state(),
                             "recipe": recipe.as_dict(), "lmbda": lmbda})
    return model.eval()
