"""Files written whole or not at all, and their checksums.

Every file the project writes (corrupted sets, augmented sets, checkpoints, reports) goes
through a temporary sibling that is renamed into place, so a crash or Ctrl-C leaves either
the old file or the new one, never half of one.
"""
from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import re
import zipfile
from collections.abc import Iterator
from pathlib import Path

import numpy as np

TMP_MARK = ".tmp-"


@contextlib.contextmanager
def atomic_path(path: Path) -> Iterator[Path]:
    """A temporary sibling of ``path`` that replaces it only if the block completes."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}{TMP_MARK}{os.getpid()}")
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()


def write_bytes(path: Path, data: bytes) -> str:
    """Write atomically; returns the sha256 of the content."""
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)
    return hashlib.sha256(data).hexdigest()


def write_json(path: Path, obj) -> str:
    """Indented JSON, atomically; returns its sha256."""
    return write_bytes(path, (json.dumps(obj, indent=1) + "\n").encode())


def write_torch(path: Path, obj) -> str:
    """``torch.save`` atomically (checkpoints, weights), creating the folder; returns the
    sha256."""
    import torch

    buf = io.BytesIO()
    torch.save(obj, buf)
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    return write_bytes(Path(path), buf.getvalue())


def npy_bytes(arr: np.ndarray) -> bytes:
    buf = io.BytesIO()
    np.save(buf, np.ascontiguousarray(arr), allow_pickle=False)
    return buf.getvalue()


# ids and profile names become folder and file names (reports/<id>/<profile>/, the site's
# pages): lower-case letters, digits, '_' and '-', never a path
NAME = re.compile(r"[a-z0-9][a-z0-9_-]{0,63}")


def check_name(value: object, what: str) -> str:
    """``value`` when it is a safe name (``NAME``); else one ``BenchError`` saying where."""
    from .errors import BenchError

    if not isinstance(value, str) or not NAME.fullmatch(value):
        raise BenchError(f"{what}: {value!r} is not a name (lower-case letters, digits, '_' "
                         "and '-', at most 64)")
    return value


def read_npz(path: Path) -> dict[str, np.ndarray]:
    """Every array of an ``.npz`` (no pickles); a missing, truncated or foreign file is one
    ``IntegrityError`` naming it, not the zip module's exception."""
    from .errors import IntegrityError

    try:
        with np.load(path, allow_pickle=False) as z:
            return {k: z[k] for k in z.files}
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as e:
        raise IntegrityError(f"{path}: cannot read ({e})") from None


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def remove_stale_temporaries(folder: Path) -> None:
    """Temporary files left by a killed process (atomic_path cleans up after itself otherwise)."""
    for p in Path(folder).rglob(f".*{TMP_MARK}*"):
        with contextlib.suppress(FileNotFoundError):
            p.unlink()
