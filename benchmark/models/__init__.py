"""Classifiers by name, the way timm registers models.

``create_model(name, in_chans, num_classes, image_size)`` builds any registered model, or
any timm model as ``timm:<name>`` (adapted to the input channels, the classes and small
images). Users add their own::

    @register_model("my_net", description="...")
    def my_net(in_chans: int, num_classes: int, image_size: int) -> nn.Module: ...

Every model takes images in [0, 1]; the trainer puts the dataset's normalisation in front
(``Normalized``), so a trained model is evaluated the same way by ``bench run`` and by the
Python API.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import nn

from corruptions.errors import BenchError
from corruptions.registries import Registry

from .bands import BandConfig, BandWeighted

ModelFn = Callable[[int, int, int], nn.Module]


@dataclass(frozen=True)
class ModelEntry:
    name: str
    fn: ModelFn
    description: str = ""


REGISTRY: Registry[ModelEntry] = Registry("model", ["benchmark.models.cifar"])
TIMM_PREFIX = "timm:"


def register_model(name: str, *, description: str = "", override: bool = False):
    """Register ``fn(in_chans, num_classes, image_size) -> nn.Module``."""
    return REGISTRY.decorator(name, lambda fn: ModelEntry(name, fn, description),
                              override=override)


def model_names() -> list[str]:
    return REGISTRY.names()


def check_model_name(name: str) -> None:
    """Fail early (before any data is loaded) on a name nothing can build."""
    if name.startswith(TIMM_PREFIX):
        from .timm_models import check_timm_name
        check_timm_name(name[len(TIMM_PREFIX):])
    else:
        REGISTRY.get(name)


def create_model(name: str, in_chans: int, num_classes: int, image_size: int,
                 pretrained: bool = False, bands: BandConfig | None = None) -> nn.Module:
    """The named network; with ``bands``, behind learned frequency-band weights (seed 001)."""
    if name.startswith(TIMM_PREFIX):
        from .timm_models import create_timm_model
        net = create_timm_model(name[len(TIMM_PREFIX):], in_chans, num_classes, image_size,
                                pretrained)
    elif pretrained:
        raise BenchError(f"model {name!r} has no pretrained weights here; give a checkpoint "
                         "(model.weights) instead")
    else:
        net = REGISTRY.get(name).fn(in_chans, num_classes, image_size)
    return net if bands is None else BandWeighted(net, bands, image_size)


def count_parameters(model: nn.Module) -> int:
    """Trainable parameters (what the thesis' Tables 3.2 and 3.3 count)."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


class Normalized(nn.Module):
    """A classifier that takes [0, 1] images: the training set's per-channel mean and std
    in front of the network, saved with it."""

    def __init__(self, net: nn.Module, mean: list[float], std: list[float]):
        super().__init__()
        self.net = net
        self.register_buffer("mean", torch.tensor(mean, dtype=torch.float32).view(1, -1, 1, 1))
        self.register_buffer("std", torch.tensor(std, dtype=torch.float32).view(1, -1, 1, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net((x - self.mean) / self.std)
