"""Evaluation sets through an augmentation parameter (``evaluation.transform``): the cached
set holds exactly the family's output on the clean and corrupted images, is reused while its
source is unchanged and rebuilt when the source set changes."""
from __future__ import annotations

import numpy as np
import pytest

from benchmark.augment import AugmentContext, get_family
from benchmark.datasets import Dataset
from benchmark.pipeline.eval_transform import CLEAN, clean_images, ensure_transformed
from corruptions import build, files, store
from corruptions.errors import BenchError
from corruptions.rng import image_rngs


def _split(images: np.ndarray) -> Dataset:
    n = len(images)
    return Dataset("fashion-mnist", "test-n16", images, np.arange(n) % 10,
                   [f"{i}" for i in range(n)], [str(c) for c in range(10)])


def _corrupted(ds: Dataset, out, corruptions, resume=False) -> store.CorruptedSet:
    build.build(ds.images, ds.labels, ds.names, out, dataset=ds.name, split=ds.split,
                corruptions=corruptions, severities=(1, 3), progress=False, resume=resume)
    return store.open_corrupted(out)


def _jpeg_of_fog(images, tmp_path, severity: int):
    """A split, its corrupted set (fog) and that set through JPEG q10 at one severity."""
    ds = _split(images)
    source = _corrupted(ds, tmp_path / "corrupted" / "fm-c", ["fog"])
    jpeg = get_family("jpeg")
    ctx = AugmentContext(ds.name, tmp_path, progress=False)
    return ds, source, jpeg, ctx, ensure_transformed(ds, source, jpeg, 10, ("fog",), (severity,), ctx)


def test_the_set_is_the_familys_output_reused_and_rebuilt_with_its_source(fashion_images, tmp_path):
    ds, source, jpeg, ctx, folder = _jpeg_of_fog(fashion_images, tmp_path, 3)
    cs = store.open_corrupted(folder)  # verified reader: every file matches the manifest
    want = jpeg.fn(ds.images, 10, image_rngs(0, "x", 0, range(len(ds))), ctx).images
    np.testing.assert_array_equal(clean_images(cs), want)
    np.testing.assert_array_equal(
        cs.images("fog", 3), jpeg.fn(source.images("fog", 3), 10, [None] * len(ds), ctx).images)
    assert not np.array_equal(clean_images(cs), ds.images)  # it did transform
    assert cs.corruptions == ["fog"] and cs.severities == [3]
    np.testing.assert_array_equal(cs.labels, ds.labels)
    assert cs.manifest["clean_rate"]["bpp"] > 0 and cs.manifest["profiles"]["fog"]["band"] == "low"
    assert clean_images(source) is None  # an ordinary corrupted set has no clean file

    stamp = (folder / CLEAN).stat().st_mtime_ns
    assert ensure_transformed(ds, source, jpeg, 10, ("fog",), (3,), ctx) == folder
    assert (folder / CLEAN).stat().st_mtime_ns == stamp  # reused as it was

    # the source set grows (another corruption): its manifest changes, so this is rebuilt
    source = _corrupted(ds, source.folder, ["fog", "contrast"], resume=True)
    ensure_transformed(ds, source, jpeg, 10, ("fog", "contrast"), (1, 3), ctx)
    cs = store.open_corrupted(folder)
    assert cs.corruptions == ["fog", "contrast"] and cs.severities == [1, 3]
    assert cs.manifest["source_manifest"] == files.sha256_file(source.folder / store.MANIFEST)
    np.testing.assert_array_equal(
        cs.images("contrast", 1),
        jpeg.fn(source.images("contrast", 1), 10, [None] * len(ds), ctx).images)


def test_a_damaged_file_is_rebuilt_and_mixed_sizes_are_refused(fashion_images, tmp_path):
    ds, source, jpeg, ctx, folder = _jpeg_of_fog(fashion_images, tmp_path, 1)
    good = (folder / "fog.npy").read_bytes()
    (folder / "fog.npy").write_bytes(good[:-8] + b"\0" * 8)
    ensure_transformed(ds, source, jpeg, 10, ("fog",), (1,), ctx)
    assert (folder / "fog.npy").read_bytes() == good
    mixed = Dataset("x", "test", list(ds.images), ds.labels, ds.names, ds.classes)
    with pytest.raises(BenchError, match="fixed-size images"):
        ensure_transformed(mixed, source, jpeg, 10, ("fog",), (1,), ctx)
