"""How a reported value is compared with its recomputation: field by field for JSON,
row by row for tables, array by array for outcomes and spectra; exactly on the CPU kind that
wrote the report, within a stated tolerance across kinds. Every check of ``bench verify``
reports what differs as ``Mismatch`` lines built here."""
from __future__ import annotations

import json
import math
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from corruptions.device import cpu_kind

from ..scoring.results import RESULT_COLUMNS

ROW_KEY = ["split", "param", "seed", "corruption", "severity"]


@dataclass(frozen=True)
class Mismatch:
    """One reported value that the code does not reproduce."""

    file: Path
    field: str
    reported: object
    recomputed: object

    def __str__(self) -> str:
        return (f"{self.file}: {self.field}: reported {_show(self.reported)}, "
                f"recomputed {_show(self.recomputed)}")


def _show(value) -> str:
    text = json.dumps(value, sort_keys=True) if not isinstance(value, str) else repr(value)
    return text if len(text) <= 120 else text[:117] + "..."


def diff(reported, recomputed, field: str = "", tol: Tolerance | None = None
         ) -> Iterator[tuple[str, object, object]]:
    """(field path, reported, recomputed) for every leaf that differs, a NaN equal to a NaN.
    On the kind that wrote the report (``tol`` None) floats agree to ``FLOAT_RTOL`` and
    integers exactly; across kinds both to ``tol.float_rtol``, since a count of bytes a codec
    wrote moves with the float rounding of the images it coded."""
    if isinstance(reported, dict) and isinstance(recomputed, dict):
        for key in list(reported) + [k for k in recomputed if k not in reported]:
            path = f"{field}.{key}" if field else str(key)
            if key not in recomputed:
                yield path, reported[key], "(absent)"
            elif key not in reported:
                yield path, "(absent)", recomputed[key]
            else:
                yield from diff(reported[key], recomputed[key], path, tol)
    elif isinstance(reported, list) and isinstance(recomputed, list):
        if len(reported) != len(recomputed):
            yield f"{field}[len]", len(reported), len(recomputed)
        for i, (a, b) in enumerate(zip(reported, recomputed)):
            yield from diff(a, b, f"{field}[{i}]", tol)
    elif not _same(reported, recomputed, FLOAT_RTOL if tol is None else tol.float_rtol,
                   exact_ints=tol is None):
        yield field, reported, recomputed


# Floats agree to this relative difference, integers exactly. The same code on another CPU
# kind differs in the last bits where numpy dispatches transcendental functions by SIMD width
# (log10 on AVX-512 is not log10 on AVX2) and where OpenBLAS picks kernels by CPU (the
# Bjøntegaard fits): 1e-12 is thousands of ulps, and a million times below any shown digit.
FLOAT_RTOL = 1e-12


@dataclass(frozen=True)
class Tolerance:
    """How closely a rerun must agree with the report it checks. On the CPU kind that wrote
    the report (``provenance.cpu_kind``): exactly. On another kind (AVX-512 against AVX2)
    torch's and oneDNN's float kernels round differently: a trained weight or a codec's
    reconstruction moves by a few ulps, and now and then an image crosses a decision
    boundary. Then floats agree to ``float_rtol`` (of the array's largest value), and what
    differs beyond it (such flips: a count by one, an outcome, a cell of an error map) adds up
    to at most ``flip_share`` of the file's total."""

    float_rtol: float
    flip_share: float
    across: str  # "AVX2 -> AVX512"; empty on the same kind


# measured between AVX2 and AVX-512 on the `ci` reports: floats within 3e-7 relative, and
# flips adding up to at most 0.07% of a file's total (two images of a report's 2,400
# evaluations); a forger's uniform 1% edit is five times the budget
CROSS_KIND_RTOL = 1e-4
CROSS_KIND_FLIPS = 0.002


def tolerance_for(recorded_kind: str | None) -> Tolerance | None:
    """None (exact) on the kind that wrote the report, or when it did not record one."""
    here = cpu_kind()
    if not recorded_kind or recorded_kind == here:
        return None
    return Tolerance(CROSS_KIND_RTOL, CROSS_KIND_FLIPS, f"{recorded_kind} -> {here}")


