"""benchmark.datasets on real data: Fashion-MNIST (Debian files), Kodak, scikit-image photos."""
from __future__ import annotations

import gzip
import socket
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from benchmark import datasets
from benchmark.datasets import DataError, Dataset, load_dataset, resolve_data_root

SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
needs_kodak = pytest.mark.skipif(not (SHARED_DATA / "kodak").is_dir(),
                                 reason=f"no Kodak copy in {SHARED_DATA}")
needs_fmnist = pytest.mark.skipif(
    not (datasets.FASHION_MNIST_DIR / "t10k-images-idx3-ubyte.gz").is_file(),
    reason="dataset-fashion-mnist (Debian) not installed")


@pytest.fixture
def offline(monkeypatch):
    """No name resolves: a torchvision download fails at once, whatever the machine's network."""
    def fail(*args, **kwargs):
        raise socket.gaierror(-2, "Name or service not known (offline in tests)")
    monkeypatch.setattr(socket, "getaddrinfo", fail)


# ------------------------------------------------------------------------ fashion-mnist


@pytest.fixture(scope="module")
def fmnist_train():
    return load_dataset("fashion-mnist", "train")


@needs_fmnist
def test_fashion_mnist_test_split():
    ds = load_dataset("fashion-mnist")  # test is the default split
    assert ds.split == "test"
    assert ds.images.shape == (10000, 28, 28, 1) and ds.images.dtype == np.uint8
    assert ds.fixed_size and ds.channels == 1
    assert ds.labels.dtype == np.int64 and set(np.unique(ds.labels)) == set(range(10))
    assert len(ds.classes) == 10 and ds.classes[0] == "T-shirt/top"
    assert ds.names[0] == "test-000000" and len(set(ds.names)) == len(ds)
    assert 0 < ds.images.mean() < 255  # real pixels, not an empty buffer


@needs_fmnist
def test_fashion_mnist_train_validation_split(fmnist_train):
    val = load_dataset("fashion-mnist", "validation")
    assert (len(fmnist_train), len(val)) == (55000, 5000)
    assert not set(fmnist_train.names) & set(val.names)
    assert len(set(fmnist_train.names) | set(val.names)) == 60000
    assert val.names == sorted(val.names) and fmnist_train.names == sorted(fmnist_train.names)
    again = load_dataset("fashion-mnist", "validation")
    assert again.names == val.names
    np.testing.assert_array_equal(again.images, val.images)
    np.testing.assert_array_equal(again.labels, val.labels)


@needs_fmnist
def test_fashion_mnist_all_is_train_then_test(fmnist_train):
    ds = load_dataset("fashion-mnist", "all")
    assert len(ds) == 70000 and ds.names[0] == "train-000000" and ds.names[-1] == "test-009999"
    # A train-split image keeps its name and pixels in `all`.
    i = int(fmnist_train.names[123].split("-")[1])
    assert ds.names[i] == fmnist_train.names[123]
    np.testing.assert_array_equal(ds.images[i], fmnist_train.images[123])


def test_fashion_mnist_class_names_match_torchvision():
    from torchvision.datasets import FashionMNIST

    assert datasets.FASHION_MNIST_CLASSES == list(FashionMNIST.classes)


@pytest.mark.parametrize("payload,problem", [
    (b"not an idx file at all", "not a uint8 idx file"),
    (b"\x00\x00\x08\x03" + (10).to_bytes(4, "big") + (28).to_bytes(4, "big") * 2 + b"\x00" * 99,
     "truncated"),
])
def test_damaged_idx_file_names_the_file(tmp_path, monkeypatch, payload, problem):
    for name in ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz",
                 "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"):
        with gzip.open(tmp_path / name, "wb") as f:
            f.write(payload)
    monkeypatch.setattr(datasets, "FASHION_MNIST_DIR", tmp_path)
    with pytest.raises(DataError, match=problem) as err:
        load_dataset("fashion-mnist", "test")
    assert str(tmp_path / "t10k-images-idx3-ubyte.gz") in str(err.value)


