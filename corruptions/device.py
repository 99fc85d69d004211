"""Where work runs: the torch device a user asked for, and how many CPU cores there are."""
from __future__ import annotations

import os

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


def cpu_kind() -> str:
    """The instruction set torch's CPU kernels dispatch to (``AVX512``, ``AVX2``, ...).
    Float results of convolutions (trained weights, codec reconstructions) are reproducible
    bit for bit only on the same kind; it is recorded beside every such result."""
    import torch

    return torch.backends.cpu.get_cpu_capability()


def cpu_count() -> int:
    """Cores this process may use (the affinity mask, not the machine's total)."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
