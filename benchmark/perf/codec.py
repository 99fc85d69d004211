"""``bench perf codec``: training steps/s of this project's learned codec against CompressAI's
FactorizedPrior at the same size, batch and crop, in the same run.

Both sides run the same step: forward, bpp + lambda 255^2 MSE, backward, gradient clipping
at 1, Adam, then the quantiles' auxiliary loss on its own Adam (CompressAI's example
trainer). CompressAI is the oracle the reference note describes (installed ``--no-deps`` by
``make setup``); without it the benchmark says so and exits 2. Ours runs as the zoo trains
it: mixed quantisation, and with ``torch.compile`` beside the eager number.
"""
from __future__ import annotations

import argparse
import json
import logging
import time

import numpy as np
import torch

from corruptions.errors import BenchError

from ..codecs.models import CodecConfig, build_codec
from ..codecs.train import LossFn, Optimizers
from ..datasets import load_dataset

log = logging.getLogger(__name__)
LAMBDA = 0.012


def _crops(images: list[np.ndarray], n: int, side: int, seed: int = 0) -> torch.Tensor:
    gen = np.random.default_rng(seed)
    out = []
    for i in gen.integers(0, len(images), n):
        im = images[i]
        y, x = gen.integers(0, im.shape[0] - side + 1), gen.integers(0, im.shape[1] - side + 1)
        out.append(im[y:y + side, x:x + side])
    return torch.from_numpy(np.stack(out)).permute(0, 3, 1, 2).float() / 255


def _time(step, batches: list[torch.Tensor], warmup: int) -> float:
    """Seconds per step over ``batches`` after ``warmup`` untimed steps."""
    for x in batches[:warmup]:
        step(x)
    start = time.perf_counter()
    for x in batches[warmup:]:
        step(x)
    return (time.perf_counter() - start) / (len(batches) - warmup)


def _ours(args, compile: bool):
    torch.manual_seed(0)
    model = build_codec(CodecConfig("bls", 3, N=args.N, M=args.M, depth=4)).train()
    model.quant = "mixed"
    optim, loss_fn = Optimizers(model, 1e-4, 10**6), LossFn(model, LAMBDA, compile)
    return lambda x: optim.step(loss_fn(x)[0])


def _compressai(args):
    try:
        from compressai.models import FactorizedPrior
    except ImportError:
        raise BenchError("bench perf codec needs CompressAI as its reference (make setup installs "
                         "it --no-deps); it is not importable here") from None
    torch.manual_seed(0)
    net = FactorizedPrior(args.N, args.M).train()
    main = [p for n, p in net.named_parameters() if not n.endswith(".quantiles")]
    aux = [p for n, p in net.named_parameters() if n.endswith(".quantiles")]
    opt, aux_opt = torch.optim.Adam(main, lr=1e-4), torch.optim.Adam(aux, lr=1e-3)

    def step(x):
        opt.zero_grad()
        aux_opt.zero_grad()
        out = net(x)
        pixels = x.shape[0] * x.shape[2] * x.shape[3]
        bpp = sum(torch.log(p).sum() / (-np.log(2) * pixels) for p in out["likelihoods"].values())
        loss = LAMBDA * 255**2 * torch.mean((out["x_hat"] - x) ** 2) + bpp
        loss.backward()
        torch.nn.utils.clip_grad_norm_(net.parameters(), 1.0)
        opt.step()
        net.aux_loss().backward()
        aux_opt.step()
    return step


def run(args: argparse.Namespace) -> int:
    if args.steps < 2 or args.batch_size < 1 or args.crop < 16 or args.crop % 16:
        raise BenchError("bench perf codec: --steps >= 2, --batch-size >= 1 and --crop a "
                         "multiple of 16 (>= 16) are needed")
    photos = load_dataset("skimage", "all", args.data_root).images
    warmup = max(1, args.steps // 5)
    batches = [_crops(photos, args.batch_size, args.crop, seed=i) for i in range(args.steps + warmup)]
    torch.set_num_threads(args.threads)
    reference = _compressai(args)
    result = {"N": args.N, "M": args.M, "batch_size": args.batch_size, "crop": args.crop,
              "steps": args.steps, "threads": args.threads, "lambda": LAMBDA}
    timings = {"compressai": _time(reference, batches, warmup),
               "ours_eager": _time(_ours(args, False), batches, warmup),
               "ours_compiled": _time(_ours(args, True), batches, warmup + 2)}
    for name, sec in timings.items():
        result[name] = {"steps_per_s": round(1 / sec, 3),
                        "img_per_s": round(args.batch_size / sec, 1)}
    result["ratio_eager"] = round(timings["compressai"] / timings["ours_eager"], 3)
    result["ratio_compiled"] = round(timings["compressai"] / timings["ours_compiled"], 3)
    if args.json:
        print(json.dumps(result, indent=1))
        return 0
    print(f"codec training, N={args.N} M={args.M}, batch {args.batch_size} x {args.crop} px crops "
          f"(scikit-image photos), {args.threads} thread(s), {args.steps} timed steps")
    for name in timings:
        r = result[name]
        print(f"  {name:<14} {r['steps_per_s']:>8.2f} steps/s {r['img_per_s']:>8.1f} img/s")
    print(f"ratio vs CompressAI: eager {result['ratio_eager']:.2f}, compiled "
          f"{result['ratio_compiled']:.2f} (target >= 1)")
    return 0
