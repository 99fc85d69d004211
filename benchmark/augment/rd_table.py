"""The rate-distortion table of compression families on one split (``bench augment rd``;
the committed ones in ``reports/codecs/<dataset>/``), and the one owner of its file,
``rd.json``: the request that measured it, one row per (family, parameter), the Bjøntegaard
table against JPEG on the same images, the published anchor curves, and the provenance.

The request is stored so that ``bench verify`` can measure the same table again; the BD table
is a pure function of the rows (``table_bd``), so it is recomputed from them always. A table
written before the request was stored is read by ``request_of``, which rebuilds it from its
rows (families in row order, each family's parameters, no recipe overrides, every image).
"""
from __future__ import annotations

import datetime
import json
from dataclasses import dataclass, field
from pathlib import Path

import torch

from corruptions import files
from corruptions.device import cpu_kind
from corruptions.errors import IntegrityError
from corruptions.version import code_version

from ..codecs.bjontegaard import DEFAULT_FIT
from ..datasets import load_dataset
from .analysis import REFERENCE, bd_summary, plot_rd, rd_rows
from .anchors import PublishedCurve, published_curves
from .registry import AugmentSpec, get_family

TABLE = "rd.json"
PLOT = "rd.png"


@dataclass(frozen=True)
class RDRequest:
    """What a table measures: a split of a dataset (its first ``limit`` images), families
    (JPEG first: every BD number is against it) at their parameters, learned codecs with
    recipe overrides ``codec``, BD fitted by ``fit``."""

    dataset: str
    split: str
    families: tuple[str, ...]
    params: dict[str, tuple] = field(default_factory=dict)  # family -> points; absent: grid
    codec: tuple[tuple[str, object], ...] = ()
    limit: int | None = None
    fit: str = DEFAULT_FIT

    def as_dict(self) -> dict:
        return {"dataset": self.dataset, "split": self.split, "families": list(self.families),
                "params": {f: [get_family(f).label(v) for v in vs] for f, vs in self.params.items()},
                "codec": [list(kv) for kv in self.codec], "limit": self.limit, "fit": self.fit}

    @classmethod
    def from_dict(cls, d: dict) -> RDRequest:
        return cls(d["dataset"], d["split"], tuple(d["families"]),
                   {f: tuple(_value(f, v) for v in vs) for f, vs in d.get("params", {}).items()},
                   tuple(tuple(kv) for kv in d.get("codec", ())), d.get("limit"),
                   d.get("fit", DEFAULT_FIT))


def _value(family: str, label: str):
    return AugmentSpec.parse(family, str(label)).values[0]


def measure_table(request: RDRequest, data_root: Path, device: str = "cpu",
                  progress: bool = True) -> dict:
    """The table ``request`` asks for, measured now (codecs and coded sets from the data
    root's caches where they are there)."""
    ds = load_dataset(request.dataset, request.split, data_root)
    ds = ds.head(request.limit) if request.limit else ds
    families = [get_family(f) for f in request.families]
    rows = rd_rows(ds, families, data_root, device, progress=progress, codec=request.codec,
                   params={f: list(v) for f, v in request.params.items()})
    published = published_curves(request.dataset)
    return {"dataset": request.dataset, "split": request.split, "images": len(ds),
            "reference": REFERENCE, "fit": request.fit, "rows": rows,
            "bd": bd_summary(rows, published, request.fit),
            "published": [p.as_dict() for p in published], "request": request.as_dict(),
            "provenance": {"code_version": code_version(), "cpu_kind": cpu_kind(),
                           "threads": torch.get_num_threads(), "device": device,
                           "date": datetime.date.today().isoformat()}}


def table_bd(table: dict) -> dict:
    """The BD table of ``table``, recomputed from its own rows and published curves."""
    published = tuple(PublishedCurve(p["name"], p["family"], tuple(p["bpp"]), tuple(p["psnr"]),
                                     p["source"]) for p in table.get("published", ()))
    return bd_summary(table["rows"], published, table["fit"])


def request_of(table: dict) -> RDRequest:
    """The request that measured ``table`` (rebuilt from its rows where it predates the
    stored request)."""
    if "request" in table:
        return RDRequest.from_dict(table["request"])
    families = tuple(dict.fromkeys(r["family"] for r in table["rows"]))
    params = {f: tuple(_value(f, r["param"]) for r in table["rows"] if r["family"] == f)
              for f in families}
    return RDRequest(table["dataset"], table["split"], families, params, fit=table["fit"])


def write_table(out: Path, table: dict) -> None:
    """``rd.json`` and its picture ``rd.png``, each written whole."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    files.write_json(out / TABLE, table)
    published = published_curves(table["dataset"])
    with files.atomic_path(out / PLOT) as tmp:
        plot_rd(table["rows"], f"{table['dataset']} [{table['split']}], {table['images']} images",
                tmp, published, table["bd"])


def read_table(path: Path) -> dict:
    try:
        table = json.loads(Path(path).read_text())
        for key in ("dataset", "split", "fit", "rows", "bd"):
            table[key]
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise IntegrityError(f"{path}: not a rate-distortion table ({type(e).__name__}: {e})") \
            from None
    return table


def rd_tables(reports_root: Path) -> list[Path]:
    """The committed tables: ``reports/codecs/<dataset>/rd.json``."""
    return sorted((Path(reports_root) / "codecs").glob(f"*/{TABLE}"))
