"""Integer coding tables and the range coder's side of the entropy models.

A trained codec freezes its probability tables once (``update()``, as CompressAI does):
integer frequencies summing to ``2**PRECISION``, stored with the checkpoint. Encoder and
decoder then read the same integers wherever the codec is loaded, instead of each
recomputing tables from floats whose last bits depend on the machine, the thread count or
the device; a bitstream made in one process decodes in any other.

Each symbol belongs to a *group* with its own table: a latent channel for the factorized
prior, a quantised scale level for the Gaussian conditional. Every table ends with an
escape symbol, so a value outside a table's range is sent as the escape, then by value with
a wide fixed Laplace model: nothing is clipped.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import constriction
import numpy as np

PRECISION = 16  # bits of the integer frequencies: each table sums to 2**16
ESCAPE_MASS = 1e-6  # probability given to the escape symbol before quantisation
ESCAPE_MAX = 2**15
_ESCAPED = constriction.stream.model.QuantizedLaplace(-ESCAPE_MAX, ESCAPE_MAX, 0.0, 512.0)


def quantize_pmf(pmf: np.ndarray) -> np.ndarray:
    """Float probabilities (G, W) -> int32 frequencies with the same support: every entry
    with p > 0 gets at least 1, each row sums to exactly ``2**PRECISION`` (the remainder
    goes to the most probable entries, so rounding costs the least)."""
    total = 1 << PRECISION
    pmf = np.asarray(pmf, np.float64)
    live = pmf > 0
    if (live.sum(1) > total // 2).any():
        raise ValueError("a coding table has too many symbols for its precision")
    p = np.where(live, pmf, 0) / pmf.sum(1, keepdims=True)
    counts = np.floor(p * (total - live.sum(1, keepdims=True))).astype(np.int64) + live
    for row, c in zip(p, counts):
        short = total - int(c.sum())
        k = int((row > 0).sum())
        top = np.argsort(-row, kind="stable")[:k]
        np.add.at(c, top[np.arange(abs(short)) % k], int(np.sign(short)))
    assert (counts.sum(1) == total).all() and (counts[live] > 0).all()
    return counts.astype(np.int32)


@dataclass
class CodingTables:
    """Frozen tables: ``counts`` (G, W) int32 (row g's escape symbol at index ``widths[g]``),
    the symbol value of index 0 per group (``offsets``) and the in-range symbols per group."""

    counts: np.ndarray
    offsets: np.ndarray
    widths: np.ndarray
    _models: list = field(default_factory=list, repr=False)

    def model(self, g: int):
        if not self._models:
            total = float(1 << PRECISION)
            self._models[:] = [constriction.stream.model.Categorical(
                self.counts[k, :int(self.widths[k]) + 1].astype(np.float64) / total, perfect=False)
                for k in range(len(self.counts))]
        return self._models[g]


def tables_from_pmf(pmf: np.ndarray, offsets: np.ndarray, widths: np.ndarray) -> CodingTables:
    """In-range probabilities (G, W) (what lies past a row's width is ignored) -> tables
    with an escape; every in-range symbol keeps a nonzero frequency, however far in a tail."""
    pmf = np.asarray(pmf, np.float64)
    g, w = pmf.shape
    full = np.zeros((g, w + 1))
    for k in range(g):
        n = int(widths[k])
        row = np.maximum(pmf[k, :n], 1e-12)
        full[k, :n] = row / row.sum() * (1 - ESCAPE_MASS)
        full[k, n] = ESCAPE_MASS
    return CodingTables(quantize_pmf(full), np.asarray(offsets, np.int64),
                        np.asarray(widths, np.int64))


def encode(enc, symbols: np.ndarray, groups: np.ndarray, tables: CodingTables) -> None:
    """Append integer ``symbols`` to a range encoder, each with its group's table: group by
    group in ascending order, then every escaped value in position order."""
    symbols = np.asarray(symbols, np.int64).ravel()
    groups = np.asarray(groups).ravel()
    escaped = np.zeros(len(symbols), bool)
    for g in np.unique(groups):
        sel = groups == g
        idx = symbols[sel] - tables.offsets[g]
        out = (idx < 0) | (idx >= tables.widths[g])
        idx[out] = tables.widths[g]
        escaped[np.flatnonzero(sel)[out]] = True
        enc.encode(idx.astype(np.int32), tables.model(int(g)))
    if escaped.any():
        enc.encode(np.clip(symbols[escaped], -ESCAPE_MAX, ESCAPE_MAX).astype(np.int32), _ESCAPED)


def decode(dec, groups: np.ndarray, tables: CodingTables) -> np.ndarray:
    """The inverse of ``encode`` for the same ``groups`` (which the decoder knows)."""
    groups = np.asarray(groups).ravel()
    symbols = np.empty(len(groups), np.int64)
    escaped = np.zeros(len(groups), bool)
    for g in np.unique(groups):
        sel = np.flatnonzero(groups == g)
        idx = dec.decode(tables.model(int(g)), len(sel)).astype(np.int64)
        symbols[sel] = idx + tables.offsets[g]
        escaped[sel[idx == tables.widths[g]]] = True
    if escaped.any():
        symbols[escaped] = dec.decode(_ESCAPED, int(escaped.sum()))
    return symbols


def new_encoder():
    return constriction.stream.queue.RangeEncoder()


def new_decoder(stream: bytes):
    return constriction.stream.queue.RangeDecoder(np.frombuffer(stream, np.uint32))
