"""What a cached codec is: its architecture and how it was trained.

A recipe's digest names the checkpoint folder, so two codecs share a cache entry only when
every choice that shapes their weights agrees. Users change a recipe with a compact
override string, the same on every command (``--codec N=64,M=96,steps=2000``).
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, fields, replace

from corruptions.errors import BenchError

from .models import CodecConfig

SMALL_SIDE = 64  # training images up to this side get the small codec, whole-image batches


@dataclass(frozen=True)
class CodecRecipe:
    config: CodecConfig
    steps: int = 3000
    batch_size: int = 32
    lr: float = 1e-3
    seed: int = 0
    patch: int = 0  # side of the random training crops; 0: whole images
    # Warm start: begin from the codec of this lambda (same recipe, trained from scratch for
    # ``init_steps``), then train ``steps`` more at the target lambda. 0: from scratch.
    init_lmbda: float = 0.0
    init_steps: int = 0
    # How training stands in for rounding: "noise" (uniform noise everywhere, Ballé et al.)
    # or "mixed" (Minnen & Singh 2020: the synthesis sees the rounded latents through a
    # straight-through gradient, the rate model the noisy ones), which removes most of the
    # gap between the training loss and what the real bitstream decodes to.
    quant: str = "noise"

    def base(self) -> CodecRecipe:
        """The from-scratch recipe a warm-started codec begins from."""
        return replace(self, steps=self.init_steps, init_lmbda=0.0, init_steps=0)

    def as_dict(self) -> dict:
        return {**self.config.as_dict(), **{f.name: getattr(self, f.name)
                                            for f in fields(self) if f.name != "config"}}

    def digest(self) -> str:
        d = self.as_dict()
        for key in ("patch", "init_lmbda", "init_steps"):  # digests from before these existed
            if not d[key]:
                del d[key]
        if d["quant"] == "noise":
            del d["quant"]
        return hashlib.sha256(json.dumps(d, sort_keys=True).encode()).hexdigest()[:12]


def default_recipe(family: str, channels: int, side: int, fixed_size: bool = True) -> CodecRecipe:
    """A small codec on whole images for 28-32 px datasets; the published sizes (N=128,
    M=192, 4 stages) on 128 px crops for photographs and any set of mixed sizes."""
    if fixed_size and side <= SMALL_SIDE:
        return CodecRecipe(CodecConfig(family, channels, N=32, M=48, depth=3))
    return CodecRecipe(CodecConfig(family, channels, N=128, M=192, depth=4), batch_size=16,
                       patch=128)


QUANT_MODES = ("noise", "mixed")
SOURCES = ("compressai",)  # ``source=compressai``: CompressAI's published weights (published.py)
_KEYS = {"N": int, "M": int, "depth": int, "steps": int, "batch_size": int, "lr": float,
         "seed": int, "patch": int, "init_lmbda": float, "init_steps": int, "quant": str, "source": str}
_MAY_BE_ZERO = {"seed", "patch", "init_lmbda", "init_steps"}


def parse_overrides(text: str | None) -> tuple[tuple[str, object], ...]:
    """``"N=64,M=96"`` (the ``--codec`` option) -> (("M", 96), ("N", 64)): sorted,
    hashable, checked."""
    pairs = []
    for part in (text or "").split(","):
        if not part.strip():
            continue
        key, sep, value = (s.strip() for s in part.partition("="))
        if not sep or key not in _KEYS:
            raise BenchError(f"--codec: cannot read {part.strip()!r}; expected KEY=VALUE with "
                             f"KEY one of {', '.join(_KEYS)}")
        pairs.append((key, value))
    return check_overrides(pairs, "--codec: ")


def check_overrides(pairs, prefix: str = "") -> tuple[tuple[str, object], ...]:
    """Recipe overrides as (key, value) pairs (a submission's ``codec:`` mapping, or the
    option's text read by ``parse_overrides``), each read by its key's type and checked;
    errors start with ``prefix``."""
    out = {}
    for key, value in pairs:
        if key not in _KEYS:
            raise BenchError(f"{prefix}unknown key {key!r}; expected one of {', '.join(_KEYS)}")
        try:
            v = _KEYS[key](str(value))  # as written: 2.5 is no int, True no number
        except ValueError:
            raise BenchError(f"{prefix}{key} must be {_KEYS[key].__name__}, got {value!r}") from None
        if key not in ("quant", "source") and not (v > 0 or (key in _MAY_BE_ZERO and v == 0)):
            bound = ">= 0" if key in _MAY_BE_ZERO else "> 0"
            raise BenchError(f"{prefix}{key} must be {bound}, got {value!r}")
        out[key] = v
    if out.get("quant", "noise") not in QUANT_MODES:
        raise BenchError(f"{prefix}quant must be one of {', '.join(QUANT_MODES)}, "
                         f"got {out['quant']!r}")
    if out.get("source", SOURCES[0]) not in SOURCES:
        raise BenchError(f"{prefix}source must be {', '.join(SOURCES)}, got {out['source']!r}")
    if bool(out.get("init_lmbda")) != bool(out.get("init_steps")):
        raise BenchError(f"{prefix}a warm start needs both init_lmbda and init_steps")
    return tuple(sorted(out.items()))


def apply_overrides(recipe: CodecRecipe, overrides: tuple[tuple[str, object], ...]) -> CodecRecipe:
    arch = {k: v for k, v in overrides if k in ("N", "M", "depth")}
    train = {k: v for k, v in overrides if k not in arch and k != "source"}
    return replace(recipe, config=replace(recipe.config, **arch), **train)
