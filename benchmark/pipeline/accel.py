"""How a model runs on its device: ``torch.compile`` and bf16 autocast.

Both are on by default on CUDA (the GPU path) and off on the CPU, where they are slower for
the small models of the cpu profiles; either can be asked for on any device, which is how
the tests run the GPU path's compile and autocast branches on a CPU. What only CUDA takes is
two lines, named here so that nothing else hides: pinned host memory with non-blocking
copies (``to_device``). A compilation that fails, which inductor does lazily at the first
call rather than at ``torch.compile``, falls back to the eager model with one warning.
"""
from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

import torch
from torch import nn

log = logging.getLogger(__name__)
AUTOCAST_DTYPE = torch.bfloat16
T = TypeVar("T")


@dataclass(frozen=True)
class Acceleration:
    compile: bool = False
    autocast: bool = False

    @classmethod
    def for_device(cls, device: str) -> Acceleration:
        cuda = device.startswith("cuda")
        return cls(compile=cuda, autocast=cuda)

    def autocast_on(self, device: str):
        """The autocast context for ``device`` (a no-op context when off)."""
        if not self.autocast:
            return contextlib.nullcontext()
        return torch.autocast(torch.device(device).type, dtype=AUTOCAST_DTYPE)


class Forward:
    """``model(x)``, through ``torch.compile`` when asked. Inductor compiles at the first
    call (the backward at the first backward), so ``guarded`` runs the first use of it under
    a fallback: if compiling raises, the model runs eagerly from then on, with one warning;
    a missing compiler or an unsupported op costs speed, never the run."""

    def __init__(self, model: nn.Module, compile: bool):
        self.model = model
        self.fn = model
        if compile:
            try:
                self.fn = torch.compile(model)
            except Exception as e:  # compilation is an optimisation, never a requirement
                self.fall_back(e)

    @property
    def compiled(self) -> bool:
        return self.fn is not self.model

    def fall_back(self, error: Exception) -> None:
        first = (str(error).strip().splitlines() or [""])[0][:200]
        log.warning("torch.compile failed (%s: %s); running eagerly", type(error).__name__, first)
        self.fn = self.model

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        return self.fn(x)


def guarded(call: Callable[..., T], forward: Forward) -> Callable[..., T]:
    """``call`` (a step that uses ``forward``), whose first run, while ``forward`` is
    compiled, falls back to eager and runs again if it raises."""
    checked = not forward.compiled

    def run(*args, **kwargs) -> T:
        nonlocal checked
        if checked:
            return call(*args, **kwargs)
        try:
            out = call(*args, **kwargs)
        except Exception as e:
            forward.fall_back(e)
            out = call(*args, **kwargs)
        checked = True
        return out
    return run


def to_device(x: torch.Tensor, device: str) -> torch.Tensor:
    """A host tensor on ``device``: through pinned memory, without blocking, on CUDA (the
    only CUDA-only path); as it is on the CPU."""
    if device.startswith("cuda"):
        return x.pin_memory().to(device, non_blocking=True)
    return x
