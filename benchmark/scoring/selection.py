"""Choosing the quality parameter: BDA, BDAD and BDADS (thesis section 4.3), from three
sources, and the metrics of what they choose. Pure functions of the results table, shared
by ``bench run`` and ``bench verify``.

- **BDA**: one parameter for everything: the best mean accuracy over the selection
  corruptions x severities.
- **BDAD**: one parameter per corruption (best mean over its severities); the clean test set
  counts as one more deformation with its own pick.
- **BDADS**: one parameter per (corruption, severity), and one for the clean set.

Sources: ``oracle`` picks on the test split and reports on it, as the thesis did (an
optimistic number); ``val`` picks on the corrupted validation split and reports on test;
``unseen`` (BDA only) picks on the 4 extra corruptions of the validation split and reports
on the 15 common ones of test. The BDA criterion is the 15 common corruptions (the
benchmark's headline number) except for ``unseen``. Every accuracy is first averaged over
seeds; the spread over seeds is reported beside it, and in the oracle rows the thesis' own
pick (for each parameter the seed best on clean test, then the same selection) too.
Ties go to the parameter listed first in the submission's grid.
"""
from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from corruptions.registry import CANONICAL_ORDER
from corruptions.tables import CBAR as CBAR_LEVELS

BASELINE = "baseline"  # the submission every mCE is relative to

CLEAN = "clean"
COMMON = CANONICAL_ORDER[:15]
EXTRA = CANONICAL_ORDER[15:19]
# CIFAR-10-C-bar (Mintun et al. 2021): evaluated on test at a pick, never selected on
CBAR = tuple(CBAR_LEVELS)
# thesis section 4.2: the ten CIFAR-10-C corruptions its chapter 4 reports
THESIS_TEN = ("speckle_noise", "contrast", "impulse_noise", "saturate", "brightness", "fog",
              "frost", "snow", "gaussian_noise", "gaussian_blur")
BANDS = ("low", "mid", "high")
MODES = ("bda", "bdad", "bdads")
SOURCES = {"oracle": "test", "val": "validation", "unseen": "validation"}
SOURCES_OF = {"bda": ("oracle", "val", "unseen"), "bdad": ("oracle", "val"),
              "bdads": ("oracle", "val")}

Cell = tuple[str, int]  # (corruption, severity); (CLEAN, 0) for the clean images


def wide(rows: pd.DataFrame, split: str, order: Sequence[str]) -> pd.DataFrame:
    """Accuracy of one split: index (param, seed) with params in ``order``, one column per
    cell (corruption, severity)."""
    part = rows[rows["split"] == split]
    if part.empty:
        raise ValueError(f"no rows for split {split!r}")
    table = part.pivot_table(index=["param", "seed"], columns=["corruption", "severity"],
                             values="correct", aggfunc="sum")
    n = part.pivot_table(index=["param", "seed"], columns=["corruption", "severity"],
                         values="n", aggfunc="sum")
    acc = table / n
    present = list(dict.fromkeys(acc.index.get_level_values("param")))
    params = [p for p in order if p in present] + [p for p in present if p not in order]
    rows_in_order = [(p, s) for p in params for s in sorted(acc.loc[p].index)]
    return acc.reindex(pd.MultiIndex.from_tuples(rows_in_order, names=["param", "seed"]))


def seed_mean(acc: pd.DataFrame) -> pd.DataFrame:
    """Mean over seeds, params kept in their order."""
    params = list(dict.fromkeys(acc.index.get_level_values("param")))
    return acc.groupby(level="param", sort=False).mean().reindex(params)


def _best(scores: pd.Series) -> str:
    """The first parameter (in grid order) with the highest score."""
    return str(scores.index[int(np.argmax(scores.to_numpy()))])


def _cells(acc: pd.DataFrame, corruptions: Sequence[str]) -> list[Cell]:
    return [c for c in acc.columns if c[0] in corruptions]


def ranking(source: pd.DataFrame, criterion: Sequence[str]) -> list[str]:
    """Parameters by BDA score, best first (ties in grid order): thesis Table 4.2."""
    scores = source[_cells(source, criterion)].mean(axis=1)
    order = np.argsort(-scores.to_numpy(), kind="stable")
    return [str(scores.index[i]) for i in order]


