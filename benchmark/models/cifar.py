"""The thesis' classifiers for 28-32 px images: VGG11 and ResNet18 in their CIFAR form
(the widely used CIFAR adaptations: 3x3 stem, no ImageNet down-sampling, one linear
classifier), their reduced-parameter variants (thesis Tables 3.2 and 3.3), and a small CNN
sized for the CPU.

Each conv-module of a VGG variant is conv 3x3 + batch norm + ReLU + 2x2 max-pool; one of a
ResNet variant is a basic block (conv, BN, ReLU, conv, BN, skip, ReLU), the first stage at
stride 1 and every later one at stride 2, then a 4x4 average pool and a linear layer on
what is left (so a shallower variant has a wider classifier). Pools round up, so 28 px
Fashion-MNIST passes through five of them as 32 px CIFAR-10 does.
"""
from __future__ import annotations

import torch.nn.functional as F
from torch import nn

from . import register_model

VGG11 = [64, "M", 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"]
VGG11_VARIANTS = {  # thesis Table 3.2: one conv-module (with its pool) per entry
    1: [64, 128, 256, 256, 256],
    2: [64, 128, 128, 128, 256],
    3: [64, 64, 64, 128, 128],
    4: [32, 32, 32, 64, 128],
    5: [16, 16, 16, 32, 128],
}
RESNET18_VARIANTS = {1: [64, 128, 256, 512], 2: [64, 128, 256], 3: [64, 128], 4: [64]}


def _vgg(cfg: list, in_chans: int, num_classes: int) -> nn.Module:
    layers, c = [], in_chans
    for v in cfg:
        if v == "M":
            layers.append(nn.MaxPool2d(2, ceil_mode=True))
        else:
            layers += [nn.Conv2d(c, v, 3, padding=1), nn.BatchNorm2d(v), nn.ReLU(inplace=True)]
            c = v
    return nn.Sequential(*layers, nn.AdaptiveMaxPool2d(1), nn.Flatten(), nn.Linear(c, num_classes))


@register_model("vgg11_cifar", description="VGG11 with batch norm, CIFAR form (9.23M params)")
def vgg11_cifar(in_chans: int, num_classes: int, image_size: int) -> nn.Module:
    return _vgg(VGG11, in_chans, num_classes)


def _vgg_variant(k: int):
    widths = VGG11_VARIANTS[k]

    @register_model(f"vgg11_{k}", description=f"VGG11-{k} of thesis Table 3.2: {widths}")
    def make(in_chans: int, num_classes: int, image_size: int) -> nn.Module:
        return _vgg([x for w in widths for x in (w, "M")], in_chans, num_classes)
    return make


class BasicBlock(nn.Module):
    def __init__(self, cin: int, cout: int, stride: int):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.shortcut = nn.Sequential()
        if stride != 1 or cin != cout:
            self.shortcut = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False),
                                          nn.BatchNorm2d(cout))

    def forward(self, x):
        out = F.relu(self.bn1(self.conv1(x)))
        return F.relu(self.bn2(self.conv2(out)) + self.shortcut(x))


class CifarResNet(nn.Module):
    def __init__(self, widths: list[int], blocks: int, in_chans: int, num_classes: int,
                 image_size: int):
        super().__init__()
        self.conv1 = nn.Conv2d(in_chans, 64, 3, 1, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        stages, c, side = [], 64, image_size
        for i, w in enumerate(widths):
            stride = 1 if i == 0 else 2
            side = (side - 1) // stride + 1
            stages.append(nn.Sequential(*[BasicBlock(c if b == 0 else w, w, stride if b == 0 else 1)
                                          for b in range(blocks)]))
            c = w
        self.layers = nn.Sequential(*stages)
        pooled = max(side // 4, 1)
        self.linear = nn.Linear(c * pooled * pooled, num_classes)

    def forward(self, x):
        out = self.layers(F.relu(self.bn1(self.conv1(x))))
        out = F.avg_pool2d(out, min(4, out.shape[-1]))
        return self.linear(out.flatten(1))


@register_model("resnet18_cifar", description="ResNet18, CIFAR form (11.17M params)")
def resnet18_cifar(in_chans: int, num_classes: int, image_size: int) -> nn.Module:
    return CifarResNet([64, 128, 256, 512], 2, in_chans, num_classes, image_size)


def _resnet_variant(k: int):
    widths = RESNET18_VARIANTS[k]

    @register_model(f"resnet18_{k}", description=f"RES18-{k} of thesis Table 3.3: {widths}")
    def make(in_chans: int, num_classes: int, image_size: int) -> nn.Module:
        return CifarResNet(widths, 1, in_chans, num_classes, image_size)
    return make


for _k in VGG11_VARIANTS:
    _vgg_variant(_k)
for _k in RESNET18_VARIANTS:
    _resnet_variant(_k)


class SixConv(nn.Module):
    """Two 3x3 conv + batch norm + ReLU per stage, stages of ``width``, 2 ``width`` and
    4 ``width`` channels with a max-pool after each of the first two, global average pool,
    one linear layer: the shape the capacity sweep (issue 33) measured best per CPU-second
    on 28 px images (at width 32, 288k parameters; at 16, 73k)."""

    def __init__(self, width: int, in_chans: int, num_classes: int):
        super().__init__()
        layers, c = [], in_chans
        for stage, w in enumerate((width, 2 * width, 4 * width)):
            for _ in range(2):
                layers += [nn.Conv2d(c, w, 3, padding=1, bias=False), nn.BatchNorm2d(w),
                           nn.ReLU(inplace=True)]
                c = w
            if stage < 2:
                layers.append(nn.MaxPool2d(2, ceil_mode=True))
        self.features = nn.Sequential(*layers)
        self.head = nn.Linear(c, num_classes)

    def forward(self, x):
        return self.head(self.features(x).mean((2, 3)))


SIX_CONV_WIDTHS = (12, 16, 24, 32)


def _six_conv(width: int):
    @register_model(f"cnn6_{width}", description=f"six 3x3 convs ({width}-{2 * width}-"
                    f"{4 * width}, two per stage), batch norm, global average pool")
    def make(in_chans: int, num_classes: int, image_size: int) -> nn.Module:
        return SixConv(width, in_chans, num_classes)
    return make


for _w in SIX_CONV_WIDTHS:
    _six_conv(_w)


@register_model("small_cnn", description="a small VGG: 3 conv-modules (16-32-64), 34k params, "
                                       "sized for CPUs")
def small_cnn(in_chans: int, num_classes: int, image_size: int) -> nn.Module:
    """Narrow on purpose: at 28 px a CPU spends its time moving activations, not multiplying,
    and 16-32-64 channels train about 3x faster than 32-64-128 here. Each module is conv +
    batch norm + ReLU + max-pool, as in VGG, then one linear layer on the 4x4 map."""
    layers, c = [], in_chans
    for w in (16, 32, 64):
        layers += [nn.Conv2d(c, w, 3, padding=1, bias=False), nn.BatchNorm2d(w),
                   nn.ReLU(inplace=True), nn.MaxPool2d(2, ceil_mode=True)]
        c = w
    side = -(-image_size // 8)
    return nn.Sequential(*layers, nn.Flatten(), nn.Linear(c * side * side, num_classes))
