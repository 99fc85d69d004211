"""The formats of a run report's files (where they live: ``reports``).

The results table: one row per (split, param, seed, corruption, severity), as parquet. The
contract of DESIGN.md: ``results.parquet`` holds the raw counts every reported number
is computed from (``bench verify`` recomputes them from here), ``history.parquet`` one row
per unit and epoch, ``spectra.npz`` the mean log-magnitude spectrum of the original and of
each augmented training set, ``outcomes.npz`` whether each evaluated image was classified
correctly, for every row of the results (so intervals and paired tests can be recomputed by
anyone, and every count checked against the images it counts). Accuracies are fractions in
[0, 1].
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


def write_spectra(path: Path, spectra: dict[str, np.ndarray]) -> None:
    """float32 arrays keyed by set (``original`` and each parameter label), atomically."""
    buf = io.BytesIO()
    np.savez_compressed(buf, **{k: v.astype(np.float32) for k, v in spectra.items()})
    files.write_bytes(Path(path), buf.getvalue())


OUTCOME_KEY = ["split", "param", "seed", "corruption", "severity"]


def pack(masks: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Bool arrays of any lengths as one zero-padded bit matrix (``np.packbits``, one row
    each: 2000 images take 250 bytes) and their lengths."""
    n = np.array([len(m) for m in masks], np.int64)
    full = np.zeros((len(masks), int(n.max()) if len(n) else 0), bool)
    for i, m in enumerate(masks):
        full[i, :len(m)] = m
    return np.packbits(full, axis=1), n


def unpack(bits: np.ndarray, n: np.ndarray) -> list[np.ndarray]:
    full = np.unpackbits(bits, axis=1, count=int(n.max()) if len(n) else 0).astype(bool)
    return [full[i, :k] for i, k in enumerate(n)]


def write_outcomes(path: Path, rows: pd.DataFrame, masks: list[np.ndarray]) -> None:
    """Per-image outcomes of every row of ``rows`` (a results table), in its order, with the
    rows' keys so the file stands on its own; atomically."""
    if len(masks) != len(rows):
        raise ValueError(f"{len(masks)} outcome arrays for {len(rows)} rows")
    keys = {k: rows[k].to_numpy(dtype=np.int64 if k in ("seed", "severity") else np.str_)
            for k in OUTCOME_KEY}
    write_masks(path, masks, **keys)


def write_masks(path: Path, masks: list[np.ndarray], **extra: np.ndarray) -> None:
    """Bool arrays packed (``pack``) into an ``.npz`` with any ``extra`` arrays, atomically:
    the report's ``outcomes.npz``, and each unit's own beside its counts."""
    bits, n = pack(masks)
    buf = io.BytesIO()
    np.savez_compressed(buf, bits=bits, n=n, **extra)
    files.write_bytes(Path(path), buf.getvalue())


def _arrays(path: Path, names: list[str]) -> dict[str, np.ndarray]:
    found = files.read_npz(path)
    missing = [k for k in names if k not in found]
    if missing:
        raise IntegrityError(f"{path}: missing array(s) {', '.join(missing)}")
    return found


def read_masks(path: Path) -> list[np.ndarray]:
    z = _arrays(path, ["bits", "n"])
    return unpack(z["bits"], z["n"])


def read_outcomes(path: Path) -> tuple[pd.DataFrame, list[np.ndarray]]:
    """The keys (``OUTCOME_KEY`` and ``n``) and the bool outcomes of each row."""
    z = _arrays(path, [*OUTCOME_KEY, "bits", "n"])
    try:
        keys = pd.DataFrame({k: z[k] for k in OUTCOME_KEY}).astype(
            {"seed": "int64", "severity": "int64"})
    except ValueError as e:
        raise IntegrityError(f"{path}: cannot read ({e})") from None
    bits, n = z["bits"], z["n"]
    if len(n) != len(keys) or bits.shape[0] != len(n) or (len(n) and bits.shape[1] * 8 < n.max()):
        raise IntegrityError(f"{path}: {len(keys)} keys, {len(n)} lengths and {bits.shape[0]} "
                             f"bit rows do not match")
    keys["n"] = n
    return keys, unpack(bits, n)


def read_spectra(path: Path) -> dict[str, np.ndarray]:
    return files.read_npz(path)


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
