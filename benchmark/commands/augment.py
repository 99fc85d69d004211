"""``bench augment``: build (or verify and reuse) cached augmented training sets."""
from __future__ import annotations

import argparse
from pathlib import Path

from corruptions import files
from corruptions.device import resolve_device
from corruptions.errors import BenchError

from ..augment import family_names, get_family, parse_params
from ..augment.analysis import REFERENCE, mean_log_spectrum, plot_spectrum
from ..augment.cache import check_param, ensure_augmented, load_augmented
from ..augment.rd_table import PLOT, TABLE, RDRequest, measure_table, write_table
from ..codecs.bjontegaard import DEFAULT_FIT, FITS
from ..codecs.recipe import parse_overrides
from ..datasets import load_dataset, resolve_data_root
from .common import add_codec_arg, add_data_args, positive_int, seed_int


def add_parsers(sub) -> None:
    p = sub.add_parser("augment", help="transform a training split with a family, cached")
    add_data_args(p, split_default="train")
    p.add_argument("--family", required=True, help=", ".join(family_names()))
    p.add_argument("--param", default=None,
                   help="one parameter, or a union a+b; default: the family's thesis grid")
    p.add_argument("--limit", type=positive_int, default=None, help="first N images only")
    p.add_argument("--seed", type=seed_int, default=0)
    p.add_argument("--device", default="auto", help="auto, cpu or cuda (learned codecs)")
    add_codec_arg(p)
    p.set_defaults(func=cmd_augment)


def cmd_augment(args: argparse.Namespace) -> int:
    family = get_family(args.family)
    values = parse_params(family, args.param) or list(family.grid)
    codec = parse_overrides(args.codec)
    ds = _load_limited(args)
    for v in values:
        check_param(family, v, ds)
    root = resolve_data_root(args.data_root)
    device = resolve_device(args.device)
    print(f"{'param':>10} {'bpp (payload)':>16} {'bpp (file)':>14} {'PSNR dB':>14} {'SSIM':>14}  folder")
    for v in values:
        folder, m = ensure_augmented(ds, family, v, root, seed=args.seed, device=device,
                                     codec=codec)
        bpp = (f"{m['bpp']['mean']:.3f}±{m['bpp']['std']:.3f}", f"{m['file_bpp']['mean']:.2f}"
               ) if "bpp" in m else ("-", "-")
        print(f"{m['param']:>10} {bpp[0]:>16} {bpp[1]:>14} "
              f"{m['psnr']['mean']:>8.2f}±{m['psnr']['std']:<5.2f} "
              f"{m['ssim']['mean']:>7.4f}±{m['ssim']['std']:<6.4f} {folder}")
    return 0


def add_analysis_parsers(sub) -> None:
    r = sub.add_parser("rd", help="rate-distortion table and plot of compression families")
    add_data_args(r)
    r.add_argument("--families", default="jpeg,bls,bmshj", help="comma-separated families")
    r.add_argument("--params", default=None,
                   help="FAMILY=V/V/...[;FAMILY=...]: the points of a family (default: its "
                        "grid), e.g. 'bls=0.003/0.012/0.05' where training a codec is dear")
    r.add_argument("--limit", type=positive_int, default=None, help="first N images only")
    r.add_argument("--out", default=None, help="folder for rd.json and rd.png (default: runs/rd)")
    r.add_argument("--device", default="auto")
    r.add_argument("--fit", default=DEFAULT_FIT,
                   help="Bjøntegaard fit: cubic (least-squares cubic, VCEG-M33) or pchip")
    add_codec_arg(r)
    r.set_defaults(func=cmd_rd)

    s = sub.add_parser("spectrum", help="mean log-magnitude DFT of transformed training images")
    add_data_args(s, split_default="train")
    s.add_argument("--family", required=True)
    s.add_argument("--param", required=True)
    s.add_argument("--limit", type=positive_int, default=None)
    s.add_argument("--out", default=None, help="folder (default: runs/spectrum)")
    s.add_argument("--device", default="auto")
    add_codec_arg(s)
    s.set_defaults(func=cmd_spectrum)


def _load_limited(args):
    ds = load_dataset(args.dataset, split=args.split, data_root=args.data_root)
    return ds.head(args.limit) if args.limit else ds


