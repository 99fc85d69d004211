"""Follow the submission spec through one ``bench run`` (issue 30's walk metric).

Runs the ``ci`` profile of ``submissions/baseline.yaml`` under ``sys.settrace`` into scratch
folders and counts, among the calls into ``benchmark/``, the *stops*: calls whose arguments
hold the ``RunSpec`` or one of its field objects (its grid's specs, its ``TrainConfig``, its
resolved mapping, ...). Consecutive stops in one file are one visit; a *return* is a visit
to a file already visited before. ``--narrow`` counts only calls handed a ``RunSpec``.

    python scripts/spec_walk.py [--narrow] [--list]
"""
from __future__ import annotations

import argparse
import dataclasses
import os
import sys
import tempfile
from pathlib import Path

import benchmark
from benchmark.pipeline import runner
from benchmark.pipeline.submission import RunSpec, load_submission

ATOMS = (str, int, float, bool, type(None))


def spec_parts(spec: RunSpec) -> set[int]:
    """The ids of the spec and of its non-scalar fields (and their tuple items)."""
    parts = {id(spec)}
    for f in dataclasses.fields(spec):
        value = getattr(spec, f.name)
        if isinstance(value, ATOMS):
            continue
        parts.add(id(value))
        if isinstance(value, tuple):
            parts.update(id(x) for x in value if not isinstance(x, ATOMS))
    return parts


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--narrow", action="store_true", help="count only calls handed a RunSpec")
    ap.add_argument("--list", action="store_true", help="print every stop")
    ap.add_argument("--data-root", default="data")
    args = ap.parse_args()
    spec = load_submission("submissions/baseline.yaml", "ci")
    root = str(Path(benchmark.__file__).parent)
    parts = set() if args.narrow else spec_parts(spec)
    stops: list[tuple[str, str]] = []

    def tracer(frame, event, arg):
        if event == "call" and frame.f_code.co_filename.startswith(root) and any(
                isinstance(v, RunSpec) or id(v) in parts for v in frame.f_locals.values()):
            stops.append((os.path.relpath(frame.f_code.co_filename, root), frame.f_code.co_name))

    with tempfile.TemporaryDirectory() as scratch:
        sys.settrace(tracer)
        try:
            runner.run_submission(spec, data_root=Path(args.data_root),
                                  runs_root=Path(scratch) / "runs",
                                  reports_root=Path(scratch) / "reports", progress=False)
        finally:
            sys.settrace(None)
    visits = [f for i, (f, _) in enumerate(stops) if i == 0 or f != stops[i - 1][0]]
    returns = sum(f in visits[:i] for i, f in enumerate(visits))
    print(f"stops {len(stops)}, files {len(set(visits))}, visits {len(visits)}, "
          f"returns {returns}")
    if args.list:
        for f, name in stops:
            print(f"  {f} {name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
