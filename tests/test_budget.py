"""The budget study: its gains are the leaderboard's paired differences (checked against the
committed reports' statistics), and its verdicts follow the signs and ranks it measures
(arrays made by hand)."""
import json
from pathlib import Path

import numpy as np
import pytest
from scipy import stats

from benchmark.studies import budget
from benchmark.studies.base import StudyContext
from benchmark.studies.budget import BudgetConfig
from corruptions.errors import DataError

REPORTS = Path(__file__).resolve().parents[1] / "reports"


def _ctx(reports: Path = REPORTS) -> StudyContext:
    return StudyContext(reports, Path("data"), Path("runs"), "cpu", False)


def _committed(low: str, high: str) -> tuple[str, ...]:
    """The track's submissions with committed reports at both budgets, the baseline first."""
    return tuple(s for s in budget.CAPACITY
                 if all((REPORTS / s / p / "summary.json").is_file() for p in (low, high)))


# both budget pairs the study is run over: ci against cpu, and cpu against capacity (over the
# capacity reports committed so far: the baseline's and at least one other)
PAIRS = [BudgetConfig("ci", "cpu", ("baseline", "jpeg_aug", "bls_aug", "noise_aug")),
         BudgetConfig("cpu", "capacity", _committed("cpu", "capacity"))]


@pytest.fixture(scope="module", params=PAIRS, ids=lambda c: f"{c.low}-{c.high}")
def measured(request) -> tuple[BudgetConfig, dict]:
    config = request.param
    assert len(config.submissions) >= 2 and config.submissions[0] == "baseline"
    return config, budget.compute(config, _ctx())


def test_gains_are_the_reports_paired_differences_from_the_baseline(measured):
    """Clean, C and C-bar gains at each budget equal what ``statistics.json`` of each report
    says of its held-out BDA pick against the baseline: value and 95% interval."""
    config, a = measured
    for k, sub in enumerate(a["submission"].tolist()[1:], start=1):
        for which, profile in (("low", config.low), ("high", config.high)):
            st = json.loads((REPORTS / sub / profile / "statistics.json").read_text())
            entry = st["selection"]["bda"]["val"]
            expected = {"clean": entry["vs_baseline"]["clean_acc"],
                        "c": entry["vs_baseline"]["corrupt_acc"],
                        "cbar": entry["cbar_vs_baseline"]}
            for metric, want in expected.items():
                draws = budget.gain_draws(a, which, k, metric)
                got = budget.estimate_draws(draws)
                assert got.value == pytest.approx(want["value"], abs=1e-12), (sub, profile, metric)
                assert (got.low, got.high) == pytest.approx((want["low"], want["high"]),
                                                            abs=1e-9), (sub, profile, metric)


def test_the_study_reads_each_budgets_held_out_pick(measured):
    config, a = measured
    for which, profile in (("low", config.low), ("high", config.high)):
        for sub, pick in zip(a["submission"], a[f"{which}_pick"]):
            summary = json.loads((REPORTS / sub / profile / "summary.json").read_text())
            assert pick == str(summary["selection"]["bda"]["val"]["chosen"])


