"""The ``bench`` command line: one sub-command per step of the flow.

Exit codes (DESIGN.md): 0 success, 2 bad input (one line on stderr, no traceback), 1 a
runtime failure, 130 interrupted.
"""
from __future__ import annotations

import argparse
import logging
import sys
from importlib.metadata import entry_points

from corruptions.errors import BenchError


class _Parser(argparse.ArgumentParser):
    """argparse that reports a usage error as one line (and exit 2) like every other error."""

    def error(self, message: str):
        raise BenchError(f"{self.prog}: {message}")


def build_parser() -> argparse.ArgumentParser:
    from .commands import augment, codec, corruptions, perf, run, studies

    parser = _Parser(prog="bench", description=__doc__.splitlines()[0])
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    corruptions.add_parsers(sub)
    augment.add_parsers(sub)
    augment.add_analysis_parsers(sub)
    codec.add_parsers(sub)
    run.add_parsers(sub)
    perf.add_parsers(sub)
    studies.add_parsers(sub)
    # commands of packages above this one (the leaderboard's), found by entry point so that
    # imports keep running one way
    for ep in sorted(entry_points(group="bench.commands"), key=lambda e: e.name):
        ep.load()(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    try:
        parser = build_parser()
        args = parser.parse_args(argv)
        logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO,
                            format="%(message)s", stream=sys.stderr)
        return int(args.func(args) or 0)
    except BenchError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except Exception as e:  # a runtime failure: one line, the traceback only with -v
        logging.getLogger(__name__).debug("traceback", exc_info=True)
        print(f"error: {type(e).__name__}: {e}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
