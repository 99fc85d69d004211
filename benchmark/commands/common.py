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
    """At least one integer, comma-separated ("1,2,3")."""
    try:
        found = [int(t) for t in text.split(",") if t.strip()]
    except ValueError:
        found = []
    if not found:
        raise argparse.ArgumentTypeError(f"expected comma-separated integers, got {text!r}")
    return found


def _int_at_least(lo: int, what: str):
    def parse(text: str) -> int:
        try:
            v = int(text)
        except ValueError:
            v = lo - 1
        if v < lo:
            raise argparse.ArgumentTypeError(f"expected {what}, got {text!r}")
        return v
    return parse


positive_int = _int_at_least(1, "a positive integer")
seed_int = _int_at_least(0, "a seed, an integer >= 0")
