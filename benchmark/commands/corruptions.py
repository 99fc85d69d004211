"""``bench build-corruptions`` and ``bench corruptions list | preview``."""
from __future__ import annotations

import argparse
import logging
from pathlib import Path

import numpy as np
from tqdm import tqdm

import corruptions as C
from corruptions import build as builder
from corruptions import files, store
from corruptions.device import cpu_count, resolve_device
from corruptions.errors import BenchError
from corruptions.spectrum import BANDS
from corruptions.store import identity_corruptions

from ..datasets import Dataset, dataset_slug, load_dataset, resolve_data_root
from .common import add_data_args, int_list, positive_int, seed_int

log = logging.getLogger(__name__)


def add_parsers(sub) -> None:
    p = sub.add_parser("build-corruptions", help="build a corrupted test set (CIFAR-10-C layout)")
    add_data_args(p)
    p.add_argument("--scale", choices=C.SCALES, default=None,
                   help="parameter table (default: cifar up to 64 px, imagenet above)")
    p.add_argument("--corruptions", default="all",
                   help="common, extra, all (the C suite), cbar (CIFAR-10-C-bar), or a,b,c")
    p.add_argument("--severities", type=int_list, default=list(C.SEVERITIES), help="e.g. 1,2,3")
    p.add_argument("--limit", type=positive_int, default=None, help="first N images only")
    p.add_argument("--seed", type=seed_int, default=0)
    p.add_argument("--out", default=None,
                   help="default: <data-root>/corrupted/<dataset>-c (-c-bar for C-bar)")
    p.add_argument("--workers", type=positive_int, default=cpu_count(),
                   help="CPU processes (default: all cores)")
    p.add_argument("--device", default="auto", help="auto (CUDA when present), cpu or cuda[:N]")
    p.add_argument("--backend", choices=builder.BACKENDS, default="engine",
                   help="this engine, or imagecorruptions' per-image loop (ImageNet scale)")
    p.add_argument("--resume", action="store_true", help="keep corruptions whose files verify")
    p.set_defaults(func=cmd_build)

    group = sub.add_parser("corruptions", help="list or preview the corruptions")
    gsub = group.add_subparsers(dest="action", required=True, parser_class=type(group))
    lp = gsub.add_parser("list", help="corruptions, parameters and frequency profiles")
    lp.add_argument("--manifest", default=None, help="a built set's manifest.json to report")
    lp.add_argument("--dataset", default="fashion-mnist", help="sample to profile when no manifest")
    lp.add_argument("--split", default="test")
    lp.add_argument("--data-root", default=None)
    lp.add_argument("--scale", choices=C.SCALES, default=None)
    lp.add_argument("--limit", type=positive_int, default=256)
    lp.add_argument("--seed", type=seed_int, default=0)
    lp.add_argument("--corruptions", default="all",
                    help="which to profile when no manifest: all (the C suite), cbar, or a,b,c")
    lp.set_defaults(func=cmd_list)

    pp = gsub.add_parser("preview", help="one image, every corruption x severity, as a picture")
    add_data_args(pp)
    pp.add_argument("--index", type=int, default=0)
    pp.add_argument("--out", required=True, help="PNG file to write")
    pp.add_argument("--scale", choices=C.SCALES, default=None)
    pp.add_argument("--corruptions", default="all")
    pp.add_argument("--seed", type=seed_int, default=0)
    pp.set_defaults(func=cmd_preview)


def _load(args, limit: int | None = None) -> Dataset:
    ds = load_dataset(args.dataset, split=args.split, data_root=args.data_root)
    return ds.head(limit) if limit else ds



def cmd_build(args: argparse.Namespace) -> int:
    names = C.parse_names(args.corruptions)
    suite = C.registry.suite_of(names)
    severities = [C.engine.check_severity(s) for s in args.severities]
    builder.check_backend(args.backend, args.scale)
    resolve_device(args.device)  # fail before loading any data
    ds = _load(args, args.limit)
    out = Path(args.out) if args.out else (
        resolve_data_root(args.data_root) / "corrupted" / (dataset_slug(args.dataset)
                                                            + store.SUITE_SUFFIX[suite]))
    manifest = builder.build(
        ds.images, ds.labels, ds.names, out, dataset=args.dataset, split=args.split,
        corruptions=names, severities=severities, scale=args.scale, seed=args.seed,
        limit=args.limit, backend=args.backend, device=args.device, workers=args.workers,
        resume=args.resume)
    log.info("wrote %s (%s layout, %s scale, %d corruptions x %d severities x %d images)",
             out, manifest["layout"], manifest["scale"], len(manifest["corruptions"]),
             len(manifest["severities"]), manifest["n_images"])
    return 0


