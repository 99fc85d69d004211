"""Arguments shared by several commands."""
from __future__ import annotations

import argparse


def add_data_args(p: argparse.ArgumentParser, split_default: str = "test") -> None:
    p.add_argument("--dataset", required=True,
                   help="fashion-mnist, mnist, cifar10, cifar100, kodak, skimage, photos, "
                        "imagefolder:PATH")
    p.add_argument("--split", default=split_default, help="train, validation, test or all")
    p.add_argument("--data-root", default=None,
                   help="where datasets live (default: $BENCH_DATA, else ./data)")


def add_codec_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument("--codec", default=None, metavar="KEY=VALUE,...",
                   help="learned-codec recipe overrides: N, M, depth, steps, batch_size, lr, "
                        "seed, patch, init_lmbda, init_steps, quant (noise|mixed), or "
                        "source=compressai for CompressAI's published weights (e.g. "
                        "N=64,M=96,steps=2000); they change the default recipe for the "
                        "images' size (small images: N=32,M=48; photographs: the published "
                        "N=128,M=192 on 128 px crops), not the zoo's or the photograph "
                        "recipe: name every field to change those; none: the dataset's codec "
                        "zoo, or the photograph recipe")


def int_list(text: str) -> list[int]:
    try:
        return [int(t) for t in text.split(",") if t.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated integers, got {text!r}")


def positive_int(text: str) -> int:
    try:
        v = int(text)
    except ValueError:
        v = 0
    if v < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return v
