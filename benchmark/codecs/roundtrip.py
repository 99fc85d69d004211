"""A learned codec applied for real: images encoded to bitstreams by the range coder, the
streams decoded, and their bits counted. What a learned augmentation trains on, what the zoo
and ``bench codec`` measure, all from this one function."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from .models import FactorizedPrior


@dataclass(frozen=True)
class RoundTrip:
    """Decoded images (uint8 NHWC), the bits of each image's stream (payload: the stream is
    the whole file), and the codec's own likelihood estimate of them."""

    images: np.ndarray
    bits: np.ndarray
    estimated_bits: np.ndarray


def round_trip(model: FactorizedPrior, images: np.ndarray, device: str = "cpu",
               chunk: int = 256) -> RoundTrip:
    """Encode to real bitstreams, decode them, and count their bits."""
    h, w = images.shape[1:3]
    out, bits, estimate = np.empty_like(images), np.empty(len(images)), np.empty(len(images))
    for start in range(0, len(images), chunk):
        x = torch.from_numpy(images[start:start + chunk]).permute(0, 3, 1, 2).to(device) / 255
        streams = model.compress(x.float())
        rec = model.decompress(streams, (h, w))
        out[start:start + len(x)] = torch.round(rec * 255).to(torch.uint8).permute(0, 2, 3, 1).cpu()
        bits[start:start + len(x)] = [8 * len(s) for s in streams]
        estimate[start:start + len(x)] = model.estimated_bits(x.float()).cpu().numpy()
    return RoundTrip(out, bits, estimate)
