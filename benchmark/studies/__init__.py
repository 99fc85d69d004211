"""The seed papers' experiments, each a *study*: one command, one report folder, verdicts.

A study computes raw arrays (the expensive part: models evaluated, codecs run, or numbers
gathered from run reports), then ``summarize`` turns config + arrays into tables and
verdicts by a pure function, which ``bench verify`` runs again on the committed arrays.
Reports live in ``reports/studies/<name>/<profile>/``: ``summary.json`` (config, tables,
verdicts, provenance) and ``arrays.npz``. Studies register the way models do::

    @register_study("my-study", title="...", papers=("003 Fig 3.4",), config=MyConfig,
                    profiles={"ci": MyConfig(...), "cpu": MyConfig(...)})
    def compute(config, ctx) -> dict[str, np.ndarray]: ...

and name their pure ``summarize(config, arrays) -> {"tables": ..., "verdicts": ...}``. The
verdicts come from the study's ``Claims``: each claim of a seed paper is a named, pure
function of (config, arrays) giving a ``Finding`` (measured, verdict, rule), so a verdict is
addressed by name (``verdict_named(summary, "learned-above-jpeg")``) rather than position.
"""
from __future__ import annotations

from .base import (
    VERDICTS,
    Claims,
    Finding,
    Study,
    StudyContext,
    Table,
    Verdict,
    config_from_json,
    get_study,
    register_study,
    study_names,
    verdict_named,
)
from .report import (
    ARRAYS,
    STUDIES,
    read_arrays,
    resummarize,
    run_study,
    study_dir,
    study_folders,
    write_study,
)

__all__ = ["ARRAYS", "STUDIES", "VERDICTS", "Claims", "Finding", "Study", "StudyContext", "Table",
           "Verdict", "config_from_json", "get_study", "read_arrays", "register_study",
           "resummarize", "run_study", "study_dir", "study_folders", "study_names",
           "verdict_named", "write_study"]
