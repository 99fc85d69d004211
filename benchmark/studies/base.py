"""What a study is: its config type and profiles, its compute and summarize functions, and
the typed pieces of what it reports (tables of numbers, verdicts on the papers' claims)."""
from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import yaml

from corruptions.errors import BenchError
from corruptions.registries import Registry

# how a measured number compares with a paper's claim; decided by code from the numbers, with
# the rule stated beside each verdict. "within noise": the claim's measured effect has an
# interval that holds zero (no direction is shown either way)
VERDICTS = ("reproduced", "partly", "within noise", "not reproduced", "not testable here")


@dataclass(frozen=True)
class Verdict:
    """One claim of a seed paper against what this benchmark measures."""

    name: str       # the claim's name in its study: "learned-above-jpeg"
    paper: str      # which paper and where: "003 Fig 3.4"
    claim: str      # the paper's claim, in a sentence
    reported: str   # the paper's own figure(s)
    measured: str   # ours, with the numbers behind it
    verdict: str    # one of VERDICTS
    rule: str       # how the verdict follows from the measured numbers

    def __post_init__(self) -> None:
        if self.verdict not in VERDICTS:
            raise ValueError(f"verdict {self.verdict!r} is not one of {VERDICTS}")


@dataclass(frozen=True)
class Finding:
    """What checking one claim found: the numbers in words, the verdict, the rule it
    follows from, and the measures behind it (rows of the study's measures table)."""

    measured: str
    verdict: str
    rule: str
    measures: tuple[dict, ...] = ()


def not_testable(measured: str, needs: str) -> Finding:
    """The finding of a claim this profile cannot check: what is missing in place of the
    numbers, and what the claim needs as its rule. Every study says it with the one verdict
    ("not testable here"), so a missing setting never reads as a result."""
    return Finding(measured, "not testable here", needs)


CLAIMS_FILE = Path(__file__).with_name("claims.yaml")


@functools.cache
def claim_texts() -> dict[str, dict[str, dict[str, str]]]:
    """study -> claim name -> {paper, claim, reported}: the catalogue of the seed papers'
    claims (``claims.yaml``), read once."""
    return yaml.safe_load(CLAIMS_FILE.read_text(encoding="utf-8"))


@dataclass(frozen=True)
class Claim:
    """A seed paper's claim and the pure function of (config, arrays) that checks it. A claim
    made of each of several things (each submission probed, say) names them with ``each``:
    it is checked once per case, as ``check(config, arrays, case)``, and its verdicts are
    named ``name:case``, the claim's text formatted with ``{case}``."""

    name: str
    paper: str
    claim: str
    reported: str
    check: Callable[..., Finding]
    each: Callable[[object], list[str]] | None = None

    def judge(self, config, arrays: dict[str, np.ndarray]) -> list[tuple[Verdict, Finding]]:
        if self.each is None:
            return [self._verdict(self.name, self.claim, self.check(config, arrays))]
        return [self._verdict(f"{self.name}:{case}", self.claim.format(case=case),
                              self.check(config, arrays, case)) for case in self.each(config)]

    def _verdict(self, name: str, claim: str, found: Finding) -> tuple[Verdict, Finding]:
        return Verdict(name, self.paper, claim, self.reported, found.measured, found.verdict,
                       found.rule), found


class Claims:
    """A study's claims in the order its report lists them. What each paper claims and
    reports is data, kept for every study in ``claims.yaml`` beside this module (the seed
    papers' claims in one catalogue a reader can check against the papers); the check is code,
    registered by decorator under the claim's name::

        CLAIMS = Claims("compressed-training")

        @CLAIMS.claim("learned-above-jpeg")
        def learned_above_jpeg(config, arrays) -> Finding: ...
    """

    def __init__(self, study: str = "", texts: dict[str, dict[str, str]] | None = None) -> None:
        self.study = study
        self._texts = texts  # claim name -> {paper, claim, reported}; the catalogue's if None
        self._claims: dict[str, Claim] = {}

    def claim(self, name: str, *, each: Callable[[object], list[str]] | None = None):
        if name in self._claims:
            raise ValueError(f"claim {name!r} is registered twice")
        texts = claim_texts().get(self.study, {}) if self._texts is None else self._texts
        if name not in texts:
            raise ValueError(f"claim {name!r} of study {self.study!r} is not in {CLAIMS_FILE.name}")
        text = texts[name]

        def register(check: Callable) -> Callable:
            self._claims[name] = Claim(name, text["paper"], text["claim"], text["reported"],
                                       check, each)
            return check
        return register

    def names(self) -> list[str]:
        return list(self._claims)

    def __getitem__(self, name: str) -> Claim:
        return self._claims[name]

    def judge(self, config, arrays: dict[str, np.ndarray]) -> tuple[list[Verdict], list[dict]]:
        """Every claim's verdicts, and the measures behind them all, in order."""
        verdicts, measures = [], []
        for c in self._claims.values():
            for verdict, found in c.judge(config, arrays):
                verdicts.append(verdict)
                measures.extend(found.measures)
        return verdicts, measures


def count_verdict(passed: int, total: int) -> str:
    """Reproduced when every case passes, partly when some do; untestable without cases."""
    if total == 0:
        return "not testable here"
    return "reproduced" if passed == total else "partly" if passed else "not reproduced"


