"""corruptions.build + corruptions.store on real images: layouts, manifest, determinism,
the reader's checks, resume, atomic writes.

Small on purpose: 40 Fashion-MNIST test images, two or three cheap corruptions; Kodak (PNG
layout) with two photos and two severities.
"""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

import corruptions as C
from benchmark import datasets
from benchmark.datasets import load_dataset
from corruptions import build as builder
from corruptions import files, store
from corruptions.build import build
from corruptions.errors import BenchError, DataError, IntegrityError
from corruptions.store import open_corrupted
from corruptions.version import code_version

N = 40
PAIR = ["contrast", "gaussian_noise"]  # one deterministic, one stochastic
SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"

needs_fmnist = pytest.mark.skipif(
    not (datasets.FASHION_MNIST_DIR / "t10k-images-idx3-ubyte.gz").is_file(),
    reason="dataset-fashion-mnist (Debian) not installed")
pytestmark = needs_fmnist


@pytest.fixture(scope="module")
def fm():
    ds = load_dataset("fashion-mnist", "test").head(N)
    assert ds.images.shape == (N, 28, 28, 1)
    return ds


def _build(ds, out: Path, corruptions=PAIR, **kw) -> dict:
    kw.setdefault("scale", "cifar")
    return build(ds.images, ds.labels, ds.names, out, dataset="fashion-mnist", split="test",
                 corruptions=list(corruptions), progress=False, **kw)


@pytest.fixture(scope="module")
def built(fm, tmp_path_factory) -> Path:
    """A reference build (read-only for the tests: copy it before damaging anything)."""
    out = tmp_path_factory.mktemp("built") / "fmnist-c"
    _build(fm, out)
    return out


def _copy(src: Path, tmp_path: Path) -> Path:
    dst = tmp_path / "copy"
    shutil.copytree(src, dst)
    return dst


