"""The committed rate-distortion tables (``reports/codecs/<dataset>/rd.json``, whose BD numbers
the README and the spectral study quote) under ``bench verify``: the BD table recomputed from
the table's own rows always, its anchor curves held to the shipped ones, and, under
``--rerun``, every row measured again from nothing (exactly on the CPU kind it was recorded
on; its learned codecs trained first where the data root's cache lacks them)."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from ..augment.anchors import published_curves
from ..augment.rd_table import measure_table, read_table, request_of, table_bd
from .compare import Mismatch, Tolerance, compare_arrays, diff, tolerance_for

ROW_NUMBERS = ("bpp", "bpp_std", "file_bpp", "psnr", "psnr_std", "bpp_estimate", "ssim",
               "ssim_std")


def check_rd_table(path: Path) -> list[Mismatch]:
    """The BD table against its recomputation from the rows, and the anchor curves against
    the ones the package ships for the dataset."""
    table = read_table(path)
    fresh = json.loads(json.dumps(table_bd(table)))
    out = [Mismatch(path, f"bd.{f}", a, b) for f, a, b in diff(table["bd"], fresh)]
    shipped = [p.as_dict() for p in published_curves(table["dataset"])]
    out += [Mismatch(path, f"published{f}", a, b) for f, a, b in
            diff(table.get("published", []), shipped)]
    return out


def rerun_tolerance(path: Path) -> Tolerance | None:
    """Exact on the CPU kind that measured the table; a table from before kinds were recorded
    could have been measured on any, so it is held to the cross-kind tolerance."""
    return tolerance_for(read_table(path).get("provenance", {}).get("cpu_kind") or "unrecorded")


def rerun_rd_table(path: Path, data_root: Path) -> list[Mismatch]:
    """Every row measured again under the table's own request, in ``data_root``, and compared
    with the committed one: labels exactly, numbers exactly on the recorded CPU kind (or
    within the cross-kind tolerance); the BD table follows from the rows."""
    table = read_table(path)
    fresh = measure_table(request_of(table), data_root, progress=False)
    return compare_table_rows(table, fresh, path, rerun_tolerance(path))


def compare_table_rows(table: dict, fresh: dict, path: Path,
                       tol: Tolerance | None) -> list[Mismatch]:
    def keyed(t: dict) -> dict[str, dict]:
        return {f"{r['family']} {r['param']}": r for r in t["rows"]}

    mine, theirs = keyed(table), keyed(fresh)
    out = [Mismatch(path, f"rows[{k}]", "present" if k in mine else "(absent)",
                    "present" if k in theirs else "(absent)")
           for k in dict.fromkeys([*mine, *theirs]) if (k in mine) != (k in theirs)]
    both = [k for k in mine if k in theirs]
    out += [Mismatch(path, f"rows[{k}].codec", mine[k]["codec"], theirs[k]["codec"])
            for k in both if mine[k]["codec"] != theirs[k]["codec"]]
    if table["images"] != fresh["images"]:
        out.append(Mismatch(path, "images", table["images"], fresh["images"]))
    def numbers(rows: dict) -> dict[str, np.ndarray]:
        return {f"{k}|{n}": np.array(np.nan if rows[k].get(n) is None else rows[k][n], np.float64)
                for k in both for n in ROW_NUMBERS}

    return out + compare_arrays(numbers(mine), numbers(theirs), path, tol)
