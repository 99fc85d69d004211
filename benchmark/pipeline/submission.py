"""Submissions: a YAML file -> a frozen, validated ``RunSpec`` for one profile.

A submission names a dataset, a model, an augmentation family with its grid of quality
parameters (a value, or a union ``0.012+0.1`` trained on the concatenated sets), the
training recipe, what it is evaluated on and how the parameter is selected. ``profiles``
override any of these (deep-merged), so one file carries the thesis recipe (``full``) and
budgets that fit other machines (``gpu``, ``cpu``, ``ci``). Every profile is validated when
the file is read, so a typo in one the user did not ask for is still caught. An error names
the file, the field path and what was expected, on one line.
"""
from __future__ import annotations

import copy
import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from types import MappingProxyType
from typing import Annotated, Any, Literal

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictFloat,
    StrictInt,
    StrictStr,
    ValidationError,
    field_validator,
    model_validator,
)

from corruptions import files
from corruptions import registry as corruption_registry
from corruptions.errors import BenchError

from ..augment import AugmentSpec, get_family
from ..codecs.recipe import check_overrides
from ..models import check_model_name
from ..models.bands import BandConfig
from ..scoring.selection import MODES
from ..scoring.report import SubmissionMeta
from .train import OPTIMIZERS, SCHEDULES, TrainConfig


class SubmissionError(BenchError):
    """A submission file that cannot be used as written."""


PositiveInt = Annotated[int, Field(gt=0)]


def _as_value_error(fn, *args):
    """Run a project check inside pydantic: its one-line BenchError becomes the field's error."""
    try:
        return fn(*args)
    except BenchError as e:
        raise ValueError(str(e)) from None


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class BandsSection(_Strict):
    """Seed 001's learned frequency-band weights in front of the model (``models.bands``)."""

    count: PositiveInt = 8
    learned: bool = True  # false: fixed uniform weights, the paper's baseline
    lmbda: float = Field(0.1, ge=0)  # the reconstruction term's weight
    lr: float = Field(1e-3, gt=0)  # Adam, for the band weights only


class ModelSection(_Strict):
    name: str | list[str]  # a list sweeps the models: one run (and report) per model
    pretrained: bool = False
    weights: str | None = None  # a checkpoint under the data root: evaluate it, train nothing
    bands: BandsSection | None = None

    @field_validator("name")
    @classmethod
    def _known(cls, v: str | list[str]) -> str | list[str]:
        for name in [v] if isinstance(v, str) else v:
            _as_value_error(check_model_name, name)
        if isinstance(v, list) and (not v or len(set(v)) != len(v)):
            raise ValueError("a list of models must be non-empty and name each model once")
        return v

    def names(self) -> list[str]:
        return [self.name] if isinstance(self.name, str) else list(self.name)


def parse_stage(text: str) -> AugmentSpec:
    """``augmix:3`` -> the online family ``augmix`` at severity 3 (one value, no union)."""
    family, sep, value = str(text).partition(":")
    if not sep:
        raise BenchError(f"expected FAMILY:PARAMETER (an online family at one parameter, "
                         f"e.g. augmix:3), got {text!r}")
    if get_family(family.strip()).kind != "online":
        raise BenchError(f"{family.strip()} is a precomputed family; the stage on top must be "
                         "an online one (augmix, trivialaugment, randaugment, autoaugment)")
    stage = AugmentSpec.parse(family.strip(), value)
    if len(stage.values) > 1:
        raise BenchError(f"{text!r}: the online stage takes one parameter, not a union")
    return stage


class AugmentationSection(_Strict):
    family: str = "none"
    params: list[str | int | float] | None = None  # None: the family's thesis grid
    # an online family at one parameter on top of a precomputed family's sets (a codec at
    # its pick with AugMix on top: ``augmix:3``); None: none
    online: str | None = None

    @field_validator("family")
    @classmethod
    def _family(cls, v: str) -> str:
        _as_value_error(get_family, v)
        return v

    @field_validator("online")
    @classmethod
    def _online(cls, v: str | None) -> str | None:
        if v is not None:
            _as_value_error(parse_stage, v)
        return v

    @model_validator(mode="after")
    def _params(self):
        for p in self.params or []:
            _as_value_error(AugmentSpec.parse, self.family, p)
        online = get_family(self.family).kind == "online"
        if online and any(len(s.values) > 1 for s in self.specs()):
            raise ValueError(f"{self.family} is drawn anew each epoch: a union (a+b) of its "
                             "parameters means nothing")
        if online and self.online is not None:
            raise ValueError(f"online: {self.family} is itself an online family; the stage goes "
                             "on top of a precomputed one")
        return self

    def stage(self) -> AugmentSpec | None:
        return None if self.online is None else parse_stage(self.online)

    def specs(self) -> tuple[AugmentSpec, ...]:
        fam = get_family(self.family)
        if self.params is None:
            return tuple(AugmentSpec(self.family, (v,)) for v in fam.grid)
        return tuple(AugmentSpec.parse(self.family, p) for p in self.params)