def choose(mode: str, source: pd.DataFrame, criterion: Sequence[str]) -> dict[Cell, str]:
    """What ``mode`` picks from a seed-averaged table (params x cells): a parameter for each
    cell of the table. ``criterion`` is the corruption set BDA ranks by."""
    cells = list(source.columns)
    if mode == "bda":
        ranked = _cells(source, criterion)
        if not ranked:
            raise ValueError(f"no selection corruption ({', '.join(criterion)}) in the table")
        best = _best(source[ranked].mean(axis=1))
        return {cell: best for cell in cells}
    if mode == "bdad":
        out = {}
        for corruption in dict.fromkeys(c for c, _ in cells):
            sub = _cells(source, [corruption])
            best = _best(source[sub].mean(axis=1))
            out.update({cell: best for cell in sub})
        return out
    if mode == "bdads":
        return {cell: _best(source[cell]) for cell in cells}
    raise ValueError(f"unknown selection mode {mode!r}; known: {', '.join(MODES)}")


@dataclass(frozen=True)
class Baseline:
    """The ``baseline`` submission's seed-mean test accuracy per cell, for mCE."""

    accuracy: pd.Series  # indexed by cell

    @classmethod
    def from_rows(cls, rows: pd.DataFrame) -> Baseline:
        acc = seed_mean(wide(rows, "test", list(dict.fromkeys(rows["param"]))))
        return cls(acc.iloc[0])


def cell_metrics(acc: pd.Series, bands: dict[str, str], baseline: Baseline | None,
                 thesis_ten: Sequence[str] = THESIS_TEN) -> dict:
    """Everything reported about one accuracy per cell (one seed of a choice); the thesis'
    ten less any that is the identity on the data (``without_identity``)."""
    # positional numpy reads: label lookups of tuple lists on a MultiIndex cost ~100x more,
    # and the means are the same reductions over the same values in the same order
    values = acc.to_numpy(dtype=np.float64)
    cells_of = list(acc.index)

    def mean_over(corruptions) -> float | None:
        sel = [i for i, c in enumerate(cells_of) if c[0] in corruptions]
        return float(values[sel].mean()) if sel else None

    present = list(dict.fromkeys(c for c, _ in acc.index if c != CLEAN))
    common = [c for c in COMMON if c in present]
    out = {
        "clean_acc": float(acc[(CLEAN, 0)]),
        "corrupt_acc": mean_over(common),
        "corrupt_acc_thesis10": mean_over(thesis_ten),
        "band_acc": {b: mean_over([c for c in common if bands.get(c) == b]) for b in BANDS},
        "severity_acc": {str(s): float(values[[i for i, c in enumerate(cells_of)
                                               if c[1] == s and c[0] in common]].mean())
                         for s in sorted({s for c, s in cells_of if c in common})},
        "corruption_acc": {c: mean_over([c]) for c in present},
    }
    out["mean_error"] = None if out["corrupt_acc"] is None else 1 - out["corrupt_acc"]
    out["mce"] = out["relative_mce"] = None
    if baseline is not None and common:
        ce, rce = [], []
        base, clean_err = baseline.accuracy, 1 - out["clean_acc"]
        base_clean_err = 1 - float(base[(CLEAN, 0)])
        for c in common:
            cells = [k for k in acc.index if k[0] == c and k in base.index]
            err, berr = (1 - acc[cells]).sum(), (1 - base[cells]).sum()
            ce.append(err / berr if berr > 0 else np.nan)
            rel_base = (1 - base[cells] - base_clean_err).sum()
            rce.append((err - len(cells) * clean_err) / rel_base if rel_base > 0 else np.nan)
        out["mce"] = float(np.nanmean(ce)) if not np.isnan(ce).all() else None
        out["relative_mce"] = float(np.nanmean(rce)) if not np.isnan(rce).all() else None
    return out


SPREAD = ("clean_acc", "corrupt_acc", "corrupt_acc_thesis10", "mce", "relative_mce")


def _combine(per_seed: list[dict]) -> dict:
    """Mean over seeds of every metric (nested dicts too), and the std of the main ones."""
    def mean(values):
        if isinstance(values[0], dict):
            return {k: mean([v[k] for v in values]) for k in values[0]}
        if any(v is None for v in values):
            return None
        return float(np.mean(values))

    out = mean(per_seed)
    out["std"] = {k: (None if out[k] is None else float(np.std([m[k] for m in per_seed])))
                  for k in SPREAD}
    out["seeds"] = len(per_seed)
    return out