def _files(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def _flip_last_byte(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[-1] ^= 0xFF
    path.write_bytes(bytes(data))


# --------------------------------------------------------------------------- npy layout
def test_npy_layout_is_severity_major_engine_output(fm, built):
    for name in PAIR:
        arr = np.load(built / f"{name}.npy")
        assert arr.shape == (5 * N, 28, 28, 1) and arr.dtype == np.uint8
        for s in C.SEVERITIES:
            want = C.corrupt(fm.images, name, s, scale="cifar", seed=0, indices=range(N))
            np.testing.assert_array_equal(arr[(s - 1) * N:s * N], want, err_msg=f"{name} s{s}")
        # blocks really are different severities, not one block repeated
        assert not np.array_equal(arr[:N], arr[4 * N:])
    labels = np.load(built / "labels.npy")
    assert labels.shape == (5 * N,)
    np.testing.assert_array_equal(labels, np.tile(fm.labels, 5))


def test_a_set_read_for_fewer_severities_reads_their_own_blocks(fm, built, tmp_path):
    """A run reading severity 3 alone from a set built for 1-5 (the ``cpu`` sets are shared
    by every submission) gets severity 3's images, as from a set built for 3 alone: once it
    got the first block, severity 1's, and reported it as 3."""
    from benchmark.pipeline.inputs import EvalSet, load_eval_splits

    only3 = tmp_path / "only3"
    _build(fm, only3, severities=[3])
    want = {c: open_corrupted(only3).images(c, 3) for c in PAIR}
    sha = files.sha256_file(built / store.MANIFEST)
    (split,) = load_eval_splits("fashion-mnist", tmp_path, (EvalSet("test", N, built, sha),),
                                tuple(PAIR), (3,))
    read = {c: images for c, s, _band, images in split.sets() if s == 3}
    assert set(read) == set(PAIR)
    for c in PAIR:
        np.testing.assert_array_equal(read[c], want[c], err_msg=c)
        assert not np.array_equal(read[c], open_corrupted(built).images(c, 1)), c
    narrowed = open_corrupted(built).narrowed(["contrast"], [3, 5])
    assert narrowed.corruptions == ["contrast"] and narrowed.severities == [3, 5]
    np.testing.assert_array_equal(narrowed.images("contrast", 3), want["contrast"])
    with pytest.raises(DataError, match="no severity 1"):
        narrowed.images("contrast", 1)


def test_manifest_lists_every_file_with_its_sha256(built):
    manifest = json.loads((built / "manifest.json").read_text())
    on_disk = {p.name for p in built.iterdir() if p.name != "manifest.json"}
    assert set(manifest["files"]) == on_disk == {"contrast.npy", "gaussian_noise.npy",
                                                "labels.npy"}
    for rel, digest in manifest["files"].items():
        assert files.sha256_file(built / rel) == digest, rel
    assert store.files_verify(built, manifest["files"])
    assert manifest["severities"] == [1, 2, 3, 4, 5]
    assert manifest["scale"] == "cifar" and manifest["seed"] == 0
    assert manifest["layout"] == "npy" and manifest["n_images"] == N
    assert manifest["image_shape"] == [28, 28, 1]
    assert manifest["code_version"] == code_version() and manifest["code_version"]
    assert set(manifest["corruptions"]) == set(PAIR)
    assert set(manifest["profiles"]) == set(PAIR)
    for name, prof in manifest["profiles"].items():
        assert sum(prof["measured"]["shares"].values()) == pytest.approx(1, abs=1e-3), name
        assert set(prof["severity"]) == {"1", "2", "3", "4", "5"}
        for s, p in prof["severity"].items():
            assert sum(p["shares"].values()) == pytest.approx(1, abs=1e-3), (name, s)
            assert p["images"] == N
        assert prof["measured_band"] in ("low", "mid", "high")
    assert manifest["profiles"]["contrast"]["published_band"] == "low"
    assert manifest["profiles"]["gaussian_noise"]["published_band"] == "high"
    # stronger severity, lower PSNR
    psnr = [manifest["profiles"]["gaussian_noise"]["severity"][str(s)]["psnr"] for s in (1, 5)]
    assert psnr[0] > psnr[1]


# --------------------------------------------------------------------------- determinism
def test_building_twice_gives_byte_identical_folders(fm, built, tmp_path):
    out = tmp_path / "again"
    out.mkdir()
    (out / ".contrast.npy.tmp-4242").write_bytes(b"left by a killed worker")
    _build(fm, out)
    a, b = _files(built), _files(out)
    assert set(a) == set(b)  # the stale temporary is gone too
    for rel in a:
        assert a[rel] == b[rel], rel


def test_two_workers_give_the_same_files_as_one(fm, built, tmp_path):
    out = tmp_path / "w2"
    _build(fm, out, workers=2)
    for rel in ("contrast.npy", "gaussian_noise.npy", "labels.npy"):
        assert (out / rel).read_bytes() == (built / rel).read_bytes(), rel
    assert not list(out.rglob(f"*{files.TMP_MARK}*"))


def test_the_manifest_is_byte_identical_for_one_and_two_workers(fm, tmp_path, monkeypatch):
    """Chunks of 7 images: each severity's spectrum is a float sum over 6 tasks, which two
    workers finish in any order; the builder merges them in the tasks' order."""
    from corruptions import build as builder

    monkeypatch.setattr(builder, "CHUNK_PIXELS", 7 * 28 * 28)
    _build(fm, tmp_path / "w1", workers=1)
    _build(fm, tmp_path / "w2", workers=2)
    assert _files(tmp_path / "w1") == _files(tmp_path / "w2")


def test_seed_changes_stochastic_corruptions_only(fm, built, tmp_path):
    out = tmp_path / "seed1"
    manifest = _build(fm, out, seed=1)
    assert manifest["seed"] == 1
    assert (out / "contrast.npy").read_bytes() == (built / "contrast.npy").read_bytes()
    assert not np.array_equal(np.load(out / "gaussian_noise.npy"),
                              np.load(built / "gaussian_noise.npy"))


# --------------------------------------------------------------------------- reader
def test_reader_returns_the_right_blocks(fm, built):
    cs = open_corrupted(built)
    assert cs.verified and cs.layout == "npy"
    assert set(cs.corruptions) == set(PAIR) and cs.severities == [1, 2, 3, 4, 5]
    np.testing.assert_array_equal(cs.labels, fm.labels)
    for name in PAIR:
        arr = np.load(built / f"{name}.npy")
        for s in (1, 4):
            got = cs.images(name, s)
            assert got.shape == (N, 28, 28, 1) and got.dtype == np.uint8
            np.testing.assert_array_equal(got, arr[(s - 1) * N:s * N])
    cs.verify_all()
    with pytest.raises(DataError, match="fog"):
        cs.images("fog", 1)
    with pytest.raises(DataError, match="severity"):
        cs.images("contrast", 6)


def test_flipped_byte_raises_integrity_error_naming_the_file(built, tmp_path):
    folder = _copy(built, tmp_path)
    _flip_last_byte(folder / "gaussian_noise.npy")
    cs = open_corrupted(folder)
    with pytest.raises(IntegrityError) as e:
        cs.images("gaussian_noise", 2)
    assert "gaussian_noise.npy" in str(e.value)
    with pytest.raises(IntegrityError, match="gaussian_noise.npy"):
        cs.verify_all()
    # the undamaged file still reads
    np.testing.assert_array_equal(cs.images("contrast", 2),
                                  np.load(built / "contrast.npy")[N:2 * N])
    # verify=False reads the damaged bytes without complaint (and they differ)
    raw = open_corrupted(folder, verify=False).images("gaussian_noise", 5)
    assert not np.array_equal(raw, np.load(built / "gaussian_noise.npy")[4 * N:])


def test_missing_file_raises_data_error_naming_it(built, tmp_path):
    folder = _copy(built, tmp_path)
    (folder / "contrast.npy").unlink()
    cs = open_corrupted(folder)
    with pytest.raises(DataError) as e:
        cs.images("contrast", 1)
    assert not isinstance(e.value, IntegrityError)
    assert "contrast.npy" in str(e.value)
    (folder / "labels.npy").unlink()
    with pytest.raises(DataError, match="labels.npy"):
        open_corrupted(folder)


def test_reader_rejects_a_folder_that_does_not_exist(tmp_path):
    with pytest.raises(DataError, match="nowhere"):
        open_corrupted(tmp_path / "nowhere")
    with pytest.raises(DataError, match="labels.npy"):
        open_corrupted(tmp_path)  # exists, but neither manifest nor labels


def test_reads_an_official_cifar10c_style_folder(tmp_path):
    n = 4
    rng = np.random.default_rng(0)
    arr = rng.integers(0, 256, (5 * n, 32, 32, 3), dtype=np.uint8)
    labels = np.tile(np.arange(n, dtype=np.uint8), 5)  # the release stores uint8 labels
    np.save(tmp_path / "gaussian_noise.npy", arr)
    np.save(tmp_path / "labels.npy", labels)
    cs = open_corrupted(tmp_path)
    assert cs.verified is False
    assert cs.corruptions == ["gaussian_noise"] and cs.severities == [1, 2, 3, 4, 5]
    np.testing.assert_array_equal(cs.labels, np.arange(n))
    assert cs.labels.dtype == np.int64
    for s in (1, 3, 5):
        np.testing.assert_array_equal(cs.images("gaussian_noise", s), arr[(s - 1) * n:s * n])
    cs.verify_all()  # nothing to verify: no error


def test_official_folder_with_bad_labels_length_is_a_data_error(tmp_path):
    np.save(tmp_path / "gaussian_noise.npy", np.zeros((5 * 4, 32, 32, 3), np.uint8))
    np.save(tmp_path / "labels.npy", np.zeros(5 * 4 + 2, np.uint8))
    with pytest.raises(DataError, match="labels.npy"):
        open_corrupted(tmp_path)


def test_official_folder_with_wrong_row_count_is_rejected(tmp_path):
    np.save(tmp_path / "fog.npy", np.zeros((5 * 4 - 1, 32, 32, 3), np.uint8))
    np.save(tmp_path / "labels.npy", np.zeros(5 * 4, np.uint8))
    with pytest.raises(BenchError, match="fog.npy"):
        open_corrupted(tmp_path)


# --------------------------------------------------------------------------- resume
def test_resume_rebuilds_only_what_does_not_verify(fm, built, tmp_path, monkeypatch):
    folder = _copy(built, tmp_path)
    contrast_before = (folder / "contrast.npy").read_bytes()
    _flip_last_byte(folder / "gaussian_noise.npy")
    assert not store.files_verify(folder, json.loads((folder / "manifest.json").read_text())
                                  ["files"])

    ran = []
    real = builder.run_task

    def spy(task, images=None):
        ran.append((task.corruption, task.severity))
        return real(task, images)

    monkeypatch.setattr(builder, "run_task", spy)
    manifest = _build(fm, folder, resume=True)
    assert {c for c, _ in ran} == {"gaussian_noise"}
    assert sorted(s for _, s in ran) == [1, 2, 3, 4, 5]
    assert (folder / "contrast.npy").read_bytes() == contrast_before
    assert (folder / "gaussian_noise.npy").read_bytes() == \
        (built / "gaussian_noise.npy").read_bytes()
    assert set(manifest["corruptions"]) == set(PAIR)
    cs = open_corrupted(folder)
    cs.verify_all()
    np.testing.assert_array_equal(cs.images("gaussian_noise", 3),
                                  np.load(built / "gaussian_noise.npy")[2 * N:3 * N])

    # a second resume has nothing to do
    ran.clear()
    _build(fm, folder, resume=True)
    assert ran == []


def test_resume_with_another_seed_is_refused_and_keeps_the_files(fm, built, tmp_path):
    folder = _copy(built, tmp_path)
    before = _files(folder)
    with pytest.raises(BenchError, match="seed"):
        _build(fm, folder, resume=True, seed=1)
    assert _files(folder) == before
    open_corrupted(folder).verify_all()


# --------------------------------------------------------------------------- atomic writes
@pytest.mark.parametrize("exc", [RuntimeError, KeyboardInterrupt])
def test_atomic_path_leaves_nothing_when_the_body_raises(tmp_path, exc):
    target = tmp_path / "x.npy"
    with pytest.raises(exc):
        with files.atomic_path(target) as tmp:
            assert tmp.parent == tmp_path and tmp != target
            tmp.write_bytes(b"half")
            raise exc()
    assert list(tmp_path.iterdir()) == []

    # an existing file is kept as it was
    target.write_bytes(b"old")
    with pytest.raises(exc):
        with files.atomic_path(target) as tmp:
            tmp.write_bytes(b"new")
            raise exc()
    assert [p.name for p in tmp_path.iterdir()] == ["x.npy"]
    assert target.read_bytes() == b"old"


def test_atomic_path_replaces_on_success(tmp_path):
    target = tmp_path / "x.npy"
    target.write_bytes(b"old")
    digest = files.write_bytes(target, b"new")
    assert target.read_bytes() == b"new"
    assert digest == files.sha256_file(target)
    assert [p.name for p in tmp_path.iterdir()] == ["x.npy"]


def test_remove_stale_temporaries(tmp_path):
    (tmp_path / "sub").mkdir()
    stale = [tmp_path / ".x.tmp-123", tmp_path / "sub" / ".fog.npy.tmp-99"]
    keep = [tmp_path / "x", tmp_path / ".hidden", tmp_path / "sub" / "fog.npy",
            tmp_path / "manifest.json"]
    for p in stale + keep:
        p.write_bytes(b"-")
    files.remove_stale_temporaries(tmp_path)
    assert not any(p.exists() for p in stale)
    assert all(p.exists() for p in keep)


# --------------------------------------------------------------------------- png layout
@pytest.mark.skipif(not (SHARED_DATA / "kodak").is_dir(), reason=f"no Kodak in {SHARED_DATA}")
def test_png_layout_on_kodak(tmp_path):
    ds = load_dataset("kodak", "test", data_root=SHARED_DATA).head(2)
    names = ["contrast", "jpeg_compression"]
    out = tmp_path / "kodak-c"
    manifest = build(ds.images, ds.labels, ds.names, out, dataset="kodak", split="test",
                     corruptions=names, severities=[1, 2], progress=False)
    assert manifest["layout"] == "png" and manifest["scale"] == "imagenet"
    assert manifest["names"] == ds.names == ["kodim13", "kodim14"]
    assert manifest["severities"] == [1, 2]
    expected = {f"{c}/{s}/{nm}.png" for c in names for s in (1, 2) for nm in ds.names}
    on_disk = {p.relative_to(out).as_posix() for p in out.rglob("*.png")}
    assert on_disk == expected
    assert set(manifest["files"]) == expected | {"labels.npy"}
    assert store.files_verify(out, manifest["files"])
    assert not list(out.rglob(f"*{files.TMP_MARK}*"))

    cs = open_corrupted(out)
    assert cs.verified and cs.layout == "png"
    np.testing.assert_array_equal(cs.labels, ds.labels)
    for c in names:
        for s in (1, 2):
            want = C.corrupt(ds.images, c, s, scale="imagenet", seed=0, indices=range(2))
            got = cs.images(c, s)
            assert isinstance(got, list) and len(got) == 2
            for g, w in zip(got, want):
                assert g.shape == w.shape == (512, 768, 3)
                np.testing.assert_array_equal(g, w)
    # the reader checks PNGs too
    _flip_last_byte(out / "contrast" / "2" / "kodim14.png")
    with pytest.raises(IntegrityError, match="kodim14.png"):
        cs.images("contrast", 2)


def test_imagecorruptions_backend_builds_the_reference_set(tmp_path):
    """--backend imagecorruptions writes the package's own output, image by image."""
    from corruptions import reference
    from tests.conftest import natural_crops

    images = natural_crops(40, 3)
    builder.build(images, np.arange(3), ["a", "b", "c"], tmp_path, dataset="crops", split="test",
                corruptions=["fog", "glass_blur"], severities=[2], scale="imagenet",
                backend="imagecorruptions", workers=1, progress=False)
    for name in ("fog", "glass_blur"):
        got = store.open_corrupted(tmp_path).images(name, 2)
        want = reference.corrupt(images, name, 2, seed=0, indices=range(3))
        assert np.array_equal(np.stack(got), want)


def test_a_corruption_that_changes_nothing_is_flagged_identity(fm, tmp_path):
    """saturate on grey images: every image at every severity exactly as it was, flagged in
    the manifest (the PSNR would be infinite); contrast changes them and is not flagged. A
    manifest from before the flag says the same by its zero mean squared difference."""
    m = _build(fm, tmp_path / "out", corruptions=("saturate", "contrast"), severities=(1, 5))
    assert m["profiles"]["saturate"]["identity"] is True
    assert all(s["identity"] for s in m["profiles"]["saturate"]["severity"].values())
    assert m["profiles"]["contrast"]["identity"] is False
    assert store.identity_corruptions(m) == ["saturate"]
    from benchmark.commands.corruptions import format_profiles

    table = format_profiles(m["profiles"]).splitlines()
    row = next(line for line in table if line.startswith("saturate"))
    assert row.count(" inf") == 2 and "identity" in row
    assert not any("identity" in line for line in table if line.startswith("contrast"))
    for entry in m["profiles"].values():
        del entry["identity"]
    assert store.identity_corruptions(m) == ["saturate"]
