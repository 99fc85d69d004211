"""The scoring statistics on outcomes whose answer is known: binomial intervals, paired
differences that cancel what two settings share, mCE of a setting against itself, ranks."""
from __future__ import annotations

import numpy as np
import pytest

from benchmark.scoring.statistics import (
    CLEAN_CELL,
    Bootstrap,
    CellOutcomes,
    accuracy,
    difference,
    mce,
    rank_intervals,
    replicates,
)

BOOT = Bootstrap(seed=0, replicates=2000)
CELLS = (CLEAN_CELL, ("fog", 1), ("fog", 3), ("noise", 1), ("noise", 3))


def outcomes(p: float, n: int = 2000, seeds=(0,), rng_seed: int = 0) -> CellOutcomes:
    rng = np.random.default_rng(rng_seed)
    return CellOutcomes(tuple(seeds), CELLS, rng.random((len(seeds), len(CELLS), n)) < p)


def test_one_seed_gives_the_binomial_interval():
    """With one model, only the images vary: the interval is the binomial one."""
    o = outcomes(0.8)
    est = accuracy(o, [CLEAN_CELL], BOOT)
    p, n = est.value, o.images
    half = 1.96 * np.sqrt(p * (1 - p) / n)
    assert est.low < p < est.high
    assert (est.high - est.low) / 2 == pytest.approx(half, rel=0.1)


def test_seeds_that_disagree_widen_the_interval():
    same = CellOutcomes((0, 1), CELLS, np.repeat(outcomes(0.8).correct, 2, axis=0))
    rng = np.random.default_rng(5)
    apart = same.correct.copy()
    apart[1] = rng.random(apart[1].shape) < 0.6  # the second seed's model is much worse
    spread = CellOutcomes((0, 1), CELLS, apart)
    a, b = accuracy(same, [CLEAN_CELL], BOOT), accuracy(spread, [CLEAN_CELL], BOOT)
    assert b.high - b.low > 2 * (a.high - a.low)


def test_a_setting_against_itself_differs_by_exactly_nothing():
    o = outcomes(0.7, seeds=(0, 1))
    d = difference(o, o, CELLS[1:], BOOT)
    assert (d.value, d.low, d.high, d.p) == (0.0, 0.0, 0.0, 1.0)
    m = mce(o, o, ["fog", "noise"], BOOT)
    assert m.value == pytest.approx(1.0) and m.low == pytest.approx(1.0) and m.high == pytest.approx(1.0)


def test_a_paired_gain_of_five_points_is_called_and_a_small_one_is_not():
    base = outcomes(0.7, seeds=(0, 1))
    better = base.correct.copy()
    better[:, 0, :100] = True   # 100 images of 2000 fixed on the clean set...
    better[:, 0, 100:120] = False
    worse_or_better = CellOutcomes(base.seeds, CELLS, better)
    d = difference(worse_or_better, base, [CLEAN_CELL], BOOT)
    gained = float(better[:, 0].mean() - base.correct[:, 0].mean())
    assert d.value == pytest.approx(gained) and d.low > 0 and d.p < 0.01
    # the unpaired intervals of the two overlap: pairing is what resolves it
    a, b = accuracy(worse_or_better, [CLEAN_CELL], BOOT), accuracy(base, [CLEAN_CELL], BOOT)
    assert a.low < b.high
    tiny = base.correct.copy()
    tiny[:, 0, :3] = ~tiny[:, 0, :3]
    d = difference(CellOutcomes(base.seeds, CELLS, tiny), base, [CLEAN_CELL], BOOT)
    assert d.low <= 0 <= d.high and d.p > 0.05


def test_mce_point_matches_the_summary_definition():
    """Per corruption: errors summed over severities over the baseline's, then averaged."""
    a, base = outcomes(0.6, rng_seed=1), outcomes(0.7, rng_seed=2)
    want = np.mean([(1 - a.correct[:, [1, 2]]).sum() / (1 - base.correct[:, [1, 2]]).sum(),
                    (1 - a.correct[:, [3, 4]]).sum() / (1 - base.correct[:, [3, 4]]).sum()])
    m = mce(a, base, ["fog", "noise"], BOOT)
    assert m.value == pytest.approx(want) and m.low < want < m.high


def test_ranks_are_earned_only_where_the_data_separate_the_rows():
    n = 2000
    rows = [outcomes(p, n=n, rng_seed=k) for k, p in enumerate((0.9, 0.8, 0.7005, 0.7))]
    reps = [replicates(o.scores([CLEAN_CELL]), o.seeds, BOOT) for o in rows]
    ranks = rank_intervals(reps)
    assert ranks[0] == (1, 1) and ranks[1] == (2, 2)
    assert ranks[2][0] <= 3 and ranks[2][1] == 4 and ranks[3][0] == 3  # the last two: tied


def test_the_draws_are_a_pure_function_of_the_bootstrap_seed():
    o = outcomes(0.75, seeds=(0, 1, 2))
    a = replicates(o.scores(CELLS), o.seeds, BOOT)
    assert np.array_equal(a, replicates(o.scores(CELLS), o.seeds, Bootstrap(seed=0)))
    assert not np.array_equal(a, replicates(o.scores(CELLS), o.seeds, Bootstrap(seed=1)))
    with pytest.raises(ValueError, match="paired on images"):
        difference(o, outcomes(0.7, n=100), [CLEAN_CELL], BOOT)


def test_replicates_drawn_again_are_the_first_ones_and_any_change_draws_anew():
    """Remembered by the scores' bytes (a report draws the same scores many times): the
    same scores give the very replicates computed first, read-only; one image's outcome,
    another seed list or another bootstrap gives its own."""
    o = outcomes(0.75, seeds=(0, 1))
    scores = o.scores(CELLS)
    first = replicates(scores, o.seeds, BOOT)
    want = np.einsum("bs,si,bi->b", BOOT.seeds(o.seeds), scores, BOOT.images(o.images))
    assert np.array_equal(first, want) and not first.flags.writeable
    assert replicates(scores.copy(), o.seeds, BOOT) is first
    changed = scores.copy()
    changed[0, 0] = 1 - changed[0, 0]
    assert not np.array_equal(replicates(changed, o.seeds, BOOT), first)
    assert not np.array_equal(replicates(scores, (0, 2), BOOT), first)
    assert not np.array_equal(replicates(scores, o.seeds, Bootstrap(seed=3)), first)
    with pytest.raises(ValueError, match="paired on images"):
        mce(o, outcomes(0.7, n=100), ["fog"], BOOT)
