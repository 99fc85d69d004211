"""CompressAI's published checkpoints as this project's codecs.

A user who has (or can download) ``bmshj2018-factorized`` / ``bmshj2018-hyperprior`` at
qualities 1-8 (MSE) can use them as the codec of the ``bls`` / ``bmshj`` family: the weights
load into this project's modules (same architecture, same parameterisation), the coding
tables are frozen by this project's ``update()`` and the bitstreams come from this project's
range coder, so their bits and reconstructions are measured like every other codec here.
CompressAI itself is never imported.

A family uses them with the recipe override ``source=compressai``; its parameter is then the
lambda a quality was trained with (``PUBLISHED_LAMBDAS``), so ``bls:0.0067`` is quality 3.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import torch

from corruptions.errors import BenchError, DataError

from .models import CodecConfig, FactorizedPrior, build_codec

SOURCE = "compressai"
ROOT_URL = "https://compressai.s3.amazonaws.com/models/v1"
# CompressAI's MSE lambdas of qualities 1..8 (loss = bpp + lambda 255^2 MSE, as ours)
PUBLISHED_LAMBDAS = (0.0018, 0.0035, 0.0067, 0.0130, 0.0250, 0.0483, 0.0932, 0.1800)
_FILES = {
    "bls": ("bmshj2018-factorized", ("bmshj2018-factorized-prior-1-446d5c7f",
            "bmshj2018-factorized-prior-2-87279a02", "bmshj2018-factorized-prior-3-5c6f152b",
            "bmshj2018-factorized-prior-4-1ed4405a", "bmshj2018-factorized-prior-5-866ba797",
            "bmshj2018-factorized-prior-6-9b02ea3a", "bmshj2018-factorized-prior-7-6dfd6734",
            "bmshj2018-factorized-prior-8-5232faa3")),
    "bmshj": ("bmshj2018-hyperprior", ("bmshj2018-hyperprior-1-7eb97409",
              "bmshj2018-hyperprior-2-93677231", "bmshj2018-hyperprior-3-6d87be32",
              "bmshj2018-hyperprior-4-de1b779c", "bmshj2018-hyperprior-5-f8b614e1",
              "bmshj2018-hyperprior-6-1ab9c41e", "bmshj2018-hyperprior-7-3804dcbd",
              "bmshj2018-hyperprior-8-a583f0cf")),
}


@dataclass(frozen=True)
class PublishedCheckpoint:
    family: str
    quality: int
    model: str  # CompressAI's name
    file: str  # the file name (its 8 hex digits are a sha256 prefix of the content)

    @property
    def url(self) -> str:
        return f"{ROOT_URL}/{self.file}"

    @property
    def config(self) -> CodecConfig:
        n, m = (128, 192) if self.quality <= 5 else (192, 320)
        return CodecConfig(self.family, 3, N=n, M=m, depth=4)

    def provenance(self) -> dict:
        return {"published": f"{self.model} quality {self.quality} (mse)", "url": self.url,
                "codec": self.config.as_dict()}


def published_checkpoint(family: str, lmbda: float) -> PublishedCheckpoint:
    """The published checkpoint of ``family`` trained at ``lmbda``."""
    if family not in _FILES:
        raise BenchError(f"{SOURCE} publishes no checkpoint for family {family!r} "
                         f"(only {', '.join(_FILES)})")
    if lmbda not in PUBLISHED_LAMBDAS:
        raise BenchError(f"{family}: source={SOURCE} needs one of CompressAI's lambdas "
                         f"{', '.join(f'{x:g}' for x in PUBLISHED_LAMBDAS)} (qualities 1-8), "
                         f"got {lmbda:g}")
    model, names = _FILES[family]
    q = PUBLISHED_LAMBDAS.index(lmbda) + 1
    return PublishedCheckpoint(family, q, model, f"{names[q - 1]}.pth.tar")


_EB_LISTS = re.compile(r"^entropy_bottleneck\.(?:_?(matri(?:x|ces)|bias(?:es)?|factors?))\.?(\d+)$")
_EB_NAMES = {"matrix": "matrices", "matrices": "matrices", "bias": "biases", "biases": "biases",
             "factor": "factors", "factors": "factors"}


def _rename(key: str) -> str:
    """CompressAI's key spellings across versions -> ours (``module.`` prefixes of
    DataParallel; ``_matrix0`` / ``_matrices.0`` -> ``matrices.0``)."""
    key = key.removeprefix("module.")
    m = _EB_LISTS.match(key)
    return f"entropy_bottleneck.{_EB_NAMES[m.group(1)]}.{m.group(2)}" if m else key


def from_compressai_state(state: dict, config: CodecConfig) -> FactorizedPrior:
    """A CompressAI state dict of the same architecture -> this project's codec, with its
    own frozen tables (CompressAI's CDF buffers are not used: our coder builds its own)."""
    model = build_codec(config)
    ours = model.state_dict()
    state = {_rename(k): v for k, v in state.items()}
    taken = {k: v for k, v in state.items() if k in ours}
    missing = [k for k in ours if k not in taken and not k.endswith(
        ("_counts", "_offsets", "_widths", "scale_levels"))]
    wrong = [k for k, v in taken.items() if v.shape != ours[k].shape]
    if missing or wrong:
        raise DataError(f"not a {config.family} checkpoint of N={config.N}, M={config.M}: "
                        + (f"missing {', '.join(missing[:4])}" if missing else
                           f"shape of {', '.join(wrong[:4])} differs"))
    model.load_state_dict(taken, strict=False)
    model.update()
    return model.eval()


def load_published(family: str, lmbda: float, *, path: Path | None = None,
                   cache_dir: Path | None = None, device: str = "cpu") -> FactorizedPrior:
    """The published codec: from ``path`` when given, else from torch's hub cache, downloaded
    when online (its sha256 prefix checked); offline, one error naming the file to provide."""
    ck = published_checkpoint(family, lmbda)
    if path is None:
        hub = Path(cache_dir) if cache_dir else Path(torch.hub.get_dir()) / "checkpoints"
        path = hub / ck.file
        if not path.is_file():
            try:
                torch.hub.download_url_to_file(ck.url, str(path), hash_prefix=ck.file.split("-")[-1]
                                               .split(".")[0], progress=True)
            except Exception as e:  # noqa: BLE001 - offline, refused, damaged: one line
                raise DataError(f"cannot download {ck.model} quality {ck.quality} from {ck.url} "
                                f"({type(e).__name__}); put the file at {path}") from None
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:  # noqa: BLE001
        raise DataError(f"{path}: not a readable checkpoint ({type(e).__name__})") from None
    state = state.get("state_dict", state)
    return from_compressai_state(state, ck.config).to(device)
