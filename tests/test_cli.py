"""The ``bench`` command line: exit codes, one-line errors, the files it writes (and does not
write), ``corruptions list`` and ``corruptions preview``.

A few runs go through a real process (the build, the console script, one bad input); the
rest call ``benchmark.cli.main`` in this process, with the root logger emptied first so that
its ``logging.basicConfig`` logs to the captured stderr exactly as a real run does.
"""
from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import corruptions as C
from benchmark import cli, datasets
from corruptions import files, store

REPO = Path(__file__).resolve().parents[1]

needs_fmnist = pytest.mark.skipif(
    not (datasets.FASHION_MNIST_DIR / "t10k-images-idx3-ubyte.gz").is_file(),
    reason="dataset-fashion-mnist (Debian) not installed")


def bench_process(*args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    env.pop("BENCH_DATA", None)
    return subprocess.run([sys.executable, "-m", "benchmark.cli", *args], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=120)


@pytest.fixture
def bench(capsys, monkeypatch):
    """``bench(*args)`` -> (exit code, stdout, stderr), in this process."""
    monkeypatch.delenv("BENCH_DATA", raising=False)
    root = logging.getLogger()
    saved = root.handlers[:], root.level

    def run(*args: str) -> tuple[int, str, str]:
        capsys.readouterr()
        root.handlers = []  # let main()'s basicConfig install its stderr handler
        try:
            try:
                code = cli.main(list(args))
            except SystemExit as e:  # argparse --help
                code = e.code or 0
        finally:
            root.handlers = saved[0][:]
            root.setLevel(saved[1])
        out, err = capsys.readouterr()
        return code, out, err

    return run


def _cuda_available() -> bool:
    import torch
    return torch.cuda.is_available()


# --------------------------------------------------------------------------- build + list
@pytest.fixture(scope="module")
def cli_built(tmp_path_factory):
    """The real console command, in its own process."""
    out = tmp_path_factory.mktemp("cli") / "fm-c"
    r = bench_process("build-corruptions", "--dataset", "fashion-mnist", "--limit", "20",
                      "--corruptions", "contrast,fog", "--severities", "1,3", "--out", str(out),
                      "--workers", "1")
    return out, r


@needs_fmnist
def test_build_corruptions_writes_the_set(cli_built):
    out, r = cli_built
    assert r.returncode == 0, r.stderr
    assert "Traceback" not in r.stderr
    assert {p.name for p in out.iterdir()} == {"contrast.npy", "fog.npy", "labels.npy",
                                               "manifest.json"}
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["severities"] == [1, 3] and manifest["n_images"] == 20
    assert manifest["limit"] == 20 and manifest["dataset"] == "fashion-mnist"
    assert manifest["scale"] == "cifar"
    assert set(manifest["corruptions"]) == {"contrast", "fog"}
    assert store.files_verify(out, manifest["files"])
    images = datasets.load_dataset("fashion-mnist", "test").head(20).images
    for name in ("contrast", "fog"):
        arr = np.load(out / f"{name}.npy")
        assert arr.shape == (2 * 20, 28, 28, 1) and arr.dtype == np.uint8
        for k, s in enumerate((1, 3)):  # rows follow the listed severities
            want = C.corrupt(images, name, s, scale="cifar", seed=0, indices=range(20))
            np.testing.assert_array_equal(arr[k * 20:(k + 1) * 20], want, err_msg=f"{name} s{s}")
    assert np.load(out / "labels.npy").shape == (40,)


@needs_fmnist
def test_build_corruptions_cbar_writes_its_own_folder(tmp_path, bench):
    code, _, err = bench("build-corruptions", "--dataset", "fashion-mnist", "--limit", "12",
                         "--corruptions", "cbar", "--severities", "2,5", "--data-root",
                         str(tmp_path), "--workers", "1")
    assert code == 0, err
    out = tmp_path / "corrupted" / "fashion-mnist-c-bar"
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["corruptions"] == C.names("cbar") and manifest["severities"] == [2, 5]
    assert {p["suite"] for p in manifest["profiles"].values()} == {"cbar"}
    assert not any(p["identity"] for p in manifest["profiles"].values())  # none on grey
    arr = np.load(out / "ripple.npy")
    assert arr.shape == (24, 28, 28, 1) and np.load(out / "labels.npy").shape == (24,)
    code, text, _ = bench("corruptions", "list", "--manifest", str(out))
    assert code == 0 and "transverse_chromatic_abberation" in text and " cbar " in text


@needs_fmnist
def test_corruptions_list_reports_the_manifest(cli_built, bench):
    out, r = cli_built
    assert r.returncode == 0, r.stderr
    manifest = json.loads((out / "manifest.json").read_text())
    for arg in (out / "manifest.json", out):  # the file or its folder
        code, text, err = bench("corruptions", "list", "--manifest", str(arg))
        assert code == 0, err
        assert "published" in text and "measured" in text and "fashion-mnist" in text
        rows = {line.split()[0]: line.split() for line in text.splitlines()
                if line.split() and line.split()[0] in ("contrast", "fog")}
        assert set(rows) == {"contrast", "fog"}
        for name, cols in rows.items():
            # corruption category set published measured shares band psnr...
            prof = manifest["profiles"][name]
            assert cols[3] == prof["published_band"] == "low"
            assert cols[4].removeprefix("flat~") == prof["measured_band"]
            assert cols[4].removeprefix("flat~") in ("low", "mid", "high")
            shares = [float(x) for x in cols[5].split("/")]
            assert sum(shares) == pytest.approx(1, abs=0.02)


def test_corruptions_list_without_a_manifest_is_exit_2(bench, tmp_path):
    code, _, err = bench("corruptions", "list", "--manifest", str(tmp_path / "manifest.json"))
    assert code == 2
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err


# --------------------------------------------------------------------------- bad input
BAD_INPUT = {  # case: (arguments, a word the error line must contain)
    "unknown-dataset": (["--dataset", "nope", "--corruptions", "contrast"], "nope"),
    "unknown-corruption": (["--dataset", "fashion-mnist", "--corruptions", "nope"], "nope"),
    "severity-7": (["--dataset", "fashion-mnist", "--corruptions", "contrast",
                    "--severities", "7"], "7"),
    "missing-dataset": (["--corruptions", "contrast"], "--dataset"),
    "imagecorruptions-cifar": (["--dataset", "fashion-mnist", "--corruptions", "contrast",
                                "--backend", "imagecorruptions", "--scale", "cifar"],
                               "imagecorruptions"),
    "cuda": (["--dataset", "fashion-mnist", "--corruptions", "contrast", "--device", "cuda"],
             "cuda"),
    "malformed-severities": (["--dataset", "fashion-mnist", "--corruptions", "contrast",
                              "--severities", "a,b"], "a,b"),
}


def _bad_case(case: str):
    return case


def _run_bad(bench, tmp_path, case):
    if case == "cuda" and _cuda_available():
        pytest.skip("CUDA is available here")
    out = tmp_path / "out"
    code, stdout, err = bench("build-corruptions", *BAD_INPUT[case][0], "--limit", "20",
                              "--out", str(out), "--workers", "1")
    return out, code, err


@needs_fmnist
@pytest.mark.parametrize("case", list(BAD_INPUT))
def test_bad_input_is_exit_2_with_an_error_line_and_no_files(bench, tmp_path, case):
    out, code, err = _run_bad(bench, tmp_path, case)
    assert code == 2, err
    assert "Traceback" not in err
    errors = [line for line in err.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, err
    assert err.strip().splitlines()[-1] == errors[0]  # the error is the last word
    assert BAD_INPUT[case][1] in errors[0]
    assert not out.exists() or not list(out.rglob("*.npy")), sorted(out.rglob("*"))
    assert not out.exists() or not list(out.rglob(f"*{files.TMP_MARK}*"))


@needs_fmnist
@pytest.mark.parametrize("case", [_bad_case(c) for c in BAD_INPUT])
def test_bad_input_stderr_is_exactly_one_line(bench, tmp_path, case):
    out, code, err = _run_bad(bench, tmp_path, case)
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("error:")


@needs_fmnist
def test_bad_input_in_a_real_process(tmp_path):
    """The same contract end to end: the process's exit status and its stderr."""
    out = tmp_path / "out"
    r = bench_process("build-corruptions", "--dataset", "fashion-mnist", "--corruptions",
                      "contrast", "--severities", "7", "--out", str(out))
    assert r.returncode == 2
    assert r.stderr.strip().splitlines() == ["error: severity must be one of 1..5, got 7"]
    assert r.stdout == ""
    assert not out.exists()


def test_no_command_is_exit_2(bench):
    code, _, err = bench()
    assert code == 2
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err


# --------------------------------------------------------------------------- preview
@needs_fmnist
def test_preview_writes_a_png(bench, tmp_path):
    out = tmp_path / "grid.png"
    code, _, err = bench("corruptions", "preview", "--dataset", "fashion-mnist", "--index", "3",
                         "--out", str(out), "--corruptions", "contrast,fog")
    assert code == 0, err
    with Image.open(out) as im:
        assert im.format == "PNG"
        w, h = im.size
        assert w > 100 and h > 50
        im.load()
    assert [p.name for p in tmp_path.iterdir()] == ["grid.png"]  # no temporary left


@needs_fmnist
@pytest.mark.parametrize("index", ["999999", "-1"])
def test_preview_index_out_of_range_is_exit_2(bench, tmp_path, index):
    out = tmp_path / "grid.png"
    code, _, err = bench("corruptions", "preview", "--dataset", "fashion-mnist",
                         "--index", index, "--out", str(out), "--corruptions", "contrast,fog")
    assert code == 2
    assert index in err and "Traceback" not in err
    assert not out.exists()


# --------------------------------------------------------------------------- help
@pytest.mark.parametrize("args", [["--help"], ["build-corruptions", "--help"],
                                  ["corruptions", "preview", "--help"], ["run", "--help"],
                                  ["perf", "train", "--help"], ["perf", "eval", "--help"]])
def test_help_exits_0(bench, args):
    code, out, _ = bench(*args)
    assert code == 0
    assert out.startswith("usage: bench")
    if args[0] == "build-corruptions":
        for opt in ("--dataset", "--corruptions", "--severities", "--out", "--resume"):
            assert opt in out
    if args[0] == "run":
        for opt in ("--submission", "--profile", "--jobs", "--executor", "--device"):
            assert opt in out


def test_console_script_help_exits_0():
    script = Path(sys.executable).parent / "bench"
    if not script.exists():
        pytest.skip(f"no console script at {script}")
    r = subprocess.run([str(script), "--help"], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    assert "build-corruptions" in r.stdout and "corruptions" in r.stdout


def test_ctrl_c_leaves_whole_files_and_resume_finishes(tmp_path):
    """SIGINT mid-build: exit 130, no temporary files, every listed file verifies; --resume
    then completes the set without redoing what was finished."""
    import signal
    import time

    from corruptions import store

    out = tmp_path / "set"
    cmd = [sys.executable, "-m", "benchmark.cli", "build-corruptions", "--dataset", "fashion-mnist",
           "--limit", "1500", "--out", str(out), "--workers", "1"]
    # a pytest-xdist worker may ignore SIGINT, and an ignored signal stays ignored in its
    # children (Python then installs no Ctrl-C handler): the build gets a terminal's default
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    deadline = time.time() + 120
    while time.time() < deadline:
        m = out / "manifest.json"
        if m.exists() and json.loads(m.read_text())["corruptions"]:
            break
        time.sleep(0.2)
    proc.send_signal(signal.SIGINT)
    assert proc.wait(timeout=60) == 130, proc.stderr.read().decode()[-2000:]
    assert not [p for p in out.rglob("*") if files.TMP_MARK in p.name]
    manifest = json.loads((out / "manifest.json").read_text())
    done = manifest["corruptions"]
    assert 1 <= len(done) < 19
    assert store.files_verify(out, manifest["files"])
    before = {c: (out / f"{c}.npy").stat().st_mtime_ns for c in done}
    resumed = subprocess.run(cmd + ["--resume"], capture_output=True, text=True, timeout=600)
    assert resumed.returncode == 0, resumed.stderr
    final = json.loads((out / "manifest.json").read_text())
    assert len(final["corruptions"]) == 19 and store.files_verify(out, final["files"])
    assert all((out / f"{c}.npy").stat().st_mtime_ns == t for c, t in before.items())
