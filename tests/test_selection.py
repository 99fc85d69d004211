"""BDA / BDAD / BDADS on a hand-made results table whose answers are worked out by hand."""
from __future__ import annotations

import pytest

from benchmark.scoring.results import RESULT_COLUMNS, frame
from benchmark.scoring.selection import (
    Baseline,
    choose,
    chosen_accuracy,
    chosen_label,
    param_of,
    seed_mean,
    select,
    wide,
)

N = 100
BANDS = {"gaussian_noise": "high", "fog": "low", "saturate": "low", "clean": "clean"}
# seed-mean accuracy per (param, corruption, severity); seed 0 is +0.02, seed 1 is -0.02
TEST = {
    "A": {("clean", 0): .95, ("gaussian_noise", 1): .50, ("gaussian_noise", 2): .40,
          ("fog", 1): .90, ("fog", 2): .80, ("saturate", 1): .60, ("saturate", 2): .50},
    "B": {("clean", 0): .90, ("gaussian_noise", 1): .80, ("gaussian_noise", 2): .70,
          ("fog", 1): .70, ("fog", 2): .60, ("saturate", 1): .75, ("saturate", 2): .65},
    "C": {("clean", 0): .92, ("gaussian_noise", 1): .30, ("gaussian_noise", 2): .20,
          ("fog", 1): .95, ("fog", 2): .90, ("saturate", 1): .90, ("saturate", 2): .80},
}
# validation ranks differently: BDA on the common corruptions picks A, on saturate C
VAL = {
    "A": {("clean", 0): .90, ("gaussian_noise", 1): .70, ("gaussian_noise", 2): .70,
          ("fog", 1): .90, ("fog", 2): .90, ("saturate", 1): .10, ("saturate", 2): .10},
    "B": {("clean", 0): .95, ("gaussian_noise", 1): .60, ("gaussian_noise", 2): .60,
          ("fog", 1): .60, ("fog", 2): .90, ("saturate", 1): .20, ("saturate", 2): .20},
    "C": {("clean", 0): .80, ("gaussian_noise", 1): .65, ("gaussian_noise", 2): .65,
          ("fog", 1): .95, ("fog", 2): .95, ("saturate", 1): .90, ("saturate", 2): .90},
}
BASE = {("clean", 0): .96, ("gaussian_noise", 1): .40, ("gaussian_noise", 2): .20,
        ("fog", 1): .80, ("fog", 2): .60, ("saturate", 1): .50, ("saturate", 2): .40}


def _rows(split, table, submission="s", seeds=(0, 1), spread=0.02):
    rows = []
    for param, cells in table.items():
        for seed in seeds:
            for (c, s), acc in cells.items():
                a = acc + (spread if seed == 0 else -spread) if len(seeds) > 1 else acc
                k = round(a * N)
                rows.append(dict(submission=submission, profile="t", dataset="d", split=split,
                                 model="m", family="f", param=param, seed=seed, corruption=c,
                                 severity=s, band=BANDS[c], n=N, correct=k, accuracy=k / N))
    return rows


@pytest.fixture(scope="module")
def rows():
    return frame(_rows("test", TEST) + _rows("validation", VAL), RESULT_COLUMNS)


def test_choices_by_hand(rows):
    test = seed_mean(wide(rows, "test", ["A", "B", "C"]))
    common = ("gaussian_noise", "fog")
    assert set(choose("bda", test, common).values()) == {"B"}  # 0.70 vs 0.65 and 0.5875
    bdad = choose("bdad", test, common)
    assert bdad[("gaussian_noise", 2)] == "B" and bdad[("fog", 1)] == "C"
    assert bdad[("clean", 0)] == "A" and bdad[("saturate", 1)] == "C"
    bdads = choose("bdads", test, common)
    assert bdads[("fog", 1)] == "C" and bdads[("saturate", 1)] == "C"


def test_ties_go_to_the_first_parameter_of_the_grid():
    tied = frame(_rows("test", {"X": TEST["A"], "Y": TEST["A"]}), RESULT_COLUMNS)
    assert set(choose("bda", seed_mean(wide(tied, "test", ["Y", "X"])), ["fog"]).values()) == {"Y"}
    assert set(choose("bda", seed_mean(wide(tied, "test", ["X", "Y"])), ["fog"]).values()) == {"X"}


