"""``bench codec train``: train one learned codec (cached by dataset, family, lambda, recipe)."""
from __future__ import annotations

import argparse
import logging

import numpy as np

from corruptions.device import resolve_device
from corruptions.errors import BenchError

from ..augment.learned import codec_entry, codec_transform, load_or_train
from ..augment.metrics import psnr
from ..augment.registry import AugmentContext
from ..codecs.models import CODECS
from ..codecs.recipe import parse_overrides
from ..datasets import load_dataset, resolve_data_root
from .common import add_codec_arg

log = logging.getLogger(__name__)
EVAL_IMAGES = 1000


def add_parsers(sub) -> None:
    p = sub.add_parser("codec", help="learned codecs")
    csub = p.add_subparsers(dest="action", required=True, parser_class=type(p))
    t = csub.add_parser("train", help="train one codec at one lambda (cached, resumable)")
    t.add_argument("--family", required=True, choices=sorted(CODECS))
    t.add_argument("--lmbda", type=float, required=True, help="loss = bpp + lambda 255^2 MSE")
    t.add_argument("--dataset", required=True, help="trains on its train split")
    t.add_argument("--data-root", default=None)
    t.add_argument("--device", default="auto")
    add_codec_arg(t)
    t.set_defaults(func=cmd_train)


def cmd_train(args: argparse.Namespace) -> int:
    if not args.lmbda > 0:
        raise BenchError(f"--lmbda must be > 0, got {args.lmbda}")
    ctx = AugmentContext(args.dataset, resolve_data_root(args.data_root),
                         resolve_device(args.device), True, parse_overrides(args.codec))
    entry = codec_entry(ctx, args.family, args.lmbda)
    model = load_or_train(ctx, args.family, args.lmbda)
    test = load_dataset(args.dataset, "test", args.data_root).head(EVAL_IMAGES)
    bits, estimate, pixels, quality = [], [], [], []
    for _, images in test.batches(256):
        res = codec_transform(model, images, ctx.device)
        bits.append(res.bits)
        estimate.append(res.estimated_bits)
        pixels.append(np.full(len(images), images.shape[1] * images.shape[2]))
        quality.append(psnr(images, res.images))
    bits, estimate, pixels = (np.concatenate(a) for a in (bits, estimate, pixels))
    print(f"{entry.path}\n{args.family} lambda={args.lmbda:g} on {len(test)} test images: "
          f"bpp {np.mean(bits / pixels):.4f} from bytes "
          f"({np.mean(estimate / pixels):.4f} estimated), "
          f"PSNR {np.concatenate(quality).mean():.2f} dB")
    return 0
