"""``summary.json`` as types: what a run reports, read and written through one pair of
functions (``Summary.from_dict`` / ``Summary.to_dict``), so a reader names a field instead of
a string key, and a format change is made in one place.

``to_dict`` writes what ``summary.summarize`` always wrote for a run, key for key and in the
same order, and a read summary exactly as it was read, so every committed summary reads back to itself (a test holds every one of them
to that). The older shapes of ``summary/1`` are read here and nowhere else: a summary from
before ``identity`` was recorded (``identity`` None: unknown, not "none"), provenance from
before units kept their own record (``units`` a count of run and skipped units, the thread
count only in the device line).
``migrate`` is where a future format change converts what it reads.
"""
from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field, fields

from .selection import BASELINE

FORMAT = "summary/1"


@dataclass(frozen=True)
class SubmissionMeta:
    """What a report says about its submission: the first fields of its summary, in this
    order; the row fields (``ROW_FIELDS``) are on every results row too."""

    submission: str  # the id
    name: str
    authors: tuple[str, ...]
    description: str
    url: str | None
    dataset: str
    profile: str
    model: str
    family: str
    # one of the field's reference recipes (AugMix, TrivialAugment, ...), marked on the
    # leaderboard; written only when true, so every earlier summary reads as it did
    reference: bool = False
    # the submissions this one combines (``parents`` in its YAML); written only when set
    parents: tuple[str, ...] = ()
    online: str | None = None  # the online stage on top of the family's sets (augmix:3)

    ROW_FIELDS = ("submission", "profile", "dataset", "model", "family")
    OPTIONAL = ("reference", "parents", "online")

    def as_dict(self) -> dict:
        out = {**asdict(self), "authors": list(self.authors), "parents": list(self.parents)}
        return {k: v for k, v in out.items() if k not in self.OPTIONAL or v}

    def row_fields(self) -> dict:
        return {k: getattr(self, k) for k in self.ROW_FIELDS}

    @classmethod
    def from_summary(cls, summary: dict) -> SubmissionMeta:
        return cls(**{f.name: summary[f.name] for f in fields(cls) if f.name in summary
                      or f.name not in cls.OPTIONAL} | {"authors": tuple(summary["authors"]),
                                                        "parents": tuple(summary.get("parents", ()))})


def _plain(cls, d: dict):
    """``cls`` built by keyword from the keys of ``d`` it has fields for."""
    names = {f.name for f in fields(cls)}
    return cls(**{k: v for k, v in d.items() if k in names})


def _written(obj, optional: tuple[str, ...] = ()) -> dict:
    """The fields of ``obj`` in declaration order, the ``optional`` ones only when set."""
    return {f.name: getattr(obj, f.name) for f in fields(obj)
            if not (f.name in optional and getattr(obj, f.name) is None)}


@dataclass(frozen=True)
class ThesisPick:
    """The thesis' own protocol on the test split: per parameter the seed best on clean test,
    then the same selection among those models (an optimistic number, kept to compare)."""

    clean_acc: float
    corrupt_acc: float | None
    corrupt_acc_thesis10: float | None
    mce: float | None
    chosen: object
    seed_of: dict[str, int]

    def to_dict(self) -> dict:
        return _written(self)


@dataclass(frozen=True)
class SelectionEntry:
    """One (mode, source) of a summary: what the chosen parameter(s) score, means over seeds
    (``std``: their spread), and what the chosen training data cost."""

    clean_acc: float
    corrupt_acc: float | None
    corrupt_acc_thesis10: float | None
    band_acc: dict[str, float | None]
    severity_acc: dict[str, float]
    corruption_acc: dict[str, float | None]
    mean_error: float | None
    mce: float | None
    relative_mce: float | None
    std: dict[str, float | None]
    seeds: int
    chosen: object  # BDA: a parameter; BDAD / BDADS: one per corruption (and severity)
    ranking: list[str] | None = None  # BDA: parameters best first
    ranking_thesis10: list[str] | None = None  # BDA oracle: by the thesis' ten
    bpp: float | None = None
    bytes: int | None = None
    file_bytes: int | None = None
    relative_size: float | None = None
    thesis_pick: ThesisPick | None = None  # oracle only
    # BDA on a run that evaluated CIFAR-10-C-bar: its accuracy at the pick
    cbar_acc: float | None = None
    cbar_acc_std: float | None = None
    cbar_corruption_acc: dict[str, float] | None = None

    OPTIONAL = ("ranking", "ranking_thesis10", "thesis_pick", "cbar_acc", "cbar_acc_std",
                "cbar_corruption_acc")

    @classmethod
    def from_dict(cls, d: dict) -> SelectionEntry:
        pick = d.get("thesis_pick")
        return _plain(cls, {**d, "thesis_pick": None if pick is None else _plain(ThesisPick, pick)})

    def to_dict(self) -> dict:
        out = _written(self, self.OPTIONAL)
        if self.thesis_pick is not None:
            out["thesis_pick"] = self.thesis_pick.to_dict()
        return out


