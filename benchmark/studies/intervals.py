"""How every study judges a claim on intervals, in one place: the leaderboard's bootstrap,
an estimate from its replicates, the signed points a finding quotes, a measures-table row,
and the rule sentences that more than one claim states. A study that judges the same way
says so in the same words, so a reader compares verdicts across studies."""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..scoring.statistics import Bootstrap, Estimate, beyond_noise, in_points, percentile_interval
from .base import Finding, sign_verdict

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


def signed_points(e: Estimate, unit: str = "") -> str:
    """``+1.23 [+0.45, +2.01]`` in percentage points (then ``unit``), as findings quote a
    difference."""
    return in_points(e.as_dict(), signed=True) + unit


def measure_row(name: str, e: Estimate, **fields) -> dict:
    """One row of a study's measures table: the name, the fields that place it, the
    estimate."""
    return {"measure": name, **fields, "value": e.value, "low": e.low, "high": e.high}


@dataclass
class Cases:
    """The cases a claim is judged on, as it goes through them: each case's sign beyond
    noise, its words and its rows of the measures table; then the finding they make."""

    signs: list[int] = field(default_factory=list)
    parts: list[str] = field(default_factory=list)
    measures: list[dict] = field(default_factory=list)

    def finding(self, empty: str, rule: str) -> Finding:
        """The cases' words (``empty`` when there was none), the verdict of their signs, the
        rule it was judged by."""
        return Finding("; ".join(self.parts) or empty, sign_verdict(self.signs), rule,
                       tuple(self.measures))
