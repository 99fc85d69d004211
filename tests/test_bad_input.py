"""Bad input, across every command: one line on stderr naming the input, exit code 2, no
traceback, and nothing written. A catalogue of the cases found by hand, then properties
that hypothesis checks on malformed submissions and arguments it generates."""
from __future__ import annotations

import json
import logging
import shutil
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from benchmark import cli, datasets

REPO = Path(__file__).resolve().parents[1]
REPORTS = REPO / "reports"
needs_fmnist = pytest.mark.skipif(
    not (datasets.FASHION_MNIST_DIR / "t10k-images-idx3-ubyte.gz").is_file(),
    reason="dataset-fashion-mnist (Debian) not installed")
SHIPPED = yaml.safe_load((REPO / "submissions" / "jpeg_aug.yaml").read_text())


def run(*args: str, capsys) -> tuple[int, str]:
    """``bench`` in this process, its logging to the captured stderr as in a real run."""
    capsys.readouterr()
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    root.handlers = []  # let main()'s basicConfig install its stderr handler
    try:
        code = cli.main(list(args))
    finally:
        root.handlers = handlers
        root.setLevel(level)
    return code, capsys.readouterr().err


def tree(folder: Path) -> dict[str, int]:
    """Every file under ``folder`` with its size: what a command must leave as it was."""
    return {str(p.relative_to(folder)): p.stat().st_size
            for p in sorted(folder.rglob("*")) if p.is_file()}


def refused(code: int, err: str, *words: str) -> None:
    lines = err.strip().splitlines()
    assert code == 2, err
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    assert "Traceback" not in err
    for w in words:
        assert w in lines[0], (w, lines[0])


def _reports(tmp: Path, edit=None) -> Path:
    """The committed ci reports of baseline and bls_aug, copied, ``edit(folder)`` applied."""
    root = tmp / "reports"
    for sub in ("baseline", "bls_aug"):
        shutil.copytree(REPORTS / sub / "ci", root / sub / "ci")
    if edit:
        edit(root / "bls_aug" / "ci")
    return root


def _drop(key: str):
    def edit(folder: Path) -> None:
        s = json.loads((folder / "summary.json").read_text())
        del s[key]
        (folder / "summary.json").write_text(json.dumps(s))
    return edit