def _apply(choice: dict[Cell, str], acc: pd.DataFrame, seed) -> pd.Series:
    return pd.Series({cell: acc.loc[(param, seed), cell] for cell, param in choice.items()})


def describe_choice(mode: str, choice: dict[Cell, str]) -> object:
    """BDA: the parameter; BDAD: {corruption: parameter}; BDADS: {corruption: {severity:
    parameter}} (the clean set as ``clean``)."""
    if mode == "bda":
        return next(iter(choice.values()))
    if mode == "bdad":
        return {c: p for (c, _), p in choice.items()}
    out: dict = {}
    for (c, s), p in choice.items():
        out.setdefault(c, {})[str(s)] = p
    return out


def param_of(chosen: object, corruption: str, severity: int) -> str:
    """The parameter a described choice (``describe_choice``'s form) uses in one cell."""
    if isinstance(chosen, str):
        return chosen
    pick = chosen[corruption]
    return pick if isinstance(pick, str) else pick[str(severity)]


def chosen_accuracy(rows: pd.DataFrame, order: Sequence[str], chosen: object,
                    split: str = "test") -> pd.Series:
    """Seed-mean accuracy per cell of a described choice: what a selection entry's
    per-corruption and per-severity numbers average (for pictures and exports); C-bar cells
    only at a BDA pick (the other modes pick nothing for them)."""
    rows = rows if isinstance(chosen, str) else split_cbar(rows)[0]
    acc = seed_mean(wide(rows, split, order))
    return pd.Series({cell: acc.at[param_of(chosen, *cell), cell] for cell in acc.columns},
                     dtype=np.float64)


def chosen_label(chosen: object) -> str:
    """A described choice in one line: BDA its parameter; BDAD / BDADS the distinct
    parameters picked across the corruption cells, most used first, and the clean set's."""
    if chosen is None:
        return "–"
    if isinstance(chosen, str):
        return chosen
    picks = Counter(p for c, v in chosen.items() if c != CLEAN
                    for p in (v.values() if isinstance(v, dict) else [v]))
    clean = chosen.get(CLEAN)
    clean = next(iter(clean.values())) if isinstance(clean, dict) else clean
    return f"{', '.join(p for p, _ in picks.most_common())} (clean {clean})"


def is_cbar(corruption: str) -> bool:
    """Of the C-bar suite: the ten published, or one a user registered in that suite."""
    if corruption in CBAR:
        return True
    from corruptions.registry import REGISTRY
    return corruption in REGISTRY and REGISTRY.get(corruption).suite == "cbar"


def cbar_mask(corruptions: pd.Series) -> np.ndarray:
    """Which entries of a corruption column are of the C-bar suite."""
    found = {c: is_cbar(str(c)) for c in corruptions.unique()}
    return corruptions.map(found).to_numpy(dtype=bool)