def test_fashion_mnist_fallback_names_both_places(tmp_path, monkeypatch, offline):
    monkeypatch.setattr(datasets, "FASHION_MNIST_DIR", tmp_path / "debian")
    with pytest.raises(DataError) as err:
        load_dataset("fashion-mnist", "test", data_root=tmp_path / "root")
    msg = str(err.value)
    assert str(tmp_path / "debian") in msg and str(tmp_path / "root" / "FashionMNIST") in msg
    assert "\n" not in msg


# ------------------------------------------------------------------------------- kodak


@needs_kodak
def test_kodak_test_split():
    ds = load_dataset("kodak", "test", data_root=SHARED_DATA)
    assert ds.names == [f"kodim{i:02d}" for i in range(13, 25)]
    assert list(ds.labels) == list(range(12, 24)) and len(ds.classes) == 24
    assert not ds.fixed_size  # kodim17-19 are portrait
    for im in ds.images:
        assert im.dtype == np.uint8 and im.shape in {(512, 768, 3), (768, 512, 3)}
    assert {im.shape for im in ds.images} == {(512, 768, 3), (768, 512, 3)}


@needs_kodak
def test_kodak_split_sizes_and_subset():
    sizes = [len(load_dataset("kodak", s, SHARED_DATA)) for s in ("train", "validation")]
    assert sizes == [10, 2]
    ds = load_dataset("kodak", "validation", SHARED_DATA)
    assert ds.names == ["kodim11", "kodim12"]
    head = ds.head(1)
    assert head.names == ["kodim11"] and head.fixed_size and head.images.shape[0] == 1


def test_kodak_missing_folder_names_path(tmp_path):
    with pytest.raises(DataError, match=str(tmp_path / "kodak")):
        load_dataset("kodak", "test", data_root=tmp_path)


def test_kodak_missing_files_named(tmp_path):
    (tmp_path / "kodak").mkdir()
    Image.new("RGB", (768, 512)).save(tmp_path / "kodak" / "kodim13.png")
    with pytest.raises(DataError, match="kodim14.png") as err:
        load_dataset("kodak", "test", data_root=tmp_path)
    assert "kodim13.png" not in str(err.value) and str(tmp_path / "kodak") in str(err.value)


@needs_kodak
def test_photos_train_codecs_on_kodak_1_to_12_and_skimage_and_test_on_13_to_24():
    train = load_dataset("photos", "train", SHARED_DATA)
    test = load_dataset("photos", "test", SHARED_DATA)
    assert train.names[:12] == [f"kodak-kodim{i:02d}" for i in range(1, 13)]
    assert train.names[12:] == [f"skimage-{n}" for n in load_dataset("skimage", "all").names]
    assert test.names == [f"kodak-kodim{i:02d}" for i in range(13, 25)]
    assert not set(train.names) & set(test.names)
    every = load_dataset("photos", "all", SHARED_DATA)
    for ds in (train, test):  # a photo's label is the same in every split
        assert [every.classes[k] for k in ds.labels] == ds.names
    with pytest.raises(DataError, match="no validation split"):
        load_dataset("photos", "validation", SHARED_DATA)


# ----------------------------------------------------------------------------- skimage


def test_skimage_photos():
    ds = load_dataset("skimage", "all")
    assert ds.names == ["astronaut", "chelsea", "coffee", "ihc",
                        "motorcycle_left", "motorcycle_right"]
    assert all(im.dtype == np.uint8 and im.ndim == 3 and im.shape[2] == 3 for im in ds.images)
    assert ds.channels == 3 and not ds.fixed_size  # mixed sizes -> list
    assert load_dataset("skimage", "test").names == ["motorcycle_right"]
    assert len(load_dataset("skimage", "train")) == 4
    batches = list(ds.batches(4))  # mixed sizes: one image per batch, in order
    assert [start for start, _ in batches] == list(range(6))
    assert all(b.shape == (1, *im.shape) for (_, b), im in zip(batches, ds.images))
    assert ds.shapes()[0] == ds.images[0].shape and len(ds.shapes()) == len(set(ds.shapes()))