def _truncate(folder: Path) -> None:
    data = (folder / "outcomes.npz").read_bytes()
    (folder / "outcomes.npz").write_bytes(data[: len(data) // 2])


def _submission(tmp: Path, text: str | bytes) -> Path:
    path = tmp / "sub.yaml"
    path.write_bytes(text if isinstance(text, bytes) else text.encode())
    return path


def _manifest(tmp: Path, content: dict) -> Path:
    path = tmp / "set" / "manifest.json"
    path.parent.mkdir()
    path.write_text(json.dumps(content))
    return path


def _run_args(tmp: Path, path: Path) -> list[str]:
    return ["run", "--submission", str(path), "--profile", "ci", "--data-root",
            str(tmp / "data"), "--runs", str(tmp / "runs"), "--reports", str(tmp / "out")]


def _quality(q) -> str:
    raw = json.loads(json.dumps(SHIPPED))
    raw["profiles"]["ci"]["augmentation"] = {"params": [10, q]}
    return yaml.safe_dump(raw)


def _evaluation(**fields) -> str:
    raw = json.loads(json.dumps(SHIPPED))
    raw["profiles"]["ci"]["evaluation"].update(fields)
    return yaml.safe_dump(raw)


def _verify(reports: Path, rerun: str = "") -> list[str]:
    return ["verify", "--reports", str(reports), "--no-site", "--no-zoo", "--rerun", rerun,
            "--submissions", ""]


# case -> (arguments made from the test's folder, words the error line names)
CATALOGUE = {
    "non-utf8-yaml": (lambda t: _run_args(t, _submission(t, b"id: x\nname: \xff\xfe\n")),
                      ["sub.yaml", "UTF-8"]),
    "yaml-not-a-mapping": (lambda t: _run_args(t, _submission(t, "- a\n- b\n")),
                           ["sub.yaml", "mapping"]),
    "jpeg-quality-200": (lambda t: _run_args(t, _submission(t, _quality(200))),
                         ["sub.yaml", "quality", "200"]),
    "negative-seed": (lambda t: ["build-corruptions", "--dataset", "fashion-mnist", "--limit",
                                 "4", "--corruptions", "fog", "--seed", "-1", "--out",
                                 str(t / "c")], ["--seed", "-1"]),
    "no-severities": (lambda t: ["build-corruptions", "--dataset", "fashion-mnist", "--limit",
                                 "4", "--corruptions", "fog", "--severities", "", "--out",
                                 str(t / "c")], ["--severities"]),
    "cbar-names-a-c-corruption": (
        lambda t: _run_args(t, _submission(t, _evaluation(cbar=["ripple", "fog"]))),
        ["sub.yaml", "cbar", "fog"]),
    "c-suite-names-a-cbar-one": (
        lambda t: _run_args(t, _submission(t, _evaluation(corruptions=["ripple"]))),
        ["sub.yaml", "corruptions", "evaluation.cbar"]),
    "mixed-suites": (lambda t: ["build-corruptions", "--dataset", "fashion-mnist", "--limit",
                                "4", "--corruptions", "fog,ripple", "--out", str(t / "c")],
                     ["fog", "ripple", "C-bar"]),
    "cbar-by-imagecorruptions": (lambda t: ["build-corruptions", "--dataset", "fashion-mnist",
                                            "--limit", "4", "--corruptions", "ripple",
                                            "--scale", "imagenet", "--backend",
                                            "imagecorruptions", "--out", str(t / "c")],
                                 ["imagecorruptions", "ripple"]),
    "perf-no-images": (lambda t: ["perf", "train", "--images", "0"], ["--images", "'0'"]),
    "manifest-without-profiles": (lambda t: ["corruptions", "list", "--manifest",
                                             str(_manifest(t, {"files": {}}))],
                                  ["manifest.json", "profiles"]),
    "summary-without-name": (lambda t: _verify(_reports(t, _drop("name"))),
                             ["bls_aug/ci/summary.json", "name"]),
    "summary-without-provenance": (
        lambda t: ["leaderboard", "--reports", str(_reports(t, _drop("provenance"))), "--out",
                   str(t / "site"), "--quiet"], ["bls_aug/ci/summary.json", "provenance"]),
    "truncated-outcomes": (lambda t: _verify(_reports(t, _truncate)),
                           ["bls_aug/ci/outcomes.npz", "cannot read"]),
    "verify-nothing": (lambda t: _verify(t / "typo"), ["typo", "holds no report"]),
    "rerun-matching-nothing": (lambda t: _verify(_reports(t), rerun="nope"),
                               ["--rerun", "nope"]),
    "profile-named-as-a-path": (
        lambda t: _run_args(t, _submission(t, yaml.safe_dump(
            {**SHIPPED, "profiles": {"../../ci": SHIPPED["profiles"]["ci"]}}))),
        ["profiles", "../../ci"]),
}


def _hostile(field: str, value: str):
    """A summary whose identity is a path out of the site's folder."""
    def edit(folder: Path) -> None:
        s = json.loads((folder / "summary.json").read_text())
        s[field] = value
        (folder / "summary.json").write_text(json.dumps(s))
    return edit


@pytest.mark.parametrize("field", ["submission", "profile"])
def test_a_hostile_summary_cannot_make_the_site_write_outside_its_folder(field, tmp_path,
                                                                          capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    reports = _reports(tmp_path, _hostile(field, "../../../escaped"))
    before = tree(tmp_path)
    code, err = run("leaderboard", "--reports", str(reports), "--out", str(tmp_path / "a" / "site"),
                    "--quiet", capsys=capsys)
    refused(code, err, field, "../../../escaped")
    assert tree(tmp_path) == before


@pytest.mark.parametrize("case", list(CATALOGUE))
def test_the_bad_input_catalogue_is_refused_in_one_line_leaving_nothing(case, tmp_path, capsys,
                                                                        monkeypatch):
    monkeypatch.chdir(tmp_path)
    make, words = CATALOGUE[case]
    args = make(tmp_path)
    before = tree(tmp_path)
    code, err = run(*args, capsys=capsys)
    refused(code, err, *words)
    assert tree(tmp_path) == before


# --------------------------------------------------------------------------- properties
# a value of the wrong kind for a field that wants a positive integer (pydantic reads "5"
# and 2.0 as 5 and 2, so neither is drawn)
NOT_A_COUNT = st.one_of(
    st.integers(max_value=-1), st.floats(allow_nan=False).filter(lambda x: not x.is_integer()),
    st.text(alphabet="ab", max_size=3), st.lists(st.integers(), max_size=2), st.none())
FIELDS = {  # (section, field) -> values it must refuse
    ("training", "epochs"): NOT_A_COUNT,
    ("training", "batch_size"): NOT_A_COUNT,
    ("training", "seeds"): st.one_of(st.just([]), st.text(alphabet="ab", max_size=3),
                                     st.lists(st.integers(max_value=-1), min_size=1, max_size=2)),
    ("evaluation", "severities"): st.lists(st.integers().filter(lambda s: not 1 <= s <= 5),
                                           min_size=1, max_size=3),
    ("evaluation", "corruptions"): st.lists(st.text(alphabet="xyz_", min_size=1, max_size=6),
                                            min_size=1, max_size=2),
    ("augmentation", "family"): st.text(alphabet="xyz", min_size=1, max_size=6),
    ("augmentation", "params"): st.lists(st.integers().filter(lambda q: not 1 <= q <= 100),
                                         min_size=1, max_size=2),
    ("model", "name"): st.text(alphabet="xyz", min_size=1, max_size=6),
}


@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_a_malformed_submission_is_refused_before_any_work(data, tmp_path_factory, capsys):
    """The shipped jpeg_aug submission with one field of its ci profile made wrong (a value
    of the wrong kind or range, an unknown field, or a required one dropped)."""
    tmp = tmp_path_factory.mktemp("sub")
    raw = json.loads(json.dumps(SHIPPED))
    ci = raw["profiles"]["ci"]
    how = data.draw(st.sampled_from(["value", "unknown", "dropped"]))
    if how == "value":
        section, field = data.draw(st.sampled_from(sorted(FIELDS)))
        ci.setdefault(section, {})[field] = data.draw(FIELDS[(section, field)])
    elif how == "unknown":
        section = data.draw(st.sampled_from(["training", "evaluation", "model", "augmentation"]))
        ci.setdefault(section, {})[data.draw(st.sampled_from(["epoch", "sever1ties", "nme"]))] = 1
    else:
        del raw[data.draw(st.sampled_from(["id", "name", "dataset", "model"]))]
    path = _submission(tmp, yaml.safe_dump(raw))
    before = tree(tmp)
    code, err = run(*_run_args(tmp, path), capsys=capsys)
    refused(code, err, "sub.yaml")
    assert tree(tmp) == before


ARGUMENTS = {  # option of build-corruptions -> values it must refuse
    "--seed": st.integers(max_value=-1).map(str),
    "--limit": st.one_of(st.integers(max_value=0).map(str), st.text(alphabet="ab.-", max_size=3)),
    "--severities": st.one_of(st.just(""), st.just(","),
                              st.lists(st.integers().filter(lambda s: not 1 <= s <= 5),
                                       min_size=1, max_size=3).map(lambda v: ",".join(map(str, v)))),
    "--workers": st.integers(max_value=0).map(str),
    "--corruptions": st.text(alphabet="xyz_", min_size=1, max_size=6),
    "--dataset": st.text(alphabet="xyz", min_size=1, max_size=6),
}


@needs_fmnist
@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(option=st.sampled_from(sorted(ARGUMENTS)), data=st.data())
def test_a_bad_argument_is_refused_before_any_work(option, data, tmp_path_factory, capsys):
    tmp = tmp_path_factory.mktemp("args")
    value = data.draw(ARGUMENTS[option])
    args = {"--dataset": "fashion-mnist", "--limit": "4", "--corruptions": "fog",
            "--severities": "1", "--out": str(tmp / "c"), option: value}
    before = tree(tmp)
    code, err = run("build-corruptions", *[f"{k}={v}" for k, v in args.items()], capsys=capsys)
    refused(code, err)
    assert tree(tmp) == before
