"""Where work runs: the torch device a user asked for, and how many CPU cores there are."""
from __future__ import annotations

import functools
import os
from pathlib import Path

from .errors import BenchError


def resolve_device(device: str) -> str:
    """``auto`` is CUDA when present, else the CPU; an unavailable device is a user error."""
    import torch

    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise BenchError(f"--device {device}: CUDA is not available on this machine")
    if device != "cpu" and not device.startswith("cuda"):
        raise BenchError(f"--device must be auto, cpu or cuda[:N], got {device!r}")
    return device


@functools.cache
def cpu_kind() -> str:
    """What float results are reproducible bit for bit on: the instruction set torch's CPU
    kernels dispatch to, and the processor (vendor, family/model), as in
    ``AVX512 AuthenticAMD 25/17``. The instruction set alone is not enough: an AMD Zen 4 and
    the Intel hosts that recorded ``AVX512`` reports train the same ci unit to different
    last bits (oneDNN picks kernels and blockings by processor), while each reruns itself
    exactly. Recorded beside every such result; a record of the instruction set alone (the
    reports from before) matches no machine, so it is compared within the cross-kind
    tolerance."""
    import torch

    isa = torch.backends.cpu.get_cpu_capability()
    return " ".join([isa, *_processor()])


def _processor() -> list[str]:
    """[vendor, family/model] from /proc/cpuinfo; [] where there is none."""
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return []
    fields = {}
    for line in text.split("\n\n")[0].splitlines():
        key, _, value = line.partition(":")
        fields[key.strip()] = value.strip()
    vendor, family, model = (fields.get(k) for k in ("vendor_id", "cpu family", "model"))
    return [vendor, f"{family}/{model}"] if vendor and family and model else []


def cpu_count() -> int:
    """Cores this process may use (the affinity mask, not the machine's total)."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