_RECIPE = TrainConfig()  # the one source of the training defaults (the thesis')


class TrainingSection(_Strict):
    epochs: int = Field(_RECIPE.epochs, ge=0)
    batch_size: PositiveInt = _RECIPE.batch_size
    optimizer: Literal[OPTIMIZERS] = _RECIPE.optimizer  # type: ignore[valid-type]
    lr: float = Field(_RECIPE.lr, gt=0)
    momentum: float = Field(_RECIPE.momentum, ge=0, lt=1)
    weight_decay: float = Field(_RECIPE.weight_decay, ge=0)
    schedule: Literal[SCHEDULES] = _RECIPE.schedule  # type: ignore[valid-type]
    crop_padding: int = Field(_RECIPE.crop_padding, ge=0)
    flip: bool = _RECIPE.flip
    seeds: list[int] = Field(default_factory=lambda: [0, 1, 2], min_length=1)
    images: PositiveInt | None = None  # the first N training images; None: the whole split
    jsd: float = Field(_RECIPE.jsd, ge=0)  # AugMix's consistency-loss weight; 0: none
    label_smoothing: float = Field(_RECIPE.label_smoothing, ge=0, lt=1)
    ema: float = Field(_RECIPE.ema, ge=0, lt=1)  # decay of the weights' moving average; 0: none
    bf16: bool = _RECIPE.bf16  # train under bf16 autocast on the CPU too

    @field_validator("seeds")
    @classmethod
    def _distinct(cls, v: list[int]) -> list[int]:
        if len(set(v)) != len(v) or min(v) < 0:
            raise ValueError("seeds must be distinct integers >= 0")
        return v


class EvaluationSection(_Strict):
    corruptions: str | list[str] = "all"  # common, extra, all, or names
    severities: list[int] = Field(default_factory=lambda: [1, 2, 3, 4, 5], min_length=1)
    test_images: PositiveInt | None = None  # the first N test images; None: all
    validation_images: int | None = Field(None, ge=0)  # 0: no held-out selection
    seed: int = Field(0, ge=0)  # of the corruption engine
    # every evaluation image (clean, corrupted, validation) passed through the unit's own
    # family and parameter: trained *and tested* on compressed data (thesis Fig 3.6)
    transform: bool = False
    # the prediction averaged over each image and its mirror image (test-time flip)
    flip: bool = False
    # CIFAR-10-C-bar on the test split, a second corrupted set (Mintun et al. 2021): ``cbar``
    # (all ten) or names; unset, none (and reports from before it keep their hashes)
    cbar: str | list[str] | None = None

    @field_validator("corruptions")
    @classmethod
    def _names(cls, v):
        _as_value_error(corruption_registry.parse_names, v if isinstance(v, str) else ",".join(v))
        return v

    @field_validator("severities")
    @classmethod
    def _severities(cls, v: list[int]) -> list[int]:
        if len(set(v)) != len(v) or not all(1 <= s <= 5 for s in v):
            raise ValueError("severities must be distinct integers in 1..5")
        return sorted(v)

    @field_validator("cbar")
    @classmethod
    def _cbar_names(cls, v):
        if v is not None:
            names = _as_value_error(corruption_registry.parse_names, v)
            if _as_value_error(corruption_registry.suite_of, names) != "cbar":
                raise ValueError(f"cbar: {', '.join(names)} are not CIFAR-10-C-bar "
                                 f"corruptions ({', '.join(corruption_registry.names('cbar'))})")
        return v

    @model_validator(mode="after")
    def _suites(self):
        if _as_value_error(corruption_registry.suite_of, self.corruption_names()) != "c":
            raise ValueError("corruptions: the C suite's (common, extra, all or their names); "
                             "C-bar ones go under evaluation.cbar")
        if self.cbar is not None and self.transform:
            raise ValueError("evaluation.cbar with evaluation.transform is not supported: the "
                             "C-bar set is not passed through the training transform")
        return self

    def corruption_names(self) -> tuple[str, ...]:
        v = self.corruptions
        return tuple(corruption_registry.parse_names(v))

    def cbar_names(self) -> tuple[str, ...]:
        return () if self.cbar is None else tuple(corruption_registry.parse_names(self.cbar))


