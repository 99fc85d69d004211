"""``bench codec train``: train one learned codec (cached by dataset, family, lambda, recipe);
``bench codec zoo``: the shipped reference codecs, their RD and BD numbers, and their
reproduction from scratch."""
from __future__ import annotations

import argparse
import json
import logging
from pathlib import Path

import numpy as np

from corruptions.device import resolve_device
from corruptions.errors import BenchError

from ..augment import AugmentContext, get_family
from ..augment.analysis import jpeg_curve
from ..augment.learned import load_or_train
from ..codecs.metrics import psnr
from ..codecs.models import CODECS
from ..codecs.recipe import parse_overrides
from ..codecs.roundtrip import round_trip
from ..codecs.zoo import FAMILIES, LAMBDAS, ZOO_ROOT, read_index, train_zoo
from ..datasets import load_dataset, resolve_data_root
from .common import add_codec_arg, positive_int

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
    z = csub.add_parser("zoo", help="the shipped reference codecs: RD on the test split, BD vs "
                                    "JPEG; --train reproduces them")
    z.add_argument("--dataset", default="fashion-mnist")
    z.add_argument("--data-root", default=None, help="where training checkpoints are cached")
    z.add_argument("--train", action="store_true",
                   help="train every zoo codec from scratch (resumable), then write the zoo")
    z.add_argument("--families", default=",".join(FAMILIES))
    z.add_argument("--workers", type=positive_int, default=None,
                   help="training processes (default: one per family, up to the cores)")
    z.add_argument("--no-compile", action="store_true", help="train without torch.compile")
    z.add_argument("--out", default=None, help="zoo folder to write (default: the package's)")
    z.add_argument("--json", action="store_true", help="the index as JSON")
    z.set_defaults(func=cmd_zoo)


def cmd_train(args: argparse.Namespace) -> int:
    if not args.lmbda > 0:
        raise BenchError(f"--lmbda must be > 0, got {args.lmbda}")
    ctx = AugmentContext(args.dataset, resolve_data_root(args.data_root),
                         resolve_device(args.device), True, parse_overrides(args.codec))
    where = get_family(args.family).provenance(args.lmbda, ctx)
    model = load_or_train(ctx, args.family, args.lmbda)
    test = load_dataset(args.dataset, "test", args.data_root).head(EVAL_IMAGES)
    bits, estimate, pixels, quality = [], [], [], []
    for _, images in test.batches(256):
        res = round_trip(model, images, ctx.device)
        bits.append(res.bits)
        estimate.append(res.estimated_bits)
        pixels.append(np.full(len(images), images.shape[1] * images.shape[2]))
        quality.append(psnr(images, res.images))
    bits, estimate, pixels = (np.concatenate(a) for a in (bits, estimate, pixels))
    source = where.get("zoo") or where.get("url") or where.get("checkpoint")
    print(f"{source}\n{args.family} lambda={args.lmbda:g} on {len(test)} test images: "
          f"bpp {np.mean(bits / pixels):.4f} from bytes "
          f"({np.mean(estimate / pixels):.4f} estimated), "
          f"PSNR {np.concatenate(quality).mean():.2f} dB")
    return 0


def cmd_zoo(args: argparse.Namespace) -> int:
    families = tuple(f.strip() for f in args.families.split(",") if f.strip())
    unknown = [f for f in families if f not in FAMILIES]
    if unknown or not families:
        raise BenchError(f"--families: expected some of {', '.join(FAMILIES)}, got {args.families!r}")
    root = Path(args.out) if args.out else ZOO_ROOT
    if args.train:
        index = train_zoo(args.dataset, resolve_data_root(args.data_root), LAMBDAS, families,
                          args.workers, not args.no_compile, root,
                          reference=jpeg_curve)
    else:
        index = read_index(args.dataset, root)
        if index is None:
            raise BenchError(f"no codec zoo for {args.dataset!r} in {root} "
                             "(bench codec zoo --train makes one)")
    if args.json:
        print(json.dumps(index.as_dict(), indent=1))
        return 0
    print(f"codec zoo of {index.dataset}: RD on the {index.split} split "
          f"({index.codecs[0].rd.images} images), real bitstreams, {index.threads} thread(s)")
    print(f"{'family':<7} {'lambda':>7} {'bpp':>7} {'PSNR dB':>8} {'SSIM':>7} {'KB':>6}  sha256")
    for c in index.codecs:
        print(f"{c.family:<7} {c.lmbda:>7g} {c.rd.bpp:>7.4f} {c.rd.psnr:>8.2f} {c.rd.ssim:>7.4f} "
              f"{c.bytes / 1024:>6.1f}  {c.sha256[:12]}")
    for j in index.jpeg:
        print(f"{'jpeg':<7} {'q' + str(j['quality']):>7} {j['bpp']:>7.4f} {j['psnr']:>8.2f} "
              f"{j['ssim']:>7.4f}")
    for family, r in index.bd.items():
        rng = r["bpp_range"]
        print(f"BD vs JPEG ({r['fit']} fit, {rng[0]:.3f}-{rng[1]:.3f} bpp): {family} "
              f"{r['bd_psnr_db']:+.2f} dB, BD-rate {r['bd_rate_pct']:+.1f}%" if rng else
              f"BD vs JPEG: {family}: no overlapping rate range")
    total = sum(c.bytes for c in index.codecs)
    print(f"{len(index.codecs)} codecs, {total / 2**20:.2f} MiB in all")
    return 0
