"""How every study judges a claim on intervals, in one place: the leaderboard's bootstrap,
an estimate from its replicates, the clean-test accuracy and paired difference of the studies
that train their own models, the signed points a finding quotes, an estimate's columns and
fields in a table, the measures table, and the rule sentences that more than one claim
states. A study that judges the same way says so in the same words, so a reader compares
verdicts across studies."""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..scoring.statistics import (
    CLEAN_CELL,
    Bootstrap,
    CellOutcomes,
    Comparison,
    Estimate,
    accuracy,
    beyond_noise,
    difference,
    in_points,
    percentile_interval,
)
from .base import Finding, Table

# the leaderboard's: every entry resampled on the same training seeds and test images, so
# differences between entries are paired
BOOT = Bootstrap()

# per case, an interval of a difference that the claim says is positive
ABOVE_ZERO = ("reproduced if every 95% interval lies above zero, partly if some do, not "
              "reproduced if none does and some lie below, within noise if all hold zero.")
# per case, non-inferiority: the difference may fall short of zero by a margin fixed in advance
ABOVE_MARGIN = ("reproduced if every 95% interval lies above minus the margin, partly if some "
                "do, not reproduced if none does and some lie below it, within noise if all "
                "straddle it.")


def sign_verdict(signs: list[int]) -> str:
    """The verdict of a claim checked in several cases, each +1 where its 95% interval
    excludes zero in the claimed direction, -1 where it excludes zero the other way and 0
    where it holds zero: reproduced when every case is +1, partly when some are, not
    reproduced when none is and some are -1, within noise when every interval holds zero
    (``ABOVE_ZERO`` and ``ABOVE_MARGIN`` say so in a rule)."""
    if not signs:
        return "not testable here"
    if all(s > 0 for s in signs):
        return "reproduced"
    if any(s > 0 for s in signs):
        return "partly"
    return "not reproduced" if any(s < 0 for s in signs) else "within noise"


def estimate(point: float, reps: np.ndarray) -> Estimate:
    """``point`` with the percentile interval of its bootstrap replicates."""
    return percentile_interval(point, reps, BOOT.level)


def estimate_draws(draws: np.ndarray) -> Estimate:
    """An estimate from draws whose first is the point, the rest its replicates."""
    return estimate(float(draws[0]), draws[1:])


def judged(point: float, reps: np.ndarray, than: float = 0.0) -> tuple[Estimate, int]:
    """The estimate and its sign beyond noise (``beyond_noise`` against ``than``)."""
    e = estimate(point, reps)
    return e, beyond_noise(e, than)


def clean_accuracy(outcomes: CellOutcomes) -> Estimate:
    """Accuracy on the clean test set with the leaderboard's interval: what a study that
    trains its own models reports of each (``one_set`` outcomes hold the clean cell only)."""
    return accuracy(outcomes, [CLEAN_CELL], BOOT)


def clean_difference(x: CellOutcomes, y: CellOutcomes) -> Comparison:
    """``x``'s clean-test accuracy minus ``y``'s, paired on seeds and images: how such a
    study compares two of its settings."""
    return difference(x, y, [CLEAN_CELL], BOOT)


def signed_points(e: Estimate, unit: str = "") -> str:
    """``+1.23 [+0.45, +2.01]`` in percentage points (then ``unit``), as findings quote a
    difference."""
    return in_points(e.as_dict(), signed=True) + unit


def _bound_keys(key: str, stem: str | None = None) -> tuple[str, str]:
    """The row keys of the 95% bounds of the value at ``key``: ``{stem}_low`` and
    ``{stem}_high``, the stem ``key`` unless given, plain ``low`` and ``high`` for the stem
    ''. One convention for ``interval_columns`` and ``interval_fields``, so that a table's
    columns and its rows cannot disagree."""
    stem = key if stem is None else stem
    return (f"{stem}_low", f"{stem}_high") if stem else ("low", "high")


def interval_columns(key: str, label: str, kind: str = "pct",
                     stem: str | None = None) -> tuple[tuple[str, str, str], ...]:
    """A ``Table``'s three columns of an estimate: its value (``key``, headed ``label``) and
    its 95% low and high, headed alike in every study (keys as ``_bound_keys``)."""
    low, high = _bound_keys(key, stem)
    return (key, label, kind), (low, "95% low", kind), (high, "95% high", kind)


def interval_fields(key: str, e: Estimate | None, stem: str | None = None) -> dict:
    """A table row's fields of ``e`` under the keys of ``interval_columns`` (all None
    without an estimate, so that the row still has every column)."""
    low, high = _bound_keys(key, stem)
    if e is None:
        return {key: None, low: None, high: None}
    return {key: e.value, low: e.low, high: e.high}


def measure_row(name: str, e: Estimate, **fields) -> dict:
    """One row of a study's measures table: the name, the fields that place it, the
    estimate."""
    return {"measure": name, **fields, **interval_fields("value", e, stem="")}


def measures_table(measures: list[dict], intervals: str) -> Table:
    """The numbers behind a study's verdicts (``Finding.measures``: measure, points, value
    and its 95% interval), one table in every study that judges on intervals."""
    return Table(f"The measures behind the verdicts, with their 95% intervals ({intervals}).",
                 (("measure", "Measure", "text"), ("points", "Points", "int"),
                  *interval_columns("value", "Value", "num", stem="")),
                 [{k: m.get(k) for k in ("measure", "points", "value", "low", "high")}
                  for m in measures])


@dataclass
class Cases:
    """The cases a claim is judged on, as it goes through them: each case's sign beyond
    noise, its words and its rows of the measures table; then the finding they make."""

    signs: list[int] = field(default_factory=list)
    parts: list[str] = field(default_factory=list)
    measures: list[dict] = field(default_factory=list)

    def add(self, measure: str, e: Estimate, words: str, than: float = 0.0, **fields) -> None:
        """A case judged on one estimate: its row of the measures table (``measure_row``),
        its sign beyond noise against ``than`` (zero, or minus a margin), its words."""
        self.measures.append(measure_row(measure, e, **fields))
        self.signs.append(beyond_noise(e, than))
        self.parts.append(words)

    def finding(self, empty: str, rule: str) -> Finding:
        """The cases' words (``empty`` when there was none), the verdict of their signs, the
        rule it was judged by."""
        return Finding("; ".join(self.parts) or empty, sign_verdict(self.signs), rule,
                       tuple(self.measures))