def test_summary_entries_by_hand(rows):
    base = Baseline.from_rows(frame(_rows("test", {"-": BASE}, submission="baseline"),
                                    RESULT_COLUMNS))
    data = {"A": {"bpp": 1.0, "bytes": 100}, "B": {"bpp": 2.0, "bytes": 200},
            "C": {"bpp": 3.0, "bytes": 300}}
    out = select(rows, ["A", "B", "C"], baseline=base, data=data)
    assert set(out) == {"bda", "bdad", "bdads"} and set(out["bda"]) == {"oracle", "val", "unseen"}
    assert set(out["bdad"]) == {"oracle", "val"}

    bda = out["bda"]["oracle"]
    assert bda["chosen"] == "B"
    assert bda["ranking"] == ["B", "A", "C"]  # 0.70, 0.65, 0.5875
    assert bda["ranking_thesis10"] == ["B", "C", "A"]  # gn, fog, saturate: .708, .675, .617
    assert bda["clean_acc"] == pytest.approx(0.90)
    assert bda["corrupt_acc"] == pytest.approx(0.70)  # over the common corruptions present
    # the thesis' ten present here: gaussian_noise, fog and saturate
    assert bda["corrupt_acc_thesis10"] == pytest.approx((.8 + .7 + .7 + .6 + .75 + .65) / 6)
    # saturate is one of the 4 extra corruptions: the low band is fog alone
    assert bda["band_acc"] == pytest.approx({"low": 0.65, "mid": None, "high": 0.75})
    assert bda["severity_acc"] == pytest.approx({"1": 0.75, "2": 0.65})
    assert bda["std"]["corrupt_acc"] == pytest.approx(0.02) and bda["seeds"] == 2
    assert (bda["bpp"], bda["bytes"]) == (2.0, 200)
    # mCE: CE_gn = (0.2 + 0.3) / (0.6 + 0.8); CE_fog = (0.3 + 0.4) / (0.2 + 0.4)
    assert bda["mce"] == pytest.approx(((0.5 / 1.4) + (0.7 / 0.6)) / 2)
    # relative: (sum err - 2 clean err) / (sum base err - 2 base clean err)
    rel_gn = (0.5 - 2 * 0.10) / (1.4 - 2 * 0.04)
    rel_fog = (0.7 - 2 * 0.10) / (0.6 - 2 * 0.04)
    assert bda["relative_mce"] == pytest.approx((rel_gn + rel_fog) / 2)
    assert bda["thesis_pick"]["chosen"] == "B"  # seed 0 is best everywhere: +0.02
    assert bda["thesis_pick"]["corrupt_acc"] == pytest.approx(0.72)
    assert bda["thesis_pick"]["seed_of"] == {"A": 0, "B": 0, "C": 0}

    bdad = out["bdad"]["oracle"]
    assert bdad["chosen"] == {"clean": "A", "gaussian_noise": "B", "fog": "C", "saturate": "C"}
    assert bdad["clean_acc"] == pytest.approx(0.95)
    assert bdad["corrupt_acc"] == pytest.approx((.8 + .7 + .95 + .9) / 4)
    assert bdad["bytes"] == 600  # three training sets are used

    bdads = out["bdads"]["oracle"]
    assert bdads["chosen"]["fog"] == {"1": "C", "2": "C"}
    assert bdads["corrupt_acc"] >= bdad["corrupt_acc"] >= bda["corrupt_acc"]

    # held out: chosen on validation, reported on test
    assert out["bda"]["val"]["chosen"] == "A"
    assert out["bda"]["val"]["corrupt_acc"] == pytest.approx(0.65)
    assert out["bda"]["unseen"]["chosen"] == "C"
    assert out["bda"]["unseen"]["corrupt_acc"] == pytest.approx(0.5875)
    assert out["bdad"]["val"]["chosen"]["gaussian_noise"] == "A"
    assert out["bdad"]["val"]["chosen"]["clean"] == "B"
    assert "thesis_pick" not in out["bda"]["val"]


def test_without_a_baseline_there_is_a_plain_mean_error(rows):
    bda = select(rows, ["A", "B", "C"], modes=["bda"])["bda"]["oracle"]
    assert bda["mce"] is None and bda["mean_error"] == pytest.approx(0.30)



def test_no_validation_rows_means_no_held_out_sources(rows):
    out = select(rows[rows["split"] == "test"], ["A", "B", "C"])
    assert set(out["bda"]) == {"oracle"}


