"""``bench perf augment``: JPEG and BLS transforms of the Fashion-MNIST training set (60k),
against a plain per-image Pillow loop and a per-image model loop, in the same run.

The per-image references run on a sample and are extrapolated to the same volume.
"""
from __future__ import annotations

import argparse
import io
import json
import logging
import time

import numpy as np
import torch
from PIL import Image

from ..augment import AugmentContext, get_family
from ..augment.learned import load_or_train
from ..codecs.roundtrip import round_trip
from ..datasets import load_dataset, resolve_data_root

log = logging.getLogger(__name__)
QUALITY, LAMBDA = 20, 0.012


def _pillow_jpeg(img: np.ndarray, quality: int) -> np.ndarray:
    buf = io.BytesIO()
    Image.fromarray(img[..., 0] if img.shape[-1] == 1 else img).save(buf, "JPEG", quality=quality)
    return np.asarray(Image.open(io.BytesIO(buf.getvalue())))


def run(args: argparse.Namespace) -> int:
    images = load_dataset("fashion-mnist", "all", args.data_root).images[:60000]
    n = len(images)
    result = {"images": n}

    start = time.perf_counter()
    get_family("jpeg").fn(images, QUALITY, None)
    jpeg_s = time.perf_counter() - start
    sample = images[:5000]
    start = time.perf_counter()
    for img in sample:
        _pillow_jpeg(img, QUALITY)
    ref_s = (time.perf_counter() - start) * n / len(sample)
    result["jpeg"] = {"quality": QUALITY, "seconds": round(jpeg_s, 2), "img_per_s": round(n / jpeg_s),
                      "reference_img_per_s": round(n / ref_s), "ratio": round(ref_s / jpeg_s, 2),
                      "target_s": 10}

    ctx = AugmentContext("fashion-mnist", resolve_data_root(args.data_root), "cpu")
    model = load_or_train(ctx, "bls", LAMBDA)  # trained once, then cached
    start = time.perf_counter()
    round_trip(model, images)
    bls_s = time.perf_counter() - start
    sample = images[:300]
    start = time.perf_counter()
    for img in sample:
        x = torch.from_numpy(img[None]).permute(0, 3, 1, 2).float() / 255
        model.decompress(model.compress(x), img.shape[:2])
    ref_s = (time.perf_counter() - start) * n / len(sample)
    result["bls"] = {"lambda": LAMBDA, "seconds": round(bls_s, 2), "img_per_s": round(n / bls_s),
                     "reference_img_per_s": round(n / ref_s), "ratio": round(ref_s / bls_s, 2),
                     "target_s": 60}
    if args.json:
        print(json.dumps(result, indent=1))
    else:
        for name in ("jpeg", "bls"):
            r = result[name]
            print(f"{name:<5} {n} images in {r['seconds']:.1f} s ({r['img_per_s']} img/s; target "
                  f"< {r['target_s']} s); per-image loop {r['reference_img_per_s']} img/s; "
                  f"ratio {r['ratio']:.1f}")
    return 0