class SubmissionModel(_Strict):
    id: Annotated[str, Field(pattern=f"^{files.NAME.pattern}$")]
    name: str
    authors: list[str] = Field(default_factory=list)
    description: str = ""
    url: str | None = None
    reference: bool = False  # one of the field's reference recipes (AugMix, ...)
    # the submissions this one combines (a codec at its pick + AugMix): shown paired with it
    parents: list[Annotated[str, Field(pattern=f"^{files.NAME.pattern}$")]] = Field(
        default_factory=list)
    dataset: str
    model: ModelSection
    augmentation: AugmentationSection = AugmentationSection()
    training: TrainingSection = TrainingSection()
    evaluation: EvaluationSection = EvaluationSection()
    selection: list[Literal[MODES]] = Field(default_factory=lambda: list(MODES))  # type: ignore[valid-type]
    # learned-codec recipe overrides, as written (a YAML true is no number)
    codec: dict[str, StrictInt | StrictFloat | StrictStr] = Field(default_factory=dict)

    @field_validator("dataset")
    @classmethod
    def _dataset(cls, v: str) -> str:
        from ..datasets import dataset_names
        if not (v in dataset_names() or v.startswith("imagefolder:")):
            raise ValueError(f"unknown dataset {v!r}; known: {', '.join(dataset_names())}, "
                             "or imagefolder:PATH")
        return v

    @field_validator("codec")
    @classmethod
    def _codec(cls, v: dict) -> dict:
        _as_value_error(check_overrides, v.items())
        return v

    @model_validator(mode="after")
    def _weights_mean_no_training(self):
        if self.model.weights and (self.training.epochs or self.augmentation.family != "none"):
            raise ValueError("a checkpoint submission (model.weights) trains nothing: set "
                             "training.epochs to 0 and leave augmentation out")
        if self.model.weights and not isinstance(self.model.name, str):
            raise ValueError("a checkpoint submission (model.weights) names one model")
        return self

    @model_validator(mode="after")
    def _transform_needs_single_parameters(self):
        if self.evaluation.transform and any(len(s.values) > 1 for s in self.augmentation.specs()):
            raise ValueError("evaluation.transform passes the test images through the unit's "
                             "own parameter: unions (a+b) have none")
        if self.evaluation.transform and self.online_stage():
            raise ValueError("evaluation.transform with an online augmentation is not "
                             "supported: its draws change every epoch")
        return self

    @model_validator(mode="after")
    def _consistency_needs_online(self):
        if self.training.jsd and not self.online_stage():
            raise ValueError("training.jsd: the consistency loss compares online draws; the "
                             "augmentation has none (an online family, or augmentation.online)")
        return self

    def online_stage(self) -> bool:
        return (get_family(self.augmentation.family).kind == "online"
                or self.augmentation.online is not None)


# --------------------------------------------------------------------------- the run spec
DESCRIPTIVE = ("name", "authors", "description", "url", "reference", "parents")


