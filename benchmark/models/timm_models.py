"""Any timm model as ``timm:<name>``, fitted to small images and to the task.

timm builds the network with the dataset's input channels and classes. Networks made for
224 px ImageNet images often reduce a 28-32 px input to nothing (a ViT's patch grid) or to
a 1x1 map before their last stage (a ResNet's 7x7/2 stem and max-pool): a ViT is built for
the real image size (with smaller patches where its grid would be under 4x4), and a CNN whose features would fall below ``MIN_FEATURE_SIDE`` gets
its stem's stride, then its first pooling, taken out, as the usual CIFAR adaptations do.
No weights are downloaded by default; asking for pretrained ones on a machine that cannot
fetch them is one clear error.
"""
from __future__ import annotations

import logging
import socket

import torch
from torch import nn

from corruptions.errors import BenchError

log = logging.getLogger(__name__)
MIN_FEATURE_SIDE = 2
MIN_PATCH_GRID = 4
DOWNLOAD_TIMEOUT_S = 20.0


def _timm():
    import timm
    return timm


def check_timm_name(name: str) -> None:
    if not name or not _timm().is_model(name):
        raise BenchError(f"unknown timm model {name!r} (see timm.list_models())")


def _feature_side(model: nn.Module, in_chans: int, image_size: int) -> int:
    """Side of the last feature map for one image (0: the network cannot take it)."""
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            out = model.forward_features(torch.zeros(1, in_chans, image_size, image_size))
    except (RuntimeError, ValueError):  # a kernel larger than what is left of the image
        return 0
    finally:
        model.train(was_training)
    return int(out.shape[-1]) if out.ndim == 4 else image_size


def _first(model: nn.Module, kind) -> tuple[nn.Module, str, nn.Module] | None:
    for parent in model.modules():
        for child_name, child in parent.named_children():
            if kind(child):
                return parent, child_name, child
    return None


def _strided_conv(m: nn.Module) -> bool:
    return isinstance(m, nn.Conv2d) and max(m.stride) > 1


def _pool(m: nn.Module) -> bool:
    return isinstance(m, (nn.MaxPool2d, nn.AvgPool2d))


def create_timm_model(name: str, in_chans: int, num_classes: int, image_size: int,
                      pretrained: bool = False) -> nn.Module:
    check_timm_name(name)
    if pretrained:
        if not _hub_reachable():  # fail at once, not after a minute of retries
            raise BenchError(f"timm:{name}: pretrained weights come from the Hugging Face hub, "
                             "which this machine cannot reach; set pretrained: false, or give "
                             "the weights as a checkpoint (model.weights)")
        old = socket.getdefaulttimeout()
        socket.setdefaulttimeout(DOWNLOAD_TIMEOUT_S)  # restored below, whatever happens
        try:
            model = _build(name, in_chans, num_classes, image_size, True)
        except Exception as e:
            reason = " ".join(str(e).split())[:160] or type(e).__name__
            raise BenchError(f"timm:{name}: pretrained weights cannot be loaded on this machine "
                             f"({reason}); set pretrained: false, or give the weights as a "
                             "checkpoint (model.weights)") from None
        finally:
            socket.setdefaulttimeout(old)
    else:
        model = _build(name, in_chans, num_classes, image_size, False)
    _fit_stem(model, name, in_chans, image_size)
    return model


def _hub_reachable(host: str = "huggingface.co") -> bool:
    try:
        socket.create_connection((host, 443), timeout=3).close()
        return True
    except OSError:
        return False


def _build(name: str, in_chans: int, num_classes: int, image_size: int, pretrained: bool):
    """Built for the real image size where the architecture takes one (ViTs and the like),
    with patches small enough for a grid of at least ``MIN_PATCH_GRID`` a side."""
    timm = _timm()
    kwargs = dict(pretrained=pretrained, in_chans=in_chans, num_classes=num_classes)
    try:
        model = timm.create_model(name, img_size=image_size, **kwargs)
    except TypeError:  # a CNN: no image size to give
        return timm.create_model(name, **kwargs)
    patch = getattr(getattr(model, "patch_embed", None), "patch_size", None)
    if patch and image_size // max(patch) < MIN_PATCH_GRID:
        size = max(1, image_size // (2 * MIN_PATCH_GRID))
        log.info("timm:%s: patches of %d px for %d px inputs", name, size, image_size)
        model = timm.create_model(name, img_size=image_size, patch_size=size, **kwargs)
    return model


def _fit_stem(model: nn.Module, name: str, in_chans: int, image_size: int) -> None:
    """Take stride out of the stem until the last feature map keeps some extent."""
    for kind, what in ((_strided_conv, "stem stride"), (_pool, "first pooling")):
        if _feature_side(model, in_chans, image_size) >= MIN_FEATURE_SIDE:
            return
        found = _first(model, kind)
        if found is None:
            continue
        parent, child_name, child = found
        if kind is _strided_conv:
            child.stride = (1, 1)
        else:
            setattr(parent, child_name, nn.Identity())
        log.info("timm:%s: %s removed for %d px inputs", name, what, image_size)
    if _feature_side(model, in_chans, image_size) < 1:
        raise BenchError(f"timm:{name} cannot take {image_size} px images, even with its stem "
                         "adapted")