def made(low_gain: list[int], high_gain: list[int], images: int = 400,
         high_images: int | None = None) -> dict:
    """Baseline and len(low_gain) submissions, two seeds, one cell per metric: at each
    budget the baseline right on the last half of the images, submission k right on
    ``gain[k]`` more (negative: fewer) on every metric; the high budget on ``high_images``
    (its first ``images`` as the low budget's, the rest all right for everyone)."""
    def counts(gains, extra=0):
        base = np.ones((3, 2, images + extra), np.uint8)
        base[..., :images] = 0
        base[..., images // 2:] = 1
        subs = []
        for g in gains:
            c = base.copy()
            if g >= 0:
                c[..., :g] = 1
            else:
                c[..., images // 2:images // 2 - g] = 0
            subs.append(c)
        return np.stack([base, *subs])
    names = ["baseline", *(f"s{k}" for k in range(len(low_gain)))]
    out = {"submission": np.array(names)}
    extra = (high_images or images) - images
    for which, gains, more in (("low", low_gain, 0), ("high", high_gain, extra)):
        out[f"{which}_counts"] = counts(gains, more)
        out[f"{which}_cells"] = np.array([1, 1, 1])
        out[f"{which}_seeds"] = np.array([0, 1])
        out[f"{which}_pick"] = np.array(["-"] * len(names))
    return out


CONFIG = BudgetConfig("small", "large", ("baseline", "s0", "s1", "s2"), compression=("s0",))


def test_a_sign_that_reverses_is_an_artefact_a_tie_that_opens_is_hidden():
    a = made([60, -60, 0], [-60, -60, 60])
    verdicts = {v.name: v for v in budget.CLAIMS.judge(CONFIG, a)[0]}
    # s0's three gains reverse, s1's three losses hold: 3 of 6 keep their sign
    assert verdicts["gain-signs-survive"].verdict == "partly"
    assert verdicts["gain-signs-survive"].measured.startswith("3 of 6 differences")
    rows = budget.gains_table(CONFIG, a).rows
    artefacts = {(r["submission"], r["measure"]) for r in rows if r["artefact"] == "yes"}
    assert artefacts == {("s0", m) for m in ("clean", "C", "C-bar")}
    # s2 tied at the small budget, better at the large: a difference the small one hid
    assert {r["says_high"] for r in rows if r["submission"] == "s2"} == {"better"}
    assert {r["artefact"] for r in rows if r["submission"] == "s2"} == {"hidden"}
    assert {r["artefact"] for r in rows if r["submission"] == "s1"} == {"no"}
    # s0's clean cost grows (+15 points to -15): the cost claim is refuted
    assert verdicts["compression-clean-cost-shrinks"].verdict == "not reproduced"


def test_the_ranking_is_spearmans_rho_across_submissions_with_its_interval():
    a = made([10, 60, -40], [20, 80, -60])
    rho = budget.rank_draws(a, "c")
    assert rho[0] == pytest.approx(stats.spearmanr([10, 60, -40], [20, 80, -60]).statistic)
    assert rho[0] == pytest.approx(1.0)
    verdicts = {v.name: v for v in budget.CLAIMS.judge(CONFIG, a)[0]}
    assert verdicts["ranking-survives"].verdict == "reproduced"
    reversed_order = made([10, 60, -40], [-60, -80, 20])
    verdicts = {v.name: v for v in budget.CLAIMS.judge(CONFIG, reversed_order)[0]}
    assert verdicts["ranking-survives"].verdict == "not reproduced"


def test_a_budget_without_the_baseline_first_or_a_report_is_refused():
    with pytest.raises(DataError, match="must start with baseline"):
        budget.compute(BudgetConfig("ci", "cpu", ("jpeg_aug", "baseline")), _ctx())
    with pytest.raises(DataError, match="bench run --submission"):
        budget.compute(BudgetConfig("ci", "nosuch", ("baseline", "jpeg_aug")), _ctx())


def test_across_budgets_the_same_images_are_compared_and_the_seeds_drawn_apart():
    # the high budget on 1000 images, its first 400 the low budget's; the 600 more all right
    # for everyone dilute its gain over all its images fivefold (+60 of 400 -> of 1000)
    a = made([60], [60], high_images=1000)
    shared, whole = budget.gain_draws(a, "shared", 1, "c"), budget.gain_draws(a, "high", 1, "c")
    assert shared[0] == pytest.approx(60 / 400) and whole[0] == pytest.approx(60 / 1000)
    low = budget.gain_draws(a, "low", 1, "c")
    assert shared[0] == low[0]
    # the images are drawn alike, so a gain made on the same images in both budgets changes by
    # nothing in any replicate; the seeds are drawn apart, so where the two seeds differ the
    # replicates do
    assert np.allclose(shared[1:], low[1:], rtol=0, atol=1e-12)
    seedwise = made([60], [60])
    seedwise["high_counts"][1, :, 1, :30] = 0  # seed 1 of the high budget: +30, seed 0: +60
    change = budget.gain_draws(seedwise, "shared", 1, "c") - budget.gain_draws(seedwise, "low", 1, "c")
    assert change[0] == pytest.approx(-15 / 400)
    in_step = budget.replicates(seedwise["high_counts"][1, 1].astype(float)
                                - seedwise["high_counts"][0, 1], [0, 1], budget.BOOT)
    assert not np.array_equal(budget.gain_draws(seedwise, "shared", 1, "c")[1:], in_step)
    rows = budget.gains_table(CONFIG_ONE, a).rows
    assert rows[1]["high_all"] == pytest.approx(60 / 1000) and rows[1]["change"] == 0


CONFIG_ONE = BudgetConfig("small", "large", ("baseline", "s0"), compression=("s0",))


def test_a_cost_that_shrinks_is_reproduced_and_a_budget_of_ties_ranks_nothing():
    a = made([-60, 10, 20], [-5, 10, 20])
    verdicts = {v.name: v for v in budget.CLAIMS.judge(CONFIG, a)[0]}
    assert verdicts["compression-clean-cost-shrinks"].verdict == "reproduced"
    ties = made([0, 0, 0], [10, 60, -40])
    rho = budget.rank_draws(ties, "c")
    assert not np.isnan(rho).any() and rho[0] == 0
    verdicts = {v.name: v for v in budget.CLAIMS.judge(CONFIG, ties)[0]}
    assert verdicts["ranking-survives"].verdict == "within noise"


def test_a_low_budget_on_more_images_than_the_high_one_is_refused():
    with pytest.raises(DataError, match="among the high one's"):
        budget.compute(BudgetConfig("cpu", "ci", ("baseline", "jpeg_aug")), _ctx())