@dataclass(frozen=True)
class ParamPoint:
    """One parameter on its own (seed mean and spread, clean test) and its training data:
    the points of accuracy against bpp, PSNR and SSIM (thesis Figs 3.4, 3.5)."""

    clean_acc: float
    clean_acc_std: float
    corrupt_acc: float | None
    corrupt_acc_std: float | None
    corrupt_acc_thesis10: float | None
    bpp: float | None
    bytes: int | None
    file_bytes: int | None
    relative_size: float | None
    psnr: float | None
    ssim: float | None
    cbar_acc: float | None = None  # on a run that evaluated CIFAR-10-C-bar
    cbar_acc_std: float | None = None

    OPTIONAL = ("cbar_acc", "cbar_acc_std")

    def to_dict(self) -> dict:
        return _written(self, self.OPTIONAL)


@dataclass(frozen=True)
class UnitProvenance:
    """What produced a unit's numbers, recorded when it is counted and read back with them,
    so a report rewritten from finished units names the code, machine and seconds that made
    them rather than the command that gathered them. Units counted before this was kept
    read back as ``unknown`` (their seconds were kept)."""

    code_version: str
    device: str
    threads: int
    cpu_kind: str | None
    torch: str
    date: str
    train_s: float
    eval_s: float

    @classmethod
    def read(cls, counts: dict) -> UnitProvenance:
        found = counts.get("provenance")
        if found is not None:
            return cls(**found)
        return cls(code_version="unknown", device="unknown", threads=0, cpu_kind=None,
                   torch="unknown", date="unknown", train_s=counts["train_s"],
                   eval_s=counts["eval_s"])

    def as_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class UnitRecord:
    """One unit's record in a report: its parameter and seed, and what made its numbers."""

    param: str
    seed: int
    made: UnitProvenance

    def to_dict(self) -> dict:
        return {"param": self.param, "seed": self.seed, **self.made.as_dict()}

    @classmethod
    def from_dict(cls, d: dict) -> UnitRecord:
        return cls(d["param"], d["seed"], _plain(UnitProvenance, d))


@dataclass(frozen=True)
class Provenance:
    """Where a report's numbers come from. A run writes the fields down to ``wall_s`` (and
    ``command_wall_s``, ``summarized_by`` when they apply; a model evaluated through
    ``benchmark.api`` has no config, source or unit seconds); the old format has no
    ``written_by`` and counts its units (``unit_counts``). ``keys`` keeps the order a read file
    had, and ``extra`` what no field names, so it is written back as it was."""

    code_version: object  # one version, or the units' distinct ones
    written_by: str | None = None
    config_hash: str | None = None
    source: str | None = None
    data: dict[str, str] | None = None
    device: object = None
    torch: object = None
    cpu_kind: object = None
    unit_seconds: dict[str, float] | None = None
    date: str | None = None
    units: tuple[UnitRecord, ...] | None = None
    wall_s: float | None = None
    command_wall_s: float | None = None
    summarized_by: str | None = None
    unit_counts: dict[str, int] | None = None  # the old format's ``units``: {run, skipped}
    extra: dict = field(default_factory=dict)  # keys no field names, written back as read
    keys: tuple[str, ...] = field(default=(), compare=False, repr=False)

    ALWAYS = ("code_version", "data", "device", "torch", "cpu_kind", "date", "wall_s")

    def to_dict(self) -> dict:
        """As read (``keys``, then any field set since, such as ``summarized_by``), or as
        made: every field that is set, and those in ``ALWAYS`` even when None (a GPU run's
        ``cpu_kind``)."""
        names = [f.name for f in fields(self) if f.name not in ("unit_counts", "extra", "keys")
                 and (f.name in self.ALWAYS and not self.keys
                      or getattr(self, f.name) is not None)]
        ordered = list(self.keys) + [k for k in names if k not in self.keys]
        return {k: self._written(k) for k in ordered}

    def _written(self, key: str):
        if key in self.extra:
            return self.extra[key]
        if key != "units":
            return getattr(self, key)
        return self.unit_counts if self.units is None else [u.to_dict() for u in self.units]

    @classmethod
    def from_dict(cls, d: dict) -> Provenance:
        units, keys = d.get("units"), tuple(d)
        known = {f.name for f in fields(cls)} - {"unit_counts", "extra", "keys"}
        extra = {k: v for k, v in d.items() if k not in known}
        if isinstance(units, dict):  # the old format
            return _plain(cls, {**d, "units": None, "unit_counts": units, "keys": keys,
                                "extra": extra})
        return _plain(cls, {**d, "keys": keys, "extra": extra, "units": None if units is None
                            else tuple(UnitRecord.from_dict(u) for u in units)})

    def unit_seconds_by_unit(self, units: int) -> dict:
        """(param, seed) -> what training and evaluating each unit took; the old format
        gives only the total, so its mean over ``units`` units (key None)."""
        if self.units is not None:
            return {(u.param, u.seed): u.made.train_s + u.made.eval_s for u in self.units}
        return {None: sum((self.unit_seconds or {}).values()) / max(units, 1)}

    def threads_recorded(self) -> int | None:
        """The torch threads the units ran with, where they agree (a float sum's order,
        and so a trained weight's last bits, can depend on it); the old format's from its
        device line ("cpu (x86_64, 2 threads)"); None where nothing says."""
        if self.units is not None:
            found = {u.made.threads for u in self.units} - {0, None}
            return found.pop() if len(found) == 1 else None
        m = re.search(r"(\d+) threads", str(self.device or ""))
        return int(m.group(1)) if m else None