def verdict_named(summary: dict, name: str):
    """A summary's verdict (a Verdict or its JSON form) by the claim's name."""
    for v in summary["verdicts"]:
        if (v["name"] if isinstance(v, dict) else v.name) == name:
            return v
    raise KeyError(f"no verdict named {name!r}")


@dataclass(frozen=True)
class Table:
    """Rows of numbers the study reports; ``columns`` are (key, label, kind) with the
    leaderboard's kinds (text, pct, bpp, bytes, size, int, num)."""

    caption: str
    columns: tuple[tuple[str, str, str], ...]
    rows: list[dict]

    def as_dict(self) -> dict:
        return {"caption": self.caption, "columns": [list(c) for c in self.columns],
                "rows": self.rows}


@dataclass(frozen=True)
class StudyContext:
    """Where a study reads and writes: the committed reports it may gather from, and the
    data, runs and device for what it computes."""

    reports_root: Path
    data_root: Path
    runs_root: Path
    device: str = "cpu"
    progress: bool = True


@dataclass(frozen=True)
class StudyPart:
    """A piece of a study that is recomputed alone (``bench verify --rerun PROFILE:N``): the
    config narrowed to it, and where its arrays sit in the whole study's (array name ->
    index); arrays it does not name are the same in the part and the whole."""

    label: str
    config: object
    at: dict[str, tuple]


@dataclass(frozen=True)
class Study:
    name: str
    title: str
    papers: tuple[str, ...]
    config: type                       # a frozen dataclass of JSON-able fields
    profiles: dict[str, object]        # profile -> config
    compute: Callable[[object, StudyContext], dict[str, np.ndarray]]
    summarize: Callable[[object, dict[str, np.ndarray]], dict]
    description: str = ""
    # (config, ctx) -> config with anything left open (e.g. "the best parameter") resolved;
    # what is recorded, so that a rerun computes the same thing
    resolve: Callable[[object, StudyContext], object] = field(default=lambda c, ctx: c)
    # the study's own command-line options, and how they change the profile's config
    arguments: Callable[[object], None] = field(default=lambda parser: None)
    configure: Callable[[object, object], object] = field(default=lambda config, args: config)
    claims: Claims = field(default_factory=Claims)  # what summarize judges, by name
    # computed from committed run reports alone (seconds, no training): ``bench verify``
    # recomputes its arrays in every profile, not only those it reruns
    from_reports: bool = False
    # config -> the pieces its arrays can be recomputed in, each alone (seeded apart, so a
    # piece alone computes what it computed within the whole); none: all or nothing
    parts: Callable[[object], list[StudyPart]] = field(default=lambda config: [])

    def profile(self, name: str):
        if name not in self.profiles:
            raise BenchError(f"study {self.name}: no profile {name!r}; known: "
                             f"{', '.join(self.profiles)}")
        return self.profiles[name]


REGISTRY: Registry[Study] = Registry("study", [
    "benchmark.studies.compressed", "benchmark.studies.storage", "benchmark.studies.fourier",
    "benchmark.studies.preprocess", "benchmark.studies.dct_noise",
    "benchmark.studies.band_weights", "benchmark.studies.reduced", "benchmark.studies.spectral",
    "benchmark.studies.similarity", "benchmark.studies.budget",
])


def register_study(name: str, *, title: str, papers: tuple[str, ...], config: type,
                   profiles: dict[str, object], summarize: Callable, description: str = "",
                   resolve: Callable | None = None, arguments: Callable | None = None,
                   configure: Callable | None = None, claims: Claims | None = None,
                   from_reports: bool = False, parts: Callable | None = None,
                   override: bool = False):
    """Register ``compute(config, ctx) -> arrays`` as the study ``name`` (and the command
    ``bench <name>``)."""
    return REGISTRY.decorator(name, lambda fn: Study(
        name, title, tuple(papers), config, dict(profiles), fn, summarize, description,
        resolve or (lambda c, ctx: c), arguments or (lambda parser: None),
        configure or (lambda c, args: c), claims or Claims(), from_reports,
        parts or (lambda c: [])), override=override)


def get_study(name: str) -> Study:
    return REGISTRY.get(name)


def study_names() -> list[str]:
    return REGISTRY.names()


def _tuples(value):
    return tuple(_tuples(v) for v in value) if isinstance(value, list) else value


def config_json(config) -> dict:
    return json_ready(dataclasses.asdict(config))


def json_ready(value):
    """Tuples as lists, numpy scalars as Python numbers: what the JSON file holds."""
    if isinstance(value, dict):
        return {str(k): json_ready(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_ready(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    return value


def config_from_json(study: Study, raw: dict):
    """The study's config from its JSON form (lists back to tuples); unknown or missing
    fields are an error naming them."""
    names = {f.name for f in dataclasses.fields(study.config)}
    extra, missing = set(raw) - names, names - set(raw)
    if extra or missing:
        raise BenchError(f"study {study.name}: config fields differ (unknown: "
                         f"{sorted(extra) or '-'}, missing: {sorted(missing) or '-'})")
    return study.config(**{k: _tuples(v) for k, v in raw.items()})
