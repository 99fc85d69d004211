"""``make gpu-check``: the CUDA path exercised on one GPU, every result under one folder.

It reads nothing but the repository and the embedded data (Fashion-MNIST from the Debian
package, the codec zoo), and is sized for under 8 minutes on one GPU:

1. ``tests/test_cuda.py`` (training, evaluation, the corruption engine and both codec
   families against the CPU) and ``tests/test_accel.py`` on that machine;
2. ``bench perf train|eval --device cuda --model resnet18_cifar`` against the textbook loops
   (target >= 5x for training), ``bench perf corruptions --device cuda`` (96 px crops, the
   build skipped: the CPU reference loop would take the budget);
3. the ``gpu`` profile of ``baseline`` and ``bls_aug`` (zoo codecs), reduced to fit: one
   seed, bls at lambda 0.012 only, 10 epochs instead of 30 (``REDUCED``); their GPU
   images/s for training and evaluation from the units' own seconds;
4. a projection of the thesis' grid (84 VGG11 runs x 30 epochs on CIFAR-10's 50k training
   images, each evaluated on CIFAR-10-C) from those throughputs.

Without a CUDA device it says so, shows the CUDA tests skipped with their reason, and exits
0. ``summary.json`` in the folder holds every step's status, seconds and figures.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
OUT = Path(os.environ.get("OUT", ROOT / "runs" / "gpu-check"))
BENCH = [sys.executable, "-m", "benchmark.cli"]
# the gpu profiles cut to the budget: said in the summary beside every number they give
REDUCED = {"training": {"seeds": [0], "epochs": 10}}
BLS_PARAMS = [0.012]
THESIS_GRID = {"runs": 84, "epochs": 30, "train_images": 50_000,
               "eval_images": 10_000 * (1 + 19 * 5)}  # CIFAR-10 test, clean + 19 x 5


def step(summary: dict, name: str, cmd: list[str], out: str | None = None,
         timeout: int = 300) -> dict | None:
    """Run one step; its stdout to ``out`` (JSON parsed into the summary when it is)."""
    t0 = time.perf_counter()
    try:
        r = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=timeout)
        code, stdout, stderr = r.returncode, r.stdout, r.stderr
    except subprocess.TimeoutExpired as e:
        code, stdout, stderr = 124, e.stdout or "", f"timed out after {timeout} s"
    seconds = round(time.perf_counter() - t0, 1)
    (OUT / f"{name}.log").write_text(f"$ {' '.join(cmd)}\n{stdout}\n--- stderr\n{stderr}")
    parsed = None
    if out:
        (OUT / out).write_text(stdout)
        try:
            parsed = json.loads(stdout)
        except ValueError:
            pass
    summary["steps"][name] = {"exit": code, "seconds": seconds, **({"result": parsed} if parsed else {})}
    print(f"{'ok  ' if code == 0 else 'FAIL'} {name} ({seconds} s)", flush=True)
    return parsed


def reduced_submission(name: str) -> Path:
    raw = yaml.safe_load((ROOT / "submissions" / f"{name}.yaml").read_text())
    gpu = raw["profiles"]["gpu"]
    gpu["training"] = {**gpu.get("training", {}), **REDUCED["training"]}
    if raw.get("augmentation", {}).get("family") == "bls":
        gpu["augmentation"] = {"params": BLS_PARAMS}
    raw["profiles"] = {"gpu": gpu}
    path = OUT / "submissions" / f"{name}.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(raw, sort_keys=False))
    return path


def throughput(report: Path) -> dict:
    """Training and evaluation images/s of a report's units, from their own seconds."""
    from benchmark.scoring.reports import RunFolder

    folder = RunFolder(report)
    summary, history, rows = folder.summary(), folder.history(), folder.results()
    images = summary.original_data["images"]
    train_s = float(history["seconds"].sum())
    evaluated = int(rows["n"].sum())
    eval_s = sum(u.made.eval_s for u in summary.provenance.units)
    return {"train_images_per_s": round(images * len(history) / train_s, 1),
            "eval_images_per_s": round(evaluated / eval_s, 1),
            "clean_acc": summary.per_param[summary.params[0]].clean_acc,
            "device": summary.provenance.device}


def main() -> int:
    OUT.mkdir(parents=True, exist_ok=True)
    import torch

    summary = {"steps": {}, "reduced": {**REDUCED, "bls_params": BLS_PARAMS}}
    if not torch.cuda.is_available():
        reason = "no CUDA device on this machine: the CUDA part is skipped"
        summary["skipped"] = reason
        print(f"gpu-check: {reason}")
        step(summary, "cuda-tests", [sys.executable, "-m", "pytest", "-q", "-rs",
                                     "tests/test_cuda.py"])
        (OUT / "summary.json").write_text(json.dumps(summary, indent=1))
        return 0
    summary["gpu"] = torch.cuda.get_device_name(0)
    step(summary, "cuda-tests", [sys.executable, "-m", "pytest", "-q", "-rs", "tests/test_cuda.py",
                                 "tests/test_accel.py", f"--junitxml={OUT / 'cuda-tests.xml'}"],
         timeout=240)
    step(summary, "perf-train", [*BENCH, "perf", "train", "--device", "cuda", "--model",
                                 "resnet18_cifar", "--json"], "perf-train.json")
    step(summary, "perf-eval", [*BENCH, "perf", "eval", "--device", "cuda", "--model",
                                "resnet18_cifar", "--json"], "perf-eval.json")
    step(summary, "perf-corruptions", [*BENCH, "perf", "corruptions", "--device", "cuda",
                                       "--size", "96", "--skip-build", "--json"],
         "perf-corruptions.json")
    rates = {}
    for name in ("baseline", "bls_aug"):
        path = reduced_submission(name)
        step(summary, f"gpu-{name}", [*BENCH, "run", "--submission", str(path), "--profile",
                                      "gpu", "--device", "cuda", "--quiet", "--data-root",
                                      str(OUT / "data"), "--runs", str(OUT / "runs"),
                                      "--reports", str(OUT / "reports")], timeout=420)
        report = OUT / "reports" / name / "gpu"
        if (report / "summary.json").is_file():
            rates[name] = throughput(report)
    summary["gpu_profile"] = rates
    if "baseline" in rates:
        r, g = rates["baseline"], THESIS_GRID
        train_s = g["runs"] * g["epochs"] * g["train_images"] / r["train_images_per_s"]
        eval_s = g["runs"] * g["eval_images"] / r["eval_images_per_s"]
        summary["projection"] = {
            **g, "model": "vgg11 (the gpu profile's), Fashion-MNIST throughput as CIFAR-10's",
            "train_minutes": round(train_s / 60, 1), "eval_minutes": round(eval_s / 60, 1),
            "total_minutes": round((train_s + eval_s) / 60, 1), "goal_minutes": 15}
    (OUT / "summary.json").write_text(json.dumps(summary, indent=1))
    failed = [k for k, v in summary["steps"].items() if v["exit"] != 0]
    print(f"gpu-check: {len(summary['steps']) - len(failed)} of {len(summary['steps'])} steps "
          f"passed; {OUT / 'summary.json'}" + (f"; failed: {', '.join(failed)}" if failed else ""))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
