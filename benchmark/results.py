"""The results table: one row per (split, param, seed, corruption, severity), as parquet.

The contract of DESIGN.md: ``results.parquet`` holds the raw counts every reported number
is computed from (``bench verify`` recomputes them from here), ``history.parquet`` one row
per unit and epoch, ``spectra.npz`` the mean log-magnitude spectrum of the original and of
each augmented training set. Accuracies are fractions in [0, 1].
"""
from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pandas as pd

from corruptions import files
from corruptions.errors import IntegrityError

RESULT_COLUMNS = ["submission", "profile", "dataset", "split", "model", "family", "param",
                  "seed", "corruption", "severity", "band", "n", "correct", "accuracy"]
HISTORY_COLUMNS = ["submission", "profile", "param", "seed", "epoch", "loss", "accuracy", "lr",
                   "seconds"]
OPTIONAL_HISTORY = ["band_weights"]  # models with learned band weights: softmax after each epoch
_DTYPES = {"seed": "int64", "severity": "int64", "n": "int64", "correct": "int64",
           "accuracy": "float64", "epoch": "int64", "loss": "float64", "lr": "float64",
           "seconds": "float64"}


def frame(rows: list[dict], columns: list[str]) -> pd.DataFrame:
    """Rows as a table with exactly ``columns``, in order and with fixed dtypes."""
    df = pd.DataFrame(rows, columns=columns)
    return df.astype({c: t for c, t in _DTYPES.items() if c in df.columns})


def write_parquet(path: Path, df: pd.DataFrame) -> str:
    """Atomically; returns the sha256 of the file."""
    buf = io.BytesIO()
    df.to_parquet(buf, index=False, engine="pyarrow")
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    return files.write_bytes(Path(path), buf.getvalue())


SPECTRA = "spectra.npz"


def write_spectra(path: Path, spectra: dict[str, np.ndarray]) -> None:
    """float32 arrays keyed by set (``original`` and each parameter label), atomically."""
    buf = io.BytesIO()
    np.savez_compressed(buf, **{k: v.astype(np.float32) for k, v in spectra.items()})
    files.write_bytes(Path(path), buf.getvalue())


def read_spectra(path: Path) -> dict[str, np.ndarray]:
    try:
        with np.load(path) as z:
            return {k: z[k] for k in z.files}
    except (OSError, ValueError) as e:
        raise IntegrityError(f"{path}: cannot read ({e})") from None


def read_results(path: Path) -> pd.DataFrame:
    """A results table, checked against the schema (a missing column names the file)."""
    return _read(path, RESULT_COLUMNS)


def read_history(path: Path) -> pd.DataFrame:
    return _read(path, HISTORY_COLUMNS)


def _read(path: Path, columns: list[str]) -> pd.DataFrame:
    try:
        df = pd.read_parquet(path, engine="pyarrow")
    except (OSError, ValueError) as e:
        raise IntegrityError(f"{path}: cannot read ({e})") from None
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise IntegrityError(f"{path}: missing column(s) {', '.join(missing)}")
    return df
