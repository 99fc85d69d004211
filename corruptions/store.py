"""On-disk layouts of corrupted sets: writing them atomically, reading and verifying them.

Two layouts, both described by ``manifest.json``:

- ``npy`` (the CIFAR-10-C layout, for small fixed-size images): ``<corruption>.npy`` uint8
  (S*N, H, W, C), severity-major (rows [(k)*N, (k+1)*N) are the k-th listed severity), and
  ``labels.npy`` of length S*N. The official CIFAR-10-C folder (no manifest) reads the same.
- ``png`` (large or mixed-size sets, e.g. Kodak-C): ``<corruption>/<severity>/<name>.png``.

Every file is written through ``corruptions.files`` (a temporary name renamed into place), so
an interrupted build leaves whole files or nothing.
"""
from __future__ import annotations

import io
import json
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
from PIL import Image

from .errors import DataError, IntegrityError
from .files import sha256_file, write_bytes

MANIFEST = "manifest.json"
LABELS = "labels.npy"
# a built set's folder ends with its suite: ``<dataset>-c`` and ``<dataset>-c-bar``
SUITE_SUFFIX = {"c": "-c", "cbar": "-c-bar"}


# --------------------------------------------------------------------------- writing
def png_bytes(img: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(img[..., 0] if img.shape[-1] == 1 else img).save(buf, "PNG", compress_level=1)
    return buf.getvalue()


def write_manifest(folder: Path, manifest: dict) -> None:
    text = json.dumps(manifest, indent=1, sort_keys=False) + "\n"
    write_bytes(Path(folder) / MANIFEST, text.encode())


def read_manifest(folder: Path) -> dict | None:
    path = Path(folder) / MANIFEST
    if not path.exists():
        return None
    try:
        return json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise IntegrityError(f"{path}: damaged manifest ({e})") from None


def identity_corruptions(manifest: dict) -> list[str]:
    """The corruptions of a built set that left every image of it exactly as it was, at
    every severity (``saturate`` on grey images): measured by the builder, which finds no
    difference power at all. A manifest from before the flag was written says the same by
    a mean squared difference of exactly zero."""
    out = []
    for name in manifest.get("corruptions", []):
        entry = manifest.get("profiles", {}).get(name, {})
        flag = entry.get("identity")
        if flag is None:
            severities = entry.get("severity", {}).values()
            flag = bool(severities) and all(s.get("mse") == 0 for s in severities)
        if flag:
            out.append(name)
    return out


def files_verify(folder: Path, files: dict[str, str]) -> bool:
    """True when every file exists and matches its recorded sha256."""
    return all((Path(folder) / f).is_file() and sha256_file(Path(folder) / f) == h
               for f, h in files.items())


# --------------------------------------------------------------------------- reading
@dataclass
class CorruptedSet:
    """A built (or official) corrupted set. ``images(c, s)`` verifies what it reads."""

    folder: Path
    manifest: dict | None
    corruptions: list[str]
    severities: list[int]
    labels: np.ndarray  # of one severity block (length N)
    layout: str
    verify: bool = True
    # the severities in the order their row blocks lie in a ``npy`` file: fixed when the set
    # is opened, while ``severities`` may be narrowed to those a run reads
    stored_severities: list[int] = field(default_factory=list)

    def __post_init__(self) -> None:
        if not self.stored_severities:
            self.stored_severities = list(self.severities)

    @property
    def verified(self) -> bool:
        return self.manifest is not None

    def narrowed(self, corruptions: tuple[str, ...] | list[str],
                 severities: tuple[int, ...] | list[int]) -> CorruptedSet:
        """The same set read for only these corruptions and severities (those it holds, in
        its own order). A severity's rows are still found where the set stores them: a set
        built for severities 1-5 and read for 3 alone reads its third block, not its first."""
        return replace(self, corruptions=[c for c in self.corruptions if c in corruptions],
                       severities=[s for s in self.severities if s in severities])

    def _check(self, rel: str) -> Path:
        path = self.folder / rel
        if not path.is_file():
            raise DataError(f"{path}: missing file of the corrupted set")
        if self.verify and self.manifest is not None:
            want = self.manifest["files"].get(rel)
            if want is None:
                raise IntegrityError(f"{path}: not listed in {self.folder / MANIFEST}")
            if sha256_file(path) != want:
                raise IntegrityError(f"{path}: damaged (sha256 differs from the manifest)")
        return path

    def images(self, corruption: str, severity: int) -> np.ndarray | list[np.ndarray]:
        if corruption not in self.corruptions:
            raise DataError(f"{self.folder}: no corruption {corruption!r} "
                            f"(has {', '.join(self.corruptions)})")
        if severity not in self.severities:
            raise DataError(f"{self.folder}: no severity {severity} (has {self.severities})")
        k, n = self.stored_severities.index(severity), len(self.labels)
        if self.layout == "npy":
            arr = np.load(self._check(f"{corruption}.npy"), mmap_mode="r")
            if arr.ndim == 3:
                arr = arr[..., None]
            return np.asarray(arr[k * n:(k + 1) * n])
        names = self.manifest["names"]
        return [_read_png(self._check(f"{corruption}/{severity}/{nm}.png")) for nm in names]

    def verify_all(self) -> None:
        """Check every file the manifest lists; raises naming the first damaged one."""
        if self.manifest is None:
            return
        for rel in self.manifest["files"]:
            self._check(rel)


def _read_png(path: Path) -> np.ndarray:
    img = np.asarray(Image.open(path))
    return img[..., None] if img.ndim == 2 else img


def open_corrupted(folder: str | Path, verify: bool = True) -> CorruptedSet:
    """Open a folder built here (manifest) or the official CIFAR-10-C release (no manifest)."""
    folder = Path(folder)
    if not folder.is_dir():
        raise DataError(f"{folder}: no such corrupted-set folder")
    manifest = read_manifest(folder)
    if manifest is not None:
        cs = CorruptedSet(folder, manifest, list(manifest["corruptions"]),
                          list(manifest["severities"]), np.zeros(0, np.int64),
                          manifest["layout"], verify)
        labels = np.load(cs._check(LABELS))
        cs.labels = labels[: manifest["n_images"]].astype(np.int64)
        return cs
    # The official release: <corruption>.npy (50000, 32, 32, 3) and labels.npy, 5 severities.
    if not (folder / LABELS).is_file():
        raise DataError(f"{folder}: neither {MANIFEST} nor {LABELS} found")
    labels = np.load(folder / LABELS)
    if len(labels) % 5:
        raise DataError(f"{folder / LABELS}: length {len(labels)} is not 5 severities x N")
    names = sorted(p.stem for p in folder.glob("*.npy") if p.name != LABELS)
    n = len(labels) // 5
    for nm in names:
        arr = np.load(folder / f"{nm}.npy", mmap_mode="r")
        if arr.dtype != np.uint8 or arr.shape[0] != 5 * n:
            raise IntegrityError(f"{folder / (nm + '.npy')}: expected uint8 with {5 * n} rows, "
                                 f"got {arr.dtype} {arr.shape}")
    return CorruptedSet(folder, None, names, [1, 2, 3, 4, 5], labels[:n].astype(np.int64), "npy")