@dataclass(frozen=True)
class Summary:
    """A run report's ``summary.json``: its submission (``meta``),
    the units' parameters and seeds, the corruptions evaluated and those that left the
    images unchanged, every selection entry, every parameter on its own, the training data
    and the provenance."""

    meta: SubmissionMeta
    params: tuple[str, ...]
    seeds: tuple[int, ...]
    corruptions: tuple[str, ...]
    identity: tuple[str, ...] | None  # None: written before it was recorded
    baseline_found: bool
    selection: dict[str, dict[str, SelectionEntry]]
    per_param: dict[str, ParamPoint]
    training_data: dict[str, dict]
    original_data: dict | None
    provenance: Provenance
    format: str = FORMAT

    def entry(self, mode: str, source: str) -> SelectionEntry | None:
        """``selection[mode][source]``, None where it was not computed."""
        return self.selection.get(mode, {}).get(source)

    def to_dict(self) -> dict:
        return {"format": self.format, **self.meta.as_dict(), "params": list(self.params),
                "seeds": list(self.seeds), "corruptions": list(self.corruptions),
                **({} if self.identity is None else {"identity": list(self.identity)}),
                "baseline": {"submission": BASELINE, "found": self.baseline_found},
                "selection": {m: {s: e.to_dict() for s, e in sources.items()}
                              for m, sources in self.selection.items()},
                "per_param": {p: v.to_dict() for p, v in self.per_param.items()},
                "training_data": self.training_data, "original_data": self.original_data,
                "provenance": self.provenance.to_dict()}

    @classmethod
    def from_dict(cls, d: dict) -> Summary:
        d = migrate(d)
        return cls(
            meta=SubmissionMeta.from_summary(d), params=tuple(d["params"]),
            seeds=tuple(d["seeds"]), corruptions=tuple(d["corruptions"]),
            identity=None if d.get("identity") is None else tuple(d["identity"]),
            baseline_found=bool(d["baseline"]["found"]),
            selection={m: {s: SelectionEntry.from_dict(e) for s, e in sources.items()}
                       for m, sources in d["selection"].items()},
            per_param={p: _plain(ParamPoint, v) for p, v in d["per_param"].items()},
            training_data=d["training_data"], original_data=d.get("original_data"),
            provenance=Provenance.from_dict(d["provenance"]), format=d["format"])


def migrate(d: dict) -> dict:
    """A summary of an older format as the current one reads it; the one place that knows
    the old formats (today: every field of ``summary/1`` is still read as written, the
    differences are handled by the types: ``identity`` absent, provenance ``units`` as
    counts)."""
    if d.get("format") != FORMAT:
        raise ValueError(f"unknown summary format {d.get('format')!r}")
    return d
