"""``bench perf ...``: speed benchmarks that print ratios against a reference run alongside."""
from __future__ import annotations

import argparse

from .common import positive_int


def add_parsers(sub) -> None:
    p = sub.add_parser("perf", help="speed benchmarks (ratios against a reference, same run)")
    psub = p.add_subparsers(dest="target", required=True, parser_class=type(p))
    c = psub.add_parser("corruptions", help="this engine vs imagecorruptions' per-image loop")
    c.add_argument("--json", action="store_true", help="machine-readable output")
    c.add_argument("--set", choices=("c", "cbar"), default="c",
                   help="c: against imagecorruptions; cbar: the C-bar build against its target")
    c.add_argument("--size", type=positive_int, default=224, help="crop size of the comparison")
    c.add_argument("--data-root", default=None)
    c.add_argument("--skip-build", action="store_true",
                   help="skip the timed full Fashion-MNIST-C build")
    c.add_argument("--device", default="cpu",
                   help="the engine's device: cpu (a pool of all cores) or cuda (in-process)")
    c.set_defaults(func=cmd_perf_corruptions)
    a = psub.add_parser("augment", help="JPEG and BLS over Fashion-MNIST train vs per-image loops")
    a.add_argument("--json", action="store_true")
    a.add_argument("--data-root", default=None)
    a.set_defaults(func=cmd_perf_augment)
    o = psub.add_parser("augment-online", help="the online stage (AugMix, TrivialAugment) vs "
                        "torchvision per image in a DataLoader with workers")
    o.add_argument("--json", action="store_true")
    o.add_argument("--images", type=positive_int, default=10000)
    o.add_argument("--data-root", default=None)
    o.set_defaults(func=cmd_perf_online)
    s = psub.add_parser("capacity", help="the capacity recipe's sweep: validation accuracy "
                        "against training seconds (resumable)")
    s.add_argument("--json", action="store_true")
    s.add_argument("--runs", default="runs", help="where each configuration's result is kept")
    s.add_argument("--fresh", action="store_true", help="measure every configuration again")
    s.add_argument("--out", default=None, help="also write the table as JSON here "
                   "(reports/perf/capacity.json is the committed one)")
    s.add_argument("--data-root", default=None)
    s.set_defaults(func=cmd_perf_capacity)
    k = psub.add_parser("codec", help="codec training steps/s vs CompressAI's FactorizedPrior")
    k.add_argument("--json", action="store_true")
    k.add_argument("--N", type=positive_int, default=128)
    k.add_argument("--M", type=positive_int, default=192)
    k.add_argument("--batch-size", type=positive_int, default=8)
    k.add_argument("--crop", type=positive_int, default=64, help="side of the random training crops")
    k.add_argument("--steps", type=positive_int, default=30, help="timed steps per side")
    k.add_argument("--threads", type=positive_int, default=torch_threads(), help="torch threads")
    k.add_argument("--data-root", default=None)
    k.set_defaults(func=cmd_perf_codec)
    for target, fn, default_model, n in (("train", cmd_perf_train, "small_cnn", 20000),
                                         ("eval", cmd_perf_eval, "small_cnn", 5000)):
        t = psub.add_parser(target, help=f"this {target} loop vs its textbook reference")
        t.add_argument("--json", action="store_true")
        t.add_argument("--model", default=default_model,
                       help="small_cnn on the CPU; resnet18_cifar is the GPU target's model")
        t.add_argument("--images", type=positive_int, default=n)
        t.add_argument("--batch-size", type=positive_int, default=128)
        t.add_argument("--device", default="auto")
        t.add_argument("--data-root", default=None)
        t.set_defaults(func=fn)


def torch_threads() -> int:
    import os
    return os.cpu_count() or 1


def cmd_perf_codec(args: argparse.Namespace) -> int:
    from ..perf.codec import run
    return run(args)


def cmd_perf_corruptions(args: argparse.Namespace) -> int:
    from ..perf.corruptions import run
    return run(args)


def cmd_perf_augment(args: argparse.Namespace) -> int:
    from ..perf.augment import run
    return run(args)


def cmd_perf_capacity(args: argparse.Namespace) -> int:
    from ..perf.capacity import run
    return run(args)


def cmd_perf_online(args: argparse.Namespace) -> int:
    from ..perf.online import run
    return run(args)


def cmd_perf_train(args: argparse.Namespace) -> int:
    from ..perf.classifier import run_train
    return run_train(args)


def cmd_perf_eval(args: argparse.Namespace) -> int:
    from ..perf.classifier import run_eval
    return run_eval(args)
