"""``bench codec train``: train one learned codec (cached by dataset, family, lambda, config)."""
from __future__ import annotations

import argparse
import logging

import numpy as np

from corruptions.build import resolve_device

from ..augment.learned import TRAINING, codec_transform, default_config
from ..augment.metrics import psnr
from ..codecs.models import CODECS, CodecConfig
from ..codecs.train import checkpoint_path, config_hash, train_codec
from ..datasets import load_dataset, resolve_data_root
from ..errors import BenchError
from .common import positive_int

log = logging.getLogger(__name__)


def add_parsers(sub) -> None:
    p = sub.add_parser("codec", help="learned codecs")
    csub = p.add_subparsers(dest="action", required=True, parser_class=type(p))
    t = csub.add_parser("train", help="train one codec at one lambda (cached, resumable)")
    t.add_argument("--family", required=True, choices=sorted(CODECS))
    t.add_argument("--lmbda", type=float, required=True, help="loss = bpp + lambda 255^2 MSE")
    t.add_argument("--dataset", required=True)
    t.add_argument("--data-root", default=None)
    t.add_argument("--steps", type=positive_int, default=TRAINING["steps"])
    t.add_argument("--batch-size", type=positive_int, default=TRAINING["batch_size"])
    t.add_argument("--lr", type=float, default=TRAINING["lr"])
    t.add_argument("--seed", type=int, default=TRAINING["seed"])
    t.add_argument("--N", type=positive_int, default=None, help="channels of the transforms")
    t.add_argument("--M", type=positive_int, default=None, help="latent channels")
    t.add_argument("--depth", type=positive_int, default=None, help="stride-2 stages")
    t.add_argument("--device", default="auto")
    t.set_defaults(func=cmd_train)


def cmd_train(args: argparse.Namespace) -> int:
    if not args.lmbda > 0:
        raise BenchError(f"--lmbda must be > 0, got {args.lmbda}")
    device = resolve_device(args.device)
    train = load_dataset(args.dataset, "train", args.data_root)
    if not train.fixed_size:
        raise BenchError(f"{args.dataset}: codec training needs images of one size")
    base = default_config(args.family, train.channels, max(train.images.shape[1:3]))
    config = CodecConfig(args.family, train.channels, args.N or base.N, args.M or base.M,
                         args.depth or base.depth)
    digest = config_hash(config, args.steps, args.batch_size, args.lr, args.seed)
    path = checkpoint_path(resolve_data_root(args.data_root), args.dataset, config, args.lmbda,
                           digest)
    model = train_codec(train.images, config, args.lmbda, path, steps=args.steps,
                        batch_size=args.batch_size, lr=args.lr, seed=args.seed, device=device)
    test = load_dataset(args.dataset, "test", args.data_root).head(1000)
    pixels = int(np.prod(test.images.shape[1:3]))
    res = codec_transform(model, test.images, device)
    print(f"{path}\n{args.family} lambda={args.lmbda:g} on {len(test)} test images: "
          f"bpp {res.bits.mean() / pixels:.4f} from bytes "
          f"({res.estimated_bits.mean() / pixels:.4f} estimated), "
          f"PSNR {psnr(test.images, res.images).mean():.2f} dB")
    return 0