def _family_params(text: str | None, families: list) -> dict[str, list]:
    """``"bls=0.003/0.05;jpeg=10/50"`` -> {"bls": [0.003, 0.05], "jpeg": [10, 50]}, each value
    read and checked by its family; a family not in ``families`` is refused."""
    out: dict[str, list] = {}
    names = {f.name: f for f in families}
    for part in (text or "").split(";"):
        if not part.strip():
            continue
        name, sep, values = (s.strip() for s in part.partition("="))
        if not sep or name not in names or not values:
            raise BenchError(f"--params: cannot read {part.strip()!r}; expected FAMILY=V/V/... "
                             f"with FAMILY one of --families ({', '.join(names)})")
        out[name] = [v for text in values.split("/") for v in parse_params(names[name], text)]
    return out


def cmd_rd(args: argparse.Namespace) -> int:
    names = list(dict.fromkeys(f.strip() for f in args.families.split(",") if f.strip()))
    if REFERENCE not in names:  # every BD number needs JPEG on the same images
        names.insert(0, REFERENCE)
    families = [get_family(n) for n in names]
    if args.fit not in FITS:
        raise BenchError(f"--fit must be one of {', '.join(FITS)}, got {args.fit!r}")
    params = _family_params(args.params, families)
    request = RDRequest(args.dataset, args.split, tuple(names),
                        {f: tuple(v) for f, v in params.items()}, parse_overrides(args.codec),
                        args.limit, args.fit)
    ds = _load_limited(args)
    for family in families:
        for v in params.get(family.name) or family.grid:
            check_param(family, v, ds)
    table = measure_table(request, resolve_data_root(args.data_root), resolve_device(args.device))
    out = Path(args.out or "runs/rd")
    write_table(out, table)
    _print_table(table)
    print(f"wrote {out / TABLE} and {out / PLOT}")
    return 0


def _print_table(table: dict) -> None:
    print(f"{'family':<8} {'param':>8} {'bpp':>14} {'PSNR dB':>14} {'SSIM':>16}")
    for r in table["rows"]:
        bpp = f"{r['bpp']:.3f}±{r['bpp_std']:.3f}" if r["bpp"] is not None else "-"
        print(f"{r['family']:<8} {r['param']:>8} {bpp:>14} {r['psnr']:>7.2f}±{r['psnr_std']:<5.2f} "
              f"{r['ssim']:>7.4f}±{r['ssim_std']:<6.4f}")
    print(f"Bjøntegaard deltas against {REFERENCE} on the same images ({table['fit']} fit over "
          "log10 bpp, overlapping range):")
    for name, r in table["bd"].items():
        if r["bd_psnr_db"] is None:
            print(f"  {name:<44} no overlapping rate range")
            continue
        rate = "-" if r["bd_rate_pct"] is None else f"{r['bd_rate_pct']:+.1f}%"
        lo, hi = r["bpp_range"]
        print(f"  {name:<44} BD-PSNR {r['bd_psnr_db']:+6.2f} dB  BD-rate {rate:>7}  "
              f"({lo:.3f}-{hi:.3f} bpp)")
    for p in table["published"]:
        print(f"  published: {p['name']} from {p['source']} (all 24 Kodak images)")


def cmd_spectrum(args: argparse.Namespace) -> int:
    family = get_family(args.family)
    values = parse_params(family, args.param)
    codec = parse_overrides(args.codec)
    ds = _load_limited(args)
    if not ds.fixed_size:
        raise BenchError(f"{args.dataset} [{args.split}]: a mean spectrum needs images of one size")
    for v in values:
        check_param(family, v, ds)
    root = resolve_data_root(args.data_root)
    out = Path(args.out or "runs/spectrum")
    out.mkdir(parents=True, exist_ok=True)
    subjects = [("original", ds.images)]
    for v in values:
        folder, _ = ensure_augmented(ds, family, v, root, device=resolve_device(args.device),
                                     codec=codec)
        subjects.append((f"{family.name}_{family.label(v)}", load_augmented(folder)[0]))
    for name, images in subjects:
        spec = mean_log_spectrum(images)
        files.write_bytes(out / f"{name}.npy", files.npy_bytes(spec))
        with files.atomic_path(out / f"{name}.png") as tmp:
            plot_spectrum(spec, f"{args.dataset} {name}", tmp)
        print(f"wrote {out / name}.png and .npy")
    return 0
