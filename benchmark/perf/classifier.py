"""``bench perf train`` and ``bench perf eval``: the classifier loops against their textbook
references, measured in the same run on the same model, data and device.

- train: this trainer (the set as one uint8 tensor on the device, crop and flip batched
  there) against torchvision transforms + a DataLoader with one worker per core.
- eval: ``evaluate`` over a corrupted set as ``bench run`` reads it (files, uint8 to the
  device, counting) against the bare forward pass over the same images already on the device
  as float tensors.
"""
from __future__ import annotations

import argparse
import json
import logging
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from corruptions import build as builder
from corruptions import store
from corruptions.device import cpu_count, resolve_device

from ..datasets import load_dataset
from ..pipeline.evaluate import EvalSplit, evaluate
from ..pipeline.train import TrainConfig, build_classifier, train_classifier

log = logging.getLogger(__name__)


def _data(n: int, data_root) -> tuple[np.ndarray, np.ndarray]:
    ds = load_dataset("fashion-mnist", "train", data_root)
    return ds.images[:n], ds.labels[:n]


ROUNDS = 3


def _timed(fn, device: str) -> float:
    start = time.perf_counter()
    fn()
    _sync(device)
    return time.perf_counter() - start


def _sync(device: str) -> None:
    if device.startswith("cuda"):
        torch.cuda.synchronize()


def textbook_train(model, images, labels, cfg: TrainConfig, device: str, workers: int) -> float:
    """The usual loop: per-image torchvision transforms in DataLoader workers; seconds."""
    from torch.utils.data import DataLoader, Dataset
    from torchvision import transforms as T

    mean = model.mean.flatten().tolist()
    std = model.std.flatten().tolist()
    net = model.net.to(device)
    tf = T.Compose([T.ToPILImage(), T.RandomCrop(images.shape[1], padding=cfg.crop_padding),
                    T.RandomHorizontalFlip(), T.ToTensor(), T.Normalize(mean, std)])

    class Images(Dataset):
        def __len__(self):
            return len(labels)

        def __getitem__(self, i):
            im = images[i]
            return tf(im[..., 0] if im.shape[-1] == 1 else im), int(labels[i])

    loader = DataLoader(Images(), batch_size=cfg.batch_size, shuffle=True, num_workers=workers,
                        pin_memory=device.startswith("cuda"), persistent_workers=False)
    opt = torch.optim.SGD(net.parameters(), lr=cfg.lr, momentum=cfg.momentum,
                          weight_decay=cfg.weight_decay)
    net.train()
    start = time.perf_counter()
    for x, y in loader:
        x, y = x.to(device, non_blocking=True), y.to(device, non_blocking=True)
        loss = F.cross_entropy(net(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
    _sync(device)
    return time.perf_counter() - start


def run_train(args: argparse.Namespace) -> int:
    device = resolve_device(args.device)
    images, labels = _data(args.images, args.data_root)
    cfg = TrainConfig(epochs=1, batch_size=args.batch_size)
    result = {"model": args.model, "device": device, "images": len(labels),
              "batch_size": cfg.batch_size, "workers": cpu_count()}
    torch.manual_seed(0)
    warm = build_classifier(args.model, images, 10)
    train_classifier(warm, images[:2 * cfg.batch_size], labels[:2 * cfg.batch_size], cfg,
                     seed=0, device=device, progress=False)  # warm-up: kernels, compile
    torch.manual_seed(0)
    model = build_classifier(args.model, images, 10)
    start = time.perf_counter()
    train_classifier(model, images, labels, cfg, seed=0, device=device, progress=False)
    _sync(device)
    ours = time.perf_counter() - start
    torch.manual_seed(0)
    ref = textbook_train(build_classifier(args.model, images, 10), images, labels, cfg, device,
                         cpu_count())
    result.update(ours_img_per_s=round(len(labels) / ours, 1),
                  textbook_img_per_s=round(len(labels) / ref, 1), ratio=round(ref / ours, 2))
    target = 5.0 if device.startswith("cuda") else 1.5
    print(json.dumps(result, indent=1) if args.json else
          f"train {args.model} on {device}, {len(labels)} Fashion-MNIST images, batch "
          f"{cfg.batch_size}: this trainer {result['ours_img_per_s']:.0f} img/s, textbook "
          f"DataLoader ({cpu_count()} workers) {result['textbook_img_per_s']:.0f} img/s, ratio "
          f"{result['ratio']:.2f} (target >= {target:g})")
    return 0


def run_eval(args: argparse.Namespace) -> int:
    device = resolve_device(args.device)
    ds = load_dataset("fashion-mnist", "test", args.data_root).head(args.images)
    torch.manual_seed(0)
    model = build_classifier(args.model, ds.images, 10).to(device, memory_format=torch.channels_last).eval()
    names = ["gaussian_noise", "fog", "contrast", "pixelate"]
    with tempfile.TemporaryDirectory(prefix="perf-eval-") as tmp:
        builder.build(ds.images, ds.labels, ds.names, Path(tmp), dataset="fashion-mnist",
                      split="test", corruptions=names, workers=1, progress=False)
        cs = store.open_corrupted(tmp, verify=False)
        split = EvalSplit("test", ds.images, ds.labels, (cs,))
        n = len(ds) * split.count()
        tensors = [torch.from_numpy(np.array(im)).permute(0, 3, 1, 2).float().div(255)
                   .contiguous(memory_format=torch.channels_last).to(device)
                   for _, _, _, im in split.sets()]
        cuda = device.startswith("cuda")

        def forward_only() -> None:
            with torch.inference_mode(), torch.autocast("cuda", dtype=torch.bfloat16, enabled=cuda):
                for x in tensors:
                    for k in range(0, len(x), 1000):
                        model(x[k:k + 1000])

        evaluate(model, [split], device, progress=False)  # warm-up
        # alternate the two, best of ROUNDS each: a shared VM's speed drifts by tens of %
        ours = bare = float("inf")
        for _ in range(ROUNDS):
            ours = min(ours, _timed(lambda: evaluate(model, [split], device, progress=False), device))
            bare = min(bare, _timed(forward_only, device))
    result = {"model": args.model, "device": device, "images": n,
              "ours_img_per_s": round(n / ours, 1), "bare_forward_img_per_s": round(n / bare, 1),
              "ratio": round(bare / ours, 3)}
    print(json.dumps(result, indent=1) if args.json else
          f"eval {args.model} on {device}, {n} images (clean + 4 corruptions x 5 severities): "
          f"evaluate() {result['ours_img_per_s']:.0f} img/s, bare forward on device tensors "
          f"{result['bare_forward_img_per_s']:.0f} img/s, ratio {result['ratio']:.3f} (target >= 0.9)")
    return 0
