"""Errors the CLI reports as one line.

``BenchError`` is bad input (unknown name, malformed file, missing data): exit 2.
Anything else is a runtime failure: exit 1.
"""


class BenchError(Exception):
    """A user error: reported as one line on stderr, exit code 2."""


class DataError(BenchError):
    """A dataset is unknown, missing or malformed."""


class IntegrityError(BenchError):
    """A file on disk does not match the checksum its manifest records."""