# --------------------------------------------------------------------------- list
def _profiles_on_the_fly(args) -> tuple[dict, str]:
    ds = _load(args, args.limit)
    images = ds.images
    scale = args.scale or builder.default_scale_for(images)
    spec = builder.BuildSpec(args.dataset, args.split, scale, args.seed, C.SEVERITIES,
                             args.limit, "engine", "npy")
    chunks = builder.image_chunks(images, ds.names)
    profiles = {}
    for name in tqdm(C.parse_names(args.corruptions), desc="profiling", unit="corruption",
                     disable=None):
        accs = {}
        for s in C.SEVERITIES:
            acc = builder.SpectrumAccumulator()
            for idx, _ in chunks:
                batch = np.stack([images[i] for i in idx])
                acc.add(batch, C.corrupt(batch, name, s, scale=scale, seed=args.seed, indices=idx))
            accs[s] = acc
        profiles[name] = builder.profile_entry(name, spec, accs)
    return profiles, f"{args.dataset} ({args.split}, first {len(ds)} images), {scale} scale"


def format_profiles(profiles: dict) -> str:
    """The corruption table: published vs measured band, shares, PSNR per severity."""
    width = max(18, *map(len, profiles))
    head = (f"{'corruption':<{width}} {'category':<10} {'set':<6} {'published':<9} "
            f"{'measured':<12} {'low/mid/high density share':<27} {'band':<5} "
            f"{'PSNR s1..s5 (dB)'}")
    lines = [head, "-" * len(head)]
    identity = identity_corruptions({"corruptions": list(profiles), "profiles": profiles})
    for name, p in profiles.items():
        m = p["measured"]
        shares = "/".join(f"{m['shares'][b]:.2f}" for b in BANDS)
        measured = ("flat~" if m["flat"] else "") + p["measured_band"]
        mark = ""
        if p["published_band"] and p["published_band"] != p["measured_band"]:
            mark = "  <- measured differs"
        if name in identity:
            mark = "  <- the identity on these images: left out of the averages"
        psnr = " ".join("  inf" if p["severity"][s].get("identity") or name in identity
                        else f"{p['severity'][s]['psnr']:5.1f}" for s in sorted(p["severity"]))
        kind = "cbar" if p.get("suite") == "cbar" else "common" if p["common"] else "extra"
        lines.append(f"{name:<{width}} {p['category']:<10} {kind:<6} "
                     f"{p['published_band'] or '-':<9} {measured:<12} {shares:<27} "
                     f"{p['band']:<5} {psnr}{mark}")
    lines.append("band: the published grouping (Lieberman et al. 2023) for the 15 common "
                 "corruptions, the measured one for the others; flat~ = densest band < 2x "
                 "sparsest.")
    if identity:
        lines.append(f"identity ({', '.join(identity)}): every image left exactly as it was at "
                     "every severity (PSNR infinite); a run names it in its summary and leaves it "
                     "out of the unseen pick and the thesis-ten average.")
    return "\n".join(lines)


def cmd_list(args: argparse.Namespace) -> int:
    if args.manifest:
        path = Path(args.manifest)
        manifest = store.read_manifest(path.parent if path.name == store.MANIFEST else path)
        if manifest is None:
            raise BenchError(f"{path}: no manifest there")
        wanted = ("profiles", "dataset", "split", "n_images", "scale", "seed")
        missing = [k for k in wanted if k not in manifest]
        if missing:
            raise BenchError(f"{path}: not a corrupted set's manifest (no {', '.join(missing)})")
        profiles = manifest["profiles"]
        source = (f"{manifest['dataset']} ({manifest['split']}, {manifest['n_images']} images), "
                  f"{manifest['scale']} scale, seed {manifest['seed']}")
    else:
        profiles, source = _profiles_on_the_fly(args)
    print(f"Frequency profiles measured on {source}")
    print(format_profiles(profiles))
    return 0


# --------------------------------------------------------------------------- preview
def cmd_preview(args: argparse.Namespace) -> int:
    from corruptions.preview import preview_figure

    ds = _load(args)
    if not 0 <= args.index < len(ds):
        raise BenchError(f"--index {args.index} out of range (the split has {len(ds)} images)")
    img = np.asarray(ds.images[args.index])
    scale = args.scale or C.default_scale(*img.shape[:2])
    fig = preview_figure(img, C.parse_names(args.corruptions), scale=scale, seed=args.seed,
                         index=args.index,
                         title=f"{args.dataset} [{args.split}] #{args.index}, {scale} scale")
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    with files.atomic_path(out) as tmp:
        fig.savefig(tmp, dpi=100, format="png")
    log.info("wrote %s", out)
    return 0
