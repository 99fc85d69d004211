"""Published rate-distortion curves on the 24 Kodak images, the anchor line of Kodak plots.

Source: CompressAI's results folder (``results/image/kodak/*.json`` in
InterDigitalInc/CompressAI), as collected in ``shared/reference/codec_anchors.md``: bits per
pixel of the whole image and PSNR on RGB (dB), means over the 24 images. The learned ones
are MSE-trained on GPU for ~1-2M steps on 256 px crops of a large photo corpus: what a codec
of these families reaches when trained as published.
"""
from __future__ import annotations

from dataclasses import dataclass

SOURCE = "CompressAI results/image/kodak (InterDigitalInc/CompressAI)"


@dataclass(frozen=True)
class PublishedCurve:
    name: str
    family: str  # the benchmark family it is the published counterpart of
    bpp: tuple[float, ...]
    psnr: tuple[float, ...]
    source: str = SOURCE

    def as_dict(self) -> dict:
        return {"name": self.name, "family": self.family, "bpp": list(self.bpp),
                "psnr": list(self.psnr), "source": self.source}


KODAK = (
    PublishedCurve("bmshj2018-factorized (CompressAI)", "bls",
                   (0.1226, 0.1885, 0.2878, 0.4404, 0.6481, 0.9670, 1.3512, 1.8333),
                   (26.91, 28.22, 29.62, 31.28, 32.96, 35.38, 37.40, 39.62)),
    PublishedCurve("bmshj2018-hyperprior (CompressAI)", "bmshj",
                   (0.1313, 0.2089, 0.3199, 0.4784, 0.6687, 0.9388, 1.2592, 1.6602),
                   (27.58, 29.20, 30.97, 32.84, 34.53, 36.74, 38.58, 40.56)),
)


KODAK_DATASETS = ("kodak", "photos")  # photos' test split is kodim13-24


def published_curves(dataset: str) -> tuple[PublishedCurve, ...]:
    """The published curves of ``dataset``'s images: Kodak's, also for ``photos``, whose test
    split is half of the 24 images the curves average over (close, not the same set: the
    outputs say "all 24 Kodak images" beside them)."""
    return KODAK if dataset in KODAK_DATASETS else ()