# ------------------------------------------------------------------------- imagefolder


def _write_folder(root: Path, per_class: int = 10, mode: str = "RGB") -> None:
    for label, cls in enumerate(["cat", "dog"]):
        (root / cls).mkdir(parents=True)
        for i in range(per_class):
            # Pixel value encodes the class, so labels can be checked against content.
            Image.new(mode, (8, 6), (label * 100,) * len(mode)).save(root / cls / f"{i:02d}.png")
    (root / "dog" / "notes.txt").write_text("not an image")


def test_imagefolder_seeded_split(tmp_path):
    _write_folder(tmp_path / "pets")
    spec = f"imagefolder:{tmp_path / 'pets'}"
    full = load_dataset(spec, "all")
    assert full.classes == ["cat", "dog"] and len(full) == 20
    assert full.images.shape == (20, 6, 8, 3) and full.images.dtype == np.uint8
    np.testing.assert_array_equal(full.images[:, 0, 0, 0], full.labels * 100)
    parts = {s: load_dataset(spec, s) for s in ("train", "validation", "test")}
    assert {s: len(d) for s, d in parts.items()} == {"train": 16, "validation": 2, "test": 2}
    names = [n for d in parts.values() for n in d.names]
    assert sorted(names) == sorted(full.names)  # a partition: disjoint and complete
    assert list(parts["test"].labels) == [0, 1]  # one held out per class
    assert load_dataset(spec, "test").names == parts["test"].names


def test_imagefolder_split_folders_and_grey(tmp_path):
    for split, classes in (("train", ["a", "b"]), ("test", ["b", "c"])):
        for cls in classes:
            (tmp_path / split / cls).mkdir(parents=True)
            Image.new("L", (5, 5), 7).save(tmp_path / split / cls / "x.png")
    spec = f"imagefolder:{tmp_path}"
    test = load_dataset(spec, "test")
    assert test.classes == ["a", "b", "c"] and list(test.labels) == [1, 2]
    assert test.names == ["test-b-x", "test-c-x"]
    assert test.images.shape == (2, 5, 5, 1) and test.channels == 1
    assert len(load_dataset(spec, "all")) == 4
    with pytest.raises(DataError, match="validation or val"):
        load_dataset(spec, "validation")


def test_imagefolder_mixed_sizes_and_modes(tmp_path):
    (tmp_path / "k").mkdir()
    Image.new("L", (4, 4)).save(tmp_path / "k" / "grey.png")
    Image.new("RGB", (6, 3), (1, 2, 3)).save(tmp_path / "k" / "rgb.png")
    ds = load_dataset(f"imagefolder:{tmp_path}", "all")
    assert not ds.fixed_size and [im.shape for im in ds.images] == [(4, 4, 3), (3, 6, 3)]


def test_imagefolder_errors(tmp_path):
    with pytest.raises(DataError, match=str(tmp_path / "nope")):
        load_dataset(f"imagefolder:{tmp_path / 'nope'}")
    with pytest.raises(DataError, match="no class sub-folders"):
        load_dataset(f"imagefolder:{tmp_path}")
    (tmp_path / "empty_class").mkdir()
    with pytest.raises(DataError, match="no images"):
        load_dataset(f"imagefolder:{tmp_path}", "all")
    (tmp_path / "empty_class" / "bad.png").write_bytes(b"not a png")
    with pytest.raises(DataError, match="bad.png"):
        load_dataset(f"imagefolder:{tmp_path}", "all")


# ------------------------------------------------------------- torchvision, offline


@pytest.mark.parametrize("name,folder", [("cifar10", "cifar-10-batches-py"),
                                         ("cifar100", "cifar-100-python"),
                                         ("mnist", "MNIST")])