def split_cbar(rows: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The rows of the C suite (and clean), and those of C-bar."""
    bar = cbar_mask(rows["corruption"])
    return rows[~bar], rows[bar]


def cbar_metrics(cbar_rows: pd.DataFrame, order: Sequence[str], param: str,
                 identity: Sequence[str] = ()) -> dict:
    """C-bar accuracy at one parameter: the mean over its corruptions x severities (seed
    mean, and the spread over seeds), and per corruption."""
    acc = wide(cbar_rows, "test", order).loc[param]
    cells = [c for c in acc.columns if c[0] not in set(identity)]
    per_seed = acc[cells].mean(axis=1)
    return {"cbar_acc": float(per_seed.mean()), "cbar_acc_std": float(per_seed.std(ddof=0)),
            "cbar_corruption_acc": {c: float(acc[[k for k in acc.columns if k[0] == c]]
                                             .mean(axis=1).mean())
                                    for c in dict.fromkeys(c for c, _ in acc.columns)}}


def without_identity(corruptions: Sequence[str], identity: Sequence[str]) -> tuple[str, ...]:
    """``corruptions`` less those that leave the data's images unchanged (``saturate`` on
    grey images): an identity's accuracy is the clean accuracy, so counted among corruptions
    it would pass clean accuracy off as robustness (+1.4 to +2.4 points on the thesis' ten
    of every cpu report) and pull an ``unseen`` pick toward the mildest parameter (4 of 12
    cpu picks moved)."""
    return tuple(c for c in corruptions if c not in set(identity))


def select(rows: pd.DataFrame, order: Sequence[str], *, modes: Sequence[str] = MODES,
           baseline: Baseline | None = None,
           data: dict[str, dict] | None = None, identity: Sequence[str] = ()) -> dict:
    """Every (mode, source) entry of a submission's summary. A source is left out when its
    split is absent (no validation rows) or, for BDA, when the split has none of the
    corruptions it ranks by (``unseen`` without the 4 extra ones). ``data`` gives each
    parameter's training-data bpp (averaged), bytes and relative size (summed over the
    distinct parameters a choice uses: their sets are all stored). ``identity``: the
    corruptions that left the images unchanged, out of ``unseen``'s criterion and the
    thesis' ten. C-bar rows are set apart: reported at each BDA pick (``cbar_metrics``)."""
    rows, cbar_rows = split_cbar(rows)
    bands = dict(zip(rows["corruption"], rows["band"]))
    ten, unseen = without_identity(THESIS_TEN, identity), without_identity(EXTRA, identity)
    test = wide(rows, "test", order)
    splits = {"test": test}
    if (rows["split"] == "validation").any():
        splits["validation"] = wide(rows, "validation", order)
    out: dict = {}
    for mode in modes:
        for source in SOURCES_OF[mode]:
            split = SOURCES[source]
            if split not in splits:
                continue
            criterion = unseen if source == "unseen" else COMMON
            if mode == "bda" and not _cells(splits[split], criterion):
                continue
            picked = choose(mode, seed_mean(splits[split]), criterion)
            missing = [c for c in test.columns if c not in picked]
            if missing:
                raise ValueError(f"{split} has no rows for {missing[0]}, which test has: "
                                 "both splits need the same corruptions and severities")
            choice = {cell: picked[cell] for cell in test.columns}
            seeds = list(dict.fromkeys(test.index.get_level_values("seed")))
            entry = _combine([cell_metrics(_apply(choice, test, s), bands, baseline, ten)
                              for s in seeds])
            entry["chosen"] = describe_choice(mode, choice)
            if mode == "bda":
                if not cbar_rows.empty:  # C-bar at the same pick (BDA only: one parameter)
                    entry.update(cbar_metrics(cbar_rows, order, entry["chosen"], identity))
                entry["ranking"] = ranking(seed_mean(splits[split]), criterion)
                if source == "oracle":  # the thesis ranked on its ten corruptions
                    entry["ranking_thesis10"] = ranking(seed_mean(test), ten)
            entry.update(_data_cost(set(choice.values()), data))
            if source == "oracle":
                entry["thesis_pick"] = _thesis_pick(mode, test, bands, baseline, ten)
            out.setdefault(mode, {})[source] = entry
    return out


def _data_cost(params: set[str], data: dict[str, dict] | None) -> dict:
    params = sorted(params)  # a fixed order: float sums must not depend on set iteration
    if not data or not all(p in data for p in params):
        return {"bpp": None, "bytes": None, "file_bytes": None, "relative_size": None}

    def total(key: str, kind: type):
        values = [data[p].get(key) for p in params]
        return None if None in values else kind(sum(values))
    bpp = [data[p]["bpp"] for p in params]
    return {"bpp": None if None in bpp else float(np.mean(bpp)), "bytes": total("bytes", int),
            "file_bytes": total("file_bytes", int), "relative_size": total("relative_size", float)}


def _thesis_pick(mode: str, test: pd.DataFrame, bands, baseline,
                 thesis_ten: Sequence[str]) -> dict:
    """The thesis' protocol: of each parameter's seeds keep the one best on clean test, then
    select among those models on test."""
    clean = test[(CLEAN, 0)]
    best_seed = {p: clean.xs(p, level="param").idxmax()
                 for p in dict.fromkeys(test.index.get_level_values("param"))}
    table = pd.DataFrame([test.loc[(p, s)] for p, s in best_seed.items()],
                         index=list(best_seed))
    choice = choose(mode, table, COMMON)
    acc = pd.Series({cell: table.loc[p, cell] for cell, p in choice.items()})
    m = cell_metrics(acc, bands, baseline, thesis_ten)
    return {"clean_acc": m["clean_acc"], "corrupt_acc": m["corrupt_acc"],
            "corrupt_acc_thesis10": m["corrupt_acc_thesis10"], "mce": m["mce"],
            "chosen": describe_choice(mode, choice),
            "seed_of": {p: int(s) for p, s in best_seed.items()}}