def test_without_the_extra_corruptions_there_is_no_unseen_source(rows):
    out = select(rows[rows["corruption"] != "saturate"], ["A", "B", "C"])
    assert set(out["bda"]) == {"oracle", "val"} and set(out["bdad"]) == {"oracle", "val"}


def test_a_described_choice_maps_back_to_its_cells_and_its_label(rows):
    out = select(rows, ["A", "B", "C"])
    bdad = out["bdad"]["oracle"]["chosen"]
    acc = chosen_accuracy(rows, ["A", "B", "C"], bdad)
    # by hand from TEST: gaussian_noise -> B (0.75), fog -> C (0.925), saturate -> C
    assert acc[("gaussian_noise", 2)] == pytest.approx(0.70)
    assert acc[("fog", 1)] == pytest.approx(0.95) and acc[("clean", 0)] == pytest.approx(0.95)
    bdads = out["bdads"]["oracle"]["chosen"]
    assert param_of(bdads, "fog", 1) == "C" and param_of("B", "fog", 1) == "B"
    assert chosen_accuracy(rows, ["A", "B", "C"], "A")[("fog", 2)] == pytest.approx(0.80)
    # the line the leaderboard shows: distinct picks, most used first, then the clean pick
    assert chosen_label(bdad) == "C, B (clean A)"
    assert chosen_label("B") == "B" and chosen_label(None) == "–"


def test_bdads_chooses_per_severity_where_bdad_cannot():
    # fog: P wins severity 1, Q severity 2; over both Q wins (0.675 vs 0.65)
    table = {"P": {("clean", 0): .9, ("fog", 1): .90, ("fog", 2): .40},
             "Q": {("clean", 0): .8, ("fog", 1): .50, ("fog", 2): .85}}
    rows = frame(_rows("test", table, seeds=(0,)), RESULT_COLUMNS)
    out = select(rows, ["P", "Q"], modes=["bdad", "bdads"])
    assert out["bdad"]["oracle"]["chosen"]["fog"] == "Q"
    assert out["bdad"]["oracle"]["corrupt_acc"] == pytest.approx((.50 + .85) / 2)
    assert out["bdads"]["oracle"]["chosen"]["fog"] == {"1": "P", "2": "Q"}
    assert out["bdads"]["oracle"]["corrupt_acc"] == pytest.approx((.90 + .85) / 2)


def test_an_identity_corruption_is_out_of_the_unseen_pick_and_the_thesis_ten(rows):
    """Told that saturate left the images unchanged, the unseen source ranks by the other
    extra corruptions (here none are in the table: no unseen entry) and the thesis' ten is
    the mean over the rest (gaussian_noise and fog here), not over saturate's clean copy."""
    plain = select(rows, ["A", "B", "C"], modes=["bda"])
    without = select(rows, ["A", "B", "C"], modes=["bda"], identity=["saturate"])
    assert "unseen" in plain["bda"] and "unseen" not in without["bda"]
    oracle = without["bda"]["oracle"]
    pick = oracle["chosen"]  # BDA: one parameter
    ten = [TEST[pick][c] for c in TEST[pick] if c[0] in ("gaussian_noise", "fog")]
    assert oracle["corrupt_acc_thesis10"] == pytest.approx(sum(ten) / len(ten))
    from benchmark.scoring.summary import per_param

    with_copy, without_copy = (per_param(rows, ["A", "B", "C"], {}, identity)["C"]
                               for identity in ((), ("saturate",)))
    assert with_copy["corrupt_acc_thesis10"] == pytest.approx((.3 + .2 + .95 + .9 + .9 + .8) / 6)
    assert without_copy["corrupt_acc_thesis10"] == pytest.approx((.3 + .2 + .95 + .9) / 4)


def test_the_track_line_says_which_corruption_was_left_out():
    from benchmark.scoring.reports import EvaluationProtocol

    cells = (("test", "clean", 0, 100), ("test", "saturate", 1, 100), ("test", "fog", 1, 100))
    line = EvaluationProtocol("fashion-mnist", cells, identity=("saturate",)).describe()
    assert "saturate left these images unchanged" in line and "thesis-ten" in line
    assert "unchanged" not in EvaluationProtocol("fashion-mnist", cells).describe()
    assert EvaluationProtocol("d", cells) != EvaluationProtocol("d", cells, identity=("saturate",))
