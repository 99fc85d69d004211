"""``bench augment``: build (or verify and reuse) cached augmented training sets."""
from __future__ import annotations

import argparse

from ..augment import family_names, get_family, parse_params
from ..augment.cache import ensure_augmented
from ..datasets import load_dataset, resolve_data_root
from corruptions.build import resolve_device

from .common import add_data_args, positive_int


def add_parsers(sub) -> None:
    p = sub.add_parser("augment", help="transform a training split with a family, cached")
    add_data_args(p, split_default="train")
    p.add_argument("--family", required=True, help=", ".join(family_names()))
    p.add_argument("--param", default=None,
                   help="one parameter, or a union a+b; default: the family's thesis grid")
    p.add_argument("--limit", type=positive_int, default=None, help="first N images only")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--device", default="auto", help="auto, cpu or cuda (learned codecs)")
    p.set_defaults(func=cmd_augment)


def cmd_augment(args: argparse.Namespace) -> int:
    family = get_family(args.family)
    values = parse_params(family, args.param) or list(family.grid)
    ds = load_dataset(args.dataset, split=args.split, data_root=args.data_root)
    if args.limit:
        ds = ds.head(args.limit)
    for v in values:
        family.check(v, ds.images.shape)
    root = resolve_data_root(args.data_root)
    device = resolve_device(args.device)
    print(f"{'param':>10} {'bpp (payload)':>16} {'bpp (file)':>14} {'PSNR dB':>14} {'SSIM':>14}  folder")
    for v in values:
        folder, m = ensure_augmented(ds, family, v, root, seed=args.seed, device=device)
        bpp = (f"{m['bpp']['mean']:.3f}±{m['bpp']['std']:.3f}", f"{m['file_bpp']['mean']:.2f}"
               ) if "bpp" in m else ("-", "-")
        print(f"{m['param']:>10} {bpp[0]:>16} {bpp[1]:>14} "
              f"{m['psnr']['mean']:>8.2f}±{m['psnr']['std']:<5.2f} "
              f"{m['ssim']['mean']:>7.4f}±{m['ssim']['std']:<6.4f} {folder}")
    return 0