def _within(pairs: list[tuple[str, np.ndarray, np.ndarray]], tol: Tolerance) -> list[str]:
    """Names of the arrays that break ``tol``: none when every float agrees to the relative
    tolerance and the flips beyond it add up to at most ``tol.flip_share`` of the total."""
    beyond, flipped, total, text = [], 0.0, 0.0, []
    for name, a, b in pairs:
        if a.dtype.kind not in "biuf" or b.dtype.kind not in "biuf":  # labels: exactly
            if not np.array_equal(a, b):
                text.append(name)
            continue
        if a.dtype.kind == "b" or b.dtype.kind == "b":
            off = a != b
            flipped, total = flipped + float(off.sum()), total + a.size
        else:
            a64, b64 = a.astype(np.float64), b.astype(np.float64)
            scale = float(np.nanmax(np.abs(a64))) if a64.size and not np.isnan(a64).all() else 0.0
            close = np.isclose(a64, b64, rtol=0.0, atol=tol.float_rtol * scale, equal_nan=True)
            off = ~close
            flipped += float(np.nansum(np.abs(a64 - b64)[off]))
            total += float(np.nansum(np.abs(a64)))
        if off.any():
            beyond.append(name)
    return text + (beyond if flipped > tol.flip_share * max(total, 1.0) else [])


def _same(a, b, rtol: float = FLOAT_RTOL, exact_ints: bool = True) -> bool:
    if isinstance(a, bool) or isinstance(b, bool):
        return a is b
    if exact_ints and isinstance(a, int) and isinstance(b, int):
        return a == b
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return (a == b or (math.isnan(a) and math.isnan(b))
                or math.isclose(a, b, rel_tol=rtol, abs_tol=0.0))
    return a == b


def compare_rows(reported: pd.DataFrame, rerun: pd.DataFrame, file: Path,
                 limit: int = 20, tol: Tolerance | None = None) -> list[Mismatch]:
    """Row by row, every column exactly (or the numbers within ``tol``, across CPU kinds); a
    missing or extra row is named by its key."""
    a = reported[RESULT_COLUMNS].set_index(ROW_KEY).sort_index()
    b = rerun[RESULT_COLUMNS].set_index(ROW_KEY).sort_index()
    out = []
    for key in a.index.difference(b.index)[:limit]:
        out.append(Mismatch(file, f"row{row_label(key)}", "present", "(absent)"))
    for key in b.index.difference(a.index)[:limit]:
        out.append(Mismatch(file, f"row{row_label(key)}", "(absent)", "present"))
    both = a.index.intersection(b.index)
    a, b = a.loc[both], b.loc[both]
    numeric = [c for c in a.columns if pd.api.types.is_numeric_dtype(a[c])]
    loose = set() if tol is None else set(numeric) - set(_within(
        [(c, a[c].to_numpy(), b[c].to_numpy()) for c in numeric], tol))
    for col in a.columns:
        if col in loose:
            continue
        bad = ~((a[col] == b[col]) | (a[col].isna() & b[col].isna()))
        for key in a.index[bad.to_numpy()][:limit]:
            out.append(Mismatch(file, f"row{row_label(key)}.{col}", plain(a.at[key, col]),
                                plain(b.at[key, col])))
    return out


def row_label(key) -> str:
    return "[" + ",".join(f"{k}={v}" for k, v in zip(ROW_KEY, key)) + "]"


def plain(v):
    return v.item() if hasattr(v, "item") else v


def compare_arrays(reported: dict[str, np.ndarray], rerun: dict[str, np.ndarray],
                   file: Path, tol: Tolerance | None = None) -> list[Mismatch]:
    """Named arrays compared exactly (shape, values, NaN equal to NaN; or within ``tol``,
    across CPU kinds); a missing or extra array is named."""
    out = []
    if tol is not None:
        same = [(k, reported[k], rerun[k]) for k in reported
                if k in rerun and reported[k].shape == rerun[k].shape]
        loose = {k for k, _, _ in same} - set(_within(same, tol))
        reported = {k: v for k, v in reported.items() if k not in loose}
        rerun = {k: v for k, v in rerun.items() if k not in loose}
    for k in dict.fromkeys([*reported, *rerun]):
        a, b = reported.get(k), rerun.get(k)
        if a is None or b is None:
            out.append(Mismatch(file, f"[{k}]", "present" if a is not None else "(absent)",
                                "present" if b is not None else "(absent)"))
        elif a.shape != b.shape or not _arrays_agree(a, b):
            out.append(Mismatch(file, f"[{k}]", _describe(a), _describe(b)))
    return out


def _arrays_agree(a: np.ndarray, b: np.ndarray) -> bool:
    """Exactly, except floats within ``FLOAT_RTOL`` (NaN equal to NaN)."""
    if a.dtype.kind in "fc" or b.dtype.kind in "fc":
        return bool(np.allclose(a, b, rtol=FLOAT_RTOL, atol=0.0, equal_nan=True))
    return np.array_equal(a, b)


def _describe(a: np.ndarray) -> str:
    if a.dtype.kind in "fiu" and a.size:
        return f"shape {a.shape}, sum {float(np.nansum(a))!r}"
    return f"shape {a.shape}: {a.ravel()[:4].tolist()}"