@dataclass(frozen=True)
class RunSpec:
    """One submission under one profile, resolved: everything ``bench run`` needs."""

    id: str
    name: str
    authors: tuple[str, ...]
    description: str
    url: str | None
    profile: str
    dataset: str
    model: str
    pretrained: bool
    weights: str | None
    family: str
    grid: tuple[AugmentSpec, ...]
    train: TrainConfig
    seeds: tuple[int, ...]
    train_images: int | None
    corruptions: tuple[str, ...]
    severities: tuple[int, ...]
    test_images: int | None
    validation_images: int | None
    corruption_seed: int
    selection: tuple[str, ...]
    codec: tuple[tuple[str, object], ...]
    # the merged profile as JSON data, read-only (what config_hash digests); left out of the
    # hash, which the fields above decide
    resolved: Mapping[str, Any] = field(hash=False)
    source: str
    test_transform: bool = False  # evaluation images through the unit's own parameter
    sweep: str | None = None  # the file's id when its model list was expanded into runs
    bands: BandConfig | None = None  # learned band weights in front of the model (seed 001)
    cbar: tuple[str, ...] = ()  # CIFAR-10-C-bar corruptions, evaluated on test
    online: AugmentSpec | None = None  # an online stage on top of every unit's sets
    reference: bool = False
    parents: tuple[str, ...] = ()
    test_flip: bool = False  # predictions averaged over each image and its mirror image
    family_online: bool = False  # the family is drawn anew every batch (augmix, ...)

    @property
    def labels(self) -> list[str]:
        return [s.label for s in self.grid]

    def meta(self) -> SubmissionMeta:
        """What a report says about its submission (its first fields, and every row's)."""
        return SubmissionMeta(submission=self.id, name=self.name, authors=self.authors,
                              description=self.description, url=self.url,
                              dataset=self.dataset, profile=self.profile, model=self.model,
                              family=self.family, reference=self.reference,
                              parents=self.parents,
                              online=str(self.online) if self.online else None)

    def config_hash(self, *parts: str) -> str:
        """Digest of the resolved configuration (descriptive fields excluded), or of the
        named sections only."""
        cfg = {k: v for k, v in self.resolved.items() if k not in DESCRIPTIVE}
        if parts:
            cfg = {k: cfg.get(k) for k in parts}
        return digest(cfg)


def digest(obj) -> str:
    """12 hex digits of the sha256 of ``obj`` as sorted JSON: config hashes, unit folders."""
    return hashlib.sha256(json.dumps(obj, sort_keys=True, default=str).encode()).hexdigest()[:12]