def test_missing_torchvision_dataset_is_a_clear_error(tmp_path, offline, name, folder):
    timeout = socket.getdefaulttimeout()
    with pytest.raises(DataError) as err:
        load_dataset(name, "test", data_root=tmp_path)
    msg = str(err.value)
    assert str(tmp_path / folder) in msg and "download failed" in msg and "\n" not in msg
    assert socket.getdefaulttimeout() == timeout  # the download timeout was put back


# ------------------------------------------------------------------- registry, roots


def test_unknown_dataset_and_split():
    with pytest.raises(DataError, match="unknown dataset 'nope'.*fashion-mnist"):
        load_dataset("nope")
    with pytest.raises(DataError, match="unknown split 'dev'"):
        load_dataset("kodak", "dev")
    with pytest.raises(DataError, match="imagefolder:PATH"):
        load_dataset("imagefolder:")


def test_register_dataset(monkeypatch, tmp_path):
    monkeypatch.setattr(datasets.REGISTRY, "_entries", dict(datasets.REGISTRY._entries))

    @datasets.register_dataset("tiny")
    def tiny(split: str, root: Path) -> Dataset:
        return Dataset("tiny", split, np.zeros((3, 2, 2, 3), np.uint8), [0, 1, 0],
                       ["a", "b", "c"], ["x", "y"])

    assert "tiny" in datasets.dataset_names()
    ds = load_dataset("tiny", "train", tmp_path)
    assert ds.labels.dtype == np.int64 and len(ds) == 3
    sub = ds.subset([2, 0])
    assert sub.names == ["c", "a"] and sub.images.shape == (2, 2, 2, 3)
    assert len(ds.head(10)) == 3 and len(ds.head(0)) == 0


def test_resolve_data_root(monkeypatch, tmp_path):
    monkeypatch.delenv("BENCH_DATA", raising=False)
    assert resolve_data_root() == Path("data")
    monkeypatch.setenv("BENCH_DATA", str(tmp_path))
    assert resolve_data_root() == tmp_path
    assert resolve_data_root(tmp_path / "x") == tmp_path / "x"
    with pytest.raises(DataError, match=str(tmp_path / "kodak")):
        load_dataset("kodak")  # the env var reaches the loaders too


def test_a_scratch_data_root_gets_the_given_datasets_not_the_built_ones(tmp_path):
    """`bench verify --rerun` rebuilds what the benchmark builds in a fresh data root; the
    datasets it was given (Kodak for the spectral study) are linked, or the rerun stops."""
    from benchmark.augment.cache import augmented_dir
    from benchmark.augment.registry import get_family
    from benchmark.codecs.zoo import photo_recipe
    from benchmark.codecs.train import checkpoint_path
    from benchmark.datasets import BUILT_FOLDERS, link_sources
    from benchmark.pipeline.eval_transform import transformed_dir
    from benchmark.pipeline.inputs import corrupted_dir

    given = tmp_path / "data"
    built = [corrupted_dir(given, "kodak", "test", None),
             augmented_dir(given, "kodak", "train", get_family("jpeg"), 50),
             checkpoint_path(given, "kodak", photo_recipe("bls", 3), 0.01).parent,
             transformed_dir(given, given / "corrupted" / "kodak-c", get_family("jpeg"), 50)]
    for path in built:  # every builder writes under one of the folders named built
        assert path.relative_to(given).parts[0] in BUILT_FOLDERS
        path.mkdir(parents=True)
    (given / "kodak").mkdir()
    (given / "kodak" / "kodim13.png").write_bytes(b"png")
    (given / "weights.pt").write_bytes(b"w")
    fresh = tmp_path / "scratch" / "data"
    assert link_sources(given, fresh) == ["kodak", "weights.pt"]
    assert (fresh / "kodak" / "kodim13.png").read_bytes() == b"png"
    assert not any((fresh / name).exists() for name in BUILT_FOLDERS)
    assert link_sources(given, fresh) == []  # a resumed scratch keeps its links
