"""Learned-codec families: BLS (factorized prior) and BMSHJ (scale hyperprior).

The transformed image is what the decoder makes of the real bitstream, and its bits are the
range coder's bytes. Which codec: without recipe overrides, the shipped zoo codec of the
dataset where one exists (``benchmark.codecs.zoo``), else one trained on demand with the
zoo's recipe for the dataset's image size; with overrides, the default recipe changed by
them. Either way a trained codec is cached per (dataset, family, lambda, recipe) (see
``benchmark.codecs.train``). Every cached set a codec made records that codec's recipe and
checkpoint, so a set is rebuilt when its codec changes.
"""
from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from corruptions.errors import BenchError

from ..codecs.models import BITSTREAM_FORMAT, FactorizedPrior
from ..codecs.published import SOURCE, load_published, published_checkpoint
from ..codecs.recipe import CodecRecipe, apply_overrides, default_recipe
from ..codecs.roundtrip import round_trip
from ..codecs.train import checkpoint_path, train_recipe
from ..codecs.zoo import LAMBDAS, load_zoo_codec, on_demand_recipe, zoo_provenance, zoo_recipe
from ..datasets import Dataset, load_dataset
from .registry import AugmentContext, Transformed, register_family


@dataclass(frozen=True)
class CodecEntry:
    """Where the codec for (dataset, family, lambda, recipe) lives, and its recipe."""

    recipe: CodecRecipe
    lmbda: float
    path: Path

    def provenance(self, data_root: Path) -> dict:
        return {"codec": self.recipe.as_dict(), "lambda": self.lmbda,
                "recipe_digest": self.recipe.digest(), "bitstream": BITSTREAM_FORMAT,
                "checkpoint": str(self.path.relative_to(data_root))}


class CodecCache:
    """Trained codecs kept in memory, least recently used first out, and the train split
    they were fitted on. One explicit cache, so a run that alternates lambdas (a grid, a
    union) loads each codec once; ``clear()`` frees it."""

    def __init__(self, max_codecs: int = 16):
        self.max_codecs = max_codecs
        self._codecs: OrderedDict[tuple, FactorizedPrior] = OrderedDict()
        self._splits: dict[tuple, Dataset] = {}

    def train_split(self, ctx: AugmentContext) -> Dataset:
        key = (ctx.dataset, str(ctx.data_root))
        if key not in self._splits:
            self._splits = {key: load_dataset(ctx.dataset, "train", ctx.data_root)}
        return self._splits[key]

    def entry(self, ctx: AugmentContext, family: str, lmbda: float) -> CodecEntry:
        """The trained codec a learned family uses on ``ctx.dataset``: fitted on its train
        split with the dataset's zoo recipe (or, without a zoo, the zoo's recipe for its image
        size) when no overrides are given, else with the default recipe for that split's
        image size and the overrides (so a short test recipe stays short)."""
        recipe = None if ctx.codec else zoo_recipe(ctx.dataset, family)
        if recipe is None:
            train = self.train_split(ctx)
            side = max(max(shape[:2]) for shape in train.shapes())
            recipe = (apply_overrides(default_recipe(family, train.channels, side,
                                                     train.fixed_size), ctx.codec)
                      if ctx.codec else
                      on_demand_recipe(family, train.channels, side, train.fixed_size))
        return CodecEntry(recipe, lmbda, checkpoint_path(ctx.data_root, ctx.dataset, recipe, lmbda))

    def codec(self, ctx: AugmentContext, family: str, lmbda: float) -> FactorizedPrior:
        """CompressAI's published codec (``source=compressai``), the zoo's codec, or the
        cached codec for (dataset, family, lambda, recipe), trained if absent."""
        if _published(ctx):
            key = (SOURCE, family, lmbda, ctx.device)
        elif not ctx.codec and zoo_provenance(ctx.dataset, family, lmbda) is not None:
            key = ("zoo", ctx.dataset, family, lmbda, ctx.device)
        else:
            key = (self.entry(ctx, family, lmbda).path, ctx.device)
        if key in self._codecs:
            self._codecs.move_to_end(key)
        else:
            self._codecs[key] = self._load(ctx, key[0], family, lmbda)
            while len(self._codecs) > self.max_codecs:
                self._codecs.popitem(last=False)
        return self._codecs[key]

    def _load(self, ctx: AugmentContext, source, family: str, lmbda: float) -> FactorizedPrior:
        if source == SOURCE:
            if self.train_split(ctx).channels != 3:
                raise BenchError(f"{family}: CompressAI's published codecs code RGB images; "
                                 f"{ctx.dataset} has {self.train_split(ctx).channels} channel(s)")
            return load_published(family, lmbda, device=ctx.device)
        if source == "zoo":
            return load_zoo_codec(ctx.dataset, family, lmbda, ctx.device)
        return self._train(ctx, self.entry(ctx, family, lmbda))

    def _train(self, ctx: AugmentContext, entry: CodecEntry) -> FactorizedPrior:
        return train_recipe(self.train_split(ctx).images, entry.recipe, entry.lmbda,
                            ctx.data_root, ctx.dataset, device=ctx.device, progress=ctx.progress)

    def clear(self) -> None:
        self._codecs.clear()
        self._splits.clear()


CODECS = CodecCache()


def _published(ctx: AugmentContext) -> bool:
    return dict(ctx.codec).get("source") == SOURCE


def codec_entry(ctx: AugmentContext, family: str, lmbda: float) -> CodecEntry:
    return CODECS.entry(ctx, family, lmbda)


def load_or_train(ctx: AugmentContext, family: str, lmbda: float) -> FactorizedPrior:
    return CODECS.codec(ctx, family, lmbda)


def codec_transform(model: FactorizedPrior, images: np.ndarray, device: str = "cpu") -> Transformed:
    """The codec's round trip as an augmentation's result (no container: the stream is the
    file, so its bits are the file's)."""
    coded = round_trip(model, images, device)
    return Transformed(coded.images, coded.bits, coded.bits.copy(), coded.estimated_bits)


def _check_lambda(lmbda, shape):
    if not lmbda > 0:
        raise BenchError(f"lambda must be > 0, got {lmbda}")


def _family(name: str, version: int = 1):
    def provenance(lmbda, ctx: AugmentContext) -> dict:
        if _published(ctx):
            return published_checkpoint(name, float(lmbda)).provenance()
        shipped = None if ctx.codec else zoo_provenance(ctx.dataset, name, float(lmbda))
        return shipped or codec_entry(ctx, name, float(lmbda)).provenance(ctx.data_root)

    @register_family(name, param="lambda > 0 (loss = bpp + lambda 255^2 MSE)", grid=LAMBDAS,
                     check=_check_lambda, is_codec=True, provenance=provenance, version=version)
    def transform(images, lmbda, rngs, ctx=None):
        if ctx is None:
            raise BenchError(f"{name}: a learned codec needs the dataset it was trained on")
        return codec_transform(load_or_train(ctx, name, float(lmbda)), images, ctx.device)
    return transform


bls = _family("bls")
# 2: the coding tables from float64 CPU scales (``ScaleHyperprior``); the same images, and
# a stream's length can differ where a scale lay on a level edge
bmshj = _family("bmshj", version=2)