def deep_merge(base: dict, override: dict) -> dict:
    out = copy.deepcopy(base)
    for k, v in override.items():
        out[k] = deep_merge(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else v
    return out


def _read_yaml(path: Path) -> dict:
    if not path.is_file():
        raise SubmissionError(f"{path}: no such submission file")
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError as e:
        raise SubmissionError(f"{path}: not UTF-8 text (byte {e.start}: {e.reason})") from None
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark else ""
        problem = getattr(e, "problem", None) or str(e).splitlines()[0]
        raise SubmissionError(f"{path}: not valid YAML{where}: {problem}") from None
    if not isinstance(raw, dict):
        raise SubmissionError(f"{path}: expected a mapping of fields, got {type(raw).__name__}")
    return raw


def _first_error(path: Path, e: ValidationError, prefix: str, override: dict) -> SubmissionError:
    err = e.errors()[0]
    loc = [str(x) for x in err["loc"]]
    # name the profile when the offending field comes from it
    node, from_profile = override, bool(prefix)
    for part in loc:
        if isinstance(node, dict) and part in node:
            node = node[part]
        else:
            from_profile = False
            break
    field = ".".join(([prefix] if from_profile else []) + loc) or "(top level)"
    msg = err["msg"].removeprefix("Value error, ")
    if err["type"] == "extra_forbidden":
        msg = "unknown field"
    elif err["type"] == "missing":
        msg = "required field missing"
    more = f" (and {len(e.errors()) - 1} more)" if len(e.errors()) > 1 else ""
    return SubmissionError(f"{path}: {field}: {msg}{more}")


def validate(path: Path, raw: dict, profile: str | None) -> SubmissionModel:
    base = {k: v for k, v in raw.items() if k != "profiles"}
    profiles = raw.get("profiles") or {}
    if not isinstance(profiles, dict) or not all(isinstance(v, dict) for v in profiles.values()):
        raise SubmissionError(f"{path}: profiles: expected a mapping of profile name to overrides")
    for name in profiles:
        try:
            files.check_name(name, f"{path}: profiles")
        except BenchError as e:
            raise SubmissionError(str(e)) from None
    try:
        model = SubmissionModel.model_validate(base)
    except ValidationError as e:
        raise _first_error(path, e, "", {}) from None
    chosen = model
    for name, override in profiles.items():
        try:
            merged = SubmissionModel.model_validate(deep_merge(base, override))
        except ValidationError as e:
            raise _first_error(path, e, f"profiles.{name}", override) from None
        if name == profile:
            chosen = merged
    if profile is not None and profile not in profiles:
        known = ", ".join(profiles) or "none"
        raise SubmissionError(f"{path}: no profile {profile!r} (profiles: {known})")
    return chosen


DEFAULT_PROFILE = "full"


def sweep_id(file_id: str, model: str) -> str:
    """The run id of one model of a swept submission: ``<id>-<model>``, lower case, with
    anything outside ``[a-z0-9_-]`` (``timm:`` names) written as ``-``."""
    return f"{file_id}-" + re.sub(r"[^a-z0-9_-]", "-", model.lower())


def profiles_of(path: str | Path) -> tuple[str, ...]:
    """The profiles a submission file defines (``full`` aside, which every file has)."""
    profiles = _read_yaml(Path(path)).get("profiles") or {}
    return tuple(profiles) if isinstance(profiles, dict) else ()


def load_submissions(path: str | Path, profile: str = DEFAULT_PROFILE) -> list[RunSpec]:
    """Every run of the submission at ``path`` under ``profile``: one, or one per model when
    ``model.name`` is a list. ``full`` is the top-level fields as written when the file has
    no ``full`` profile of its own."""
    path = Path(path)
    raw = _read_yaml(path)
    has = profile in (raw.get("profiles") or {}) if isinstance(raw.get("profiles"), dict) else False
    m = validate(path, raw, None if profile == DEFAULT_PROFILE and not has else profile)
    swept = not isinstance(m.model.name, str)
    return [_run_spec(m, name, profile, path, swept) for name in m.model.names()]


def load_submission(path: str | Path, profile: str = DEFAULT_PROFILE,
                    run_id: str | None = None) -> RunSpec:
    """The one run of the submission at ``path`` (see ``load_submissions``), or of a model
    sweep the run ``run_id``."""
    specs = load_submissions(path, profile)
    if run_id is not None:
        found = [s for s in specs if s.id == run_id]
        if not found:
            raise SubmissionError(f"{path}: no run {run_id!r} (runs: "
                                  f"{', '.join(s.id for s in specs)})")
        return found[0]
    if len(specs) > 1:
        raise SubmissionError(f"{path}: sweeps {len(specs)} models ({', '.join(s.id for s in specs)}); "
                              "name one run")
    return specs[0]


def _run_spec(m: SubmissionModel, model: str, profile: str, path: Path, swept: bool) -> RunSpec:
    t = m.training
    run_id = sweep_id(m.id, model) if swept else m.id
    resolved = m.model_dump(mode="json")
    resolved["id"] = run_id
    resolved["model"]["name"] = model
    # options left unset stay out, so every earlier unit keeps its training and eval hash
    if not m.evaluation.transform:
        del resolved["evaluation"]["transform"]
    if m.evaluation.cbar is None:
        del resolved["evaluation"]["cbar"]
    if m.model.bands is None:
        del resolved["model"]["bands"]
    if m.augmentation.online is None:
        del resolved["augmentation"]["online"]
    else:  # as the stage reads back (augmix:3), so spellings of one stage hash alike
        resolved["augmentation"]["online"] = str(m.augmentation.stage())
    for option in ("jsd", "label_smoothing", "ema", "bf16"):  # unset: the hashes they always had
        if not getattr(m.training, option):
            del resolved["training"][option]
    if not m.evaluation.flip:
        del resolved["evaluation"]["flip"]
    return RunSpec(
        id=run_id, name=f"{m.name} ({model})" if swept else m.name, authors=tuple(m.authors),
        description=m.description, url=m.url,
        profile=profile, dataset=m.dataset, model=model,
        pretrained=m.model.pretrained, weights=m.model.weights, family=m.augmentation.family,
        grid=m.augmentation.specs(),
        train=TrainConfig(**{f.name: getattr(t, f.name) for f in fields(TrainConfig)}),
        seeds=tuple(t.seeds), train_images=t.images,
        corruptions=m.evaluation.corruption_names(), severities=tuple(m.evaluation.severities),
        test_images=m.evaluation.test_images, validation_images=m.evaluation.validation_images,
        corruption_seed=m.evaluation.seed, selection=tuple(m.selection),
        codec=check_overrides(m.codec.items()), resolved=MappingProxyType(resolved),
        source=str(path),
        test_transform=m.evaluation.transform, sweep=m.id if swept else None,
        bands=BandConfig(**m.model.bands.model_dump()) if m.model.bands else None,
        cbar=m.evaluation.cbar_names(), online=m.augmentation.stage(), reference=m.reference,
        parents=tuple(m.parents), test_flip=m.evaluation.flip,
        family_online=get_family(m.augmentation.family).kind == "online")
