"""Augmentation families, their bits, the quality metrics and the cache."""
from __future__ import annotations

import io

import cv2
import numpy as np
import pytest
from PIL import Image
from skimage.metrics import structural_similarity

from benchmark.augment import family_names, get_family, parse_params
from benchmark.augment.cache import (
    augmented_dir,
    build_augmented,
    check_param,
    ensure_augmented,
    load_augmented,
)
from benchmark.augment.classic import entropy_coded_bytes
from benchmark.codecs.metrics import psnr, ssim
from benchmark.cli import main
from benchmark.datasets import load_dataset
from corruptions.errors import BenchError, IntegrityError
from corruptions.rng import image_rngs
from tests.conftest import natural_crops


@pytest.fixture(scope="module")
def fmnist():
    return load_dataset("fashion-mnist", "train").head(64)


def _run(name, value, images):
    fam = get_family(name)
    fam.check(value, images.shape)
    return fam.fn(images, value, image_rngs(0, f"augment:{name}", 0, range(len(images))), None)


@pytest.mark.parametrize("name,value", [("none", "-"), ("jpeg", 10), ("gaussian_noise", 0.1),
                                        ("gaussian_blur", 5), ("dct_mask", 8),
                                        ("dct_mask", (8, 0.1))])
def test_every_family_keeps_shape_and_dtype(name, value, fmnist):
    for images in (fmnist.images, natural_crops(32, 8)):
        out = _run(name, value, images)
        assert out.images.shape == images.shape and out.images.dtype == np.uint8
        assert np.array_equal(out.images, images) == (name == "none")
        assert (out.bits is not None) == get_family(name).is_codec


def test_defaults_are_the_thesis_grids():
    assert get_family("jpeg").grid == (1, 5, 10, 20, 40, 60, 80)
    assert get_family("gaussian_noise").grid == (1, 0.8, 0.3, 0.1, 0.05, 0.01)
    assert get_family("gaussian_blur").grid == (9, 7, 5, 3)
    assert {"none", "jpeg", "gaussian_noise", "gaussian_blur", "dct_mask"} <= set(family_names())


def test_jpeg_bits_count_the_entropy_coded_segment(fmnist):
    rates = []
    for q in (5, 20, 80):
        out = _run("jpeg", q, fmnist.images)
        assert np.all(out.bits > 0) and np.all(out.bits < out.file_bits)
        rates.append(out.bits.mean())
    assert rates[0] < rates[1] < rates[2]  # bpp falls as quality falls
    # the parser agrees with Pillow's files: for a baseline file, the bytes between the SOS
    # header and EOI; a progressive file has several scans, all headers and tables excluded
    img = natural_crops(64, 1)[0]
    for progressive in (False, True):
        buf = io.BytesIO()
        Image.fromarray(img).save(buf, "JPEG", quality=50, progressive=progressive)
        data = buf.getvalue()
        ecs = entropy_coded_bytes(data)
        assert 0 < ecs < len(data) - 300  # the tables alone take > 300 bytes
        if not progressive:
            sos = data.index(b"\xff\xda")
            start = sos + 2 + int.from_bytes(data[sos + 2:sos + 4], "big")
            assert ecs == data.rindex(b"\xff\xd9") - start
    with pytest.raises(ValueError):
        entropy_coded_bytes(b"not a jpeg")


def test_noise_blur_and_dct_do_what_they_say():
    grey = np.full((4, 32, 32, 1), 128, np.uint8)
    noisy = _run("gaussian_noise", 0.05, grey)
    assert abs((noisy.images.astype(float) - 128).std() / 255 - 0.05) < 0.005
    assert np.array_equal(noisy.images, _run("gaussian_noise", 0.05, grey).images)
    images = natural_crops(32, 4)
    assert np.array_equal(_run("gaussian_blur", 5, images).images[0],
                          cv2.GaussianBlur(images[0], (5, 5), 0))
    assert np.abs(_run("dct_mask", 32, images).images.astype(int) - images).max() <= 1
    low = _run("dct_mask", 4, images).images
    assert psnr(images, low).mean() < psnr(images, _run("dct_mask", 16, images).images).mean()
    assert not np.array_equal(low, _run("dct_mask", (4, 0.2), images).images)


@pytest.mark.parametrize("name,text", [("jpeg", "0"), ("jpeg", "101"), ("gaussian_noise", "-0.1"),
                                       ("gaussian_blur", "4"), ("gaussian_blur", "99"),
                                       ("dct_mask", "40"), ("jpeg", "ten")])
def test_bad_parameters_are_user_errors(name, text, fmnist, capsys):
    fam = get_family(name)
    with pytest.raises(BenchError):
        for v in parse_params(fam, text):
            fam.check(v, fmnist.images.shape)
    code = main(["augment", "--dataset", "fashion-mnist", "--family", name, "--param", text,
                 "--limit", "10"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and err[0].startswith("error:")


def test_unions_and_unknown_family():
    assert parse_params(get_family("jpeg"), "10+40") == [10, 40]
    assert parse_params(get_family("dct_mask"), "8:0.1+16") == [(8, 0.1), 16]
    with pytest.raises(BenchError):
        get_family("nope")


def test_metrics_match_scikit_image():
    a = natural_crops(40, 3)
    b = _run("jpeg", 20, a).images
    want = [structural_similarity(x, y, channel_axis=-1, gaussian_weights=True, sigma=1.5,
                                  use_sample_covariance=False, data_range=255)
            for x, y in zip(a, b)]
    assert np.allclose(ssim(a, b), want, atol=1e-6)
    mse = ((a.astype(float) - b) ** 2).mean(axis=(1, 2, 3))
    assert np.allclose(psnr(a, b), 10 * np.log10(255**2 / mse))


def test_cache_builds_verifies_and_rebuilds(fmnist, tmp_path):
    fam = get_family("jpeg")
    folder, m = ensure_augmented(fmnist, fam, 10, tmp_path, progress=False)
    assert folder == augmented_dir(tmp_path, "fashion-mnist", "train", fam, 10)
    images, labels, manifest = load_augmented(folder)
    assert images.shape == fmnist.images.shape and np.array_equal(labels, fmnist.labels)
    bits = np.load(folder / "bits.npy")
    assert manifest["bpp"]["mean"] == pytest.approx((bits / 784).mean())
    assert manifest["file_bpp"]["mean"] > manifest["bpp"]["mean"]
    assert 0 < manifest["ssim"]["mean"] < 1 and manifest["psnr"]["std"] > 0
    assert manifest["bytes_on_disk"] == sum((folder / f).stat().st_size for f in manifest["files"])
    stamp = (folder / "images.npy").stat().st_mtime_ns
    ensure_augmented(fmnist, fam, 10, tmp_path, progress=False)  # reused, not rebuilt
    assert (folder / "images.npy").stat().st_mtime_ns == stamp
    raw = bytearray((folder / "images.npy").read_bytes())
    raw[-1] ^= 0xFF
    (folder / "images.npy").write_bytes(bytes(raw))
    with pytest.raises(IntegrityError, match="images.npy"):
        load_augmented(folder)
    ensure_augmented(fmnist, fam, 10, tmp_path, progress=False)  # damaged: rebuilt
    load_augmented(folder)


def test_a_family_fixed_since_a_set_was_cached_rebuilds_it(fmnist, tmp_path):
    """A family's version is part of what a cached set was made by: the sets of version 1
    are served to version 1 and rebuilt for version 2 (a fix that changes the output)."""
    from dataclasses import replace

    v1 = get_family("jpeg")
    folder, _ = ensure_augmented(fmnist, v1, 10, tmp_path, progress=False)
    stamp = (folder / "images.npy").stat().st_mtime_ns
    ensure_augmented(fmnist, v1, 10, tmp_path, progress=False)
    assert (folder / "images.npy").stat().st_mtime_ns == stamp
    _, manifest = ensure_augmented(fmnist, replace(v1, version=2), 10, tmp_path, progress=False)
    assert (folder / "images.npy").stat().st_mtime_ns != stamp
    assert manifest["transform"] == {"family_version": 2}


def test_cache_holds_images_of_mixed_sizes(tmp_path):
    photos = load_dataset("skimage", "all")
    fam = get_family("jpeg")
    folder, m = ensure_augmented(photos, fam, 20, tmp_path, progress=False)
    assert "images.npz" in m["files"] and m["image_shape"] is None
    images, labels, _ = load_augmented(folder)
    assert [im.shape for im in images] == [im.shape for im in photos.images]
    for clean, got in zip(photos.images, images):  # each image as the family makes it alone
        assert np.array_equal(got, _run("jpeg", 20, clean[None]).images[0])
    pixels = np.array([im.shape[0] * im.shape[1] for im in photos.images])
    assert m["bpp"]["mean"] == pytest.approx((np.load(folder / "bits.npy") / pixels).mean())
    stereo = photos.subset([4, 5])  # the two motorcycle photos have one size: one array
    build_augmented(stereo, fam, 20, folder, progress=False)
    assert not (folder / "images.npz").exists()
    assert load_augmented(folder)[0].shape == (2, *photos.images[4].shape)


def test_mixed_sizes_are_checked_against_the_smallest_image(capsys):
    photos = load_dataset("skimage", "all")
    smallest = min(min(im.shape[:2]) for im in photos.images)
    with pytest.raises(BenchError, match="larger than the images"):
        check_param(get_family("dct_mask"), smallest + 1, photos)
    check_param(get_family("dct_mask"), smallest, photos)
    assert main(["spectrum", "--dataset", "skimage", "--split", "all", "--family", "jpeg",
                 "--param", "10"]) == 2
    assert "one size" in capsys.readouterr().err


def test_uncodec_cache_has_no_bits(fmnist, tmp_path):
    m = build_augmented(fmnist, get_family("gaussian_blur"), 3, tmp_path / "b", progress=False)
    assert "bpp" not in m and set(m["files"]) == {"images.npy", "labels.npy"}


def test_rd_and_spectrum_commands(tmp_path, capsys):
    from benchmark.augment.analysis import mean_log_spectrum

    root, out = tmp_path / "data", tmp_path / "out"
    assert main(["rd", "--dataset", "fashion-mnist", "--families", "jpeg,gaussian_blur",
                 "--limit", "50", "--data-root", str(root), "--out", str(out)]) == 0
    import json
    rd = json.loads((out / "rd.json").read_text())
    rows = rd["rows"]
    assert rd["reference"] == "jpeg" and rd["bd"] == {} and rd["published"] == []
    jpeg_rows = [r for r in rows if r["family"] == "jpeg"]
    assert len(jpeg_rows) == 7 and all(r["bpp"] > 0 for r in jpeg_rows)
    assert [r for r in rows if r["family"] == "gaussian_blur"][0]["bpp"] is None
    assert Image.open(out / "rd.png").format == "PNG"
    assert "jpeg" in capsys.readouterr().out
    assert main(["rd", "--dataset", "fashion-mnist", "--families", "jpeg", "--params",
                 "jpeg=10/50", "--limit", "20", "--data-root", str(root), "--out", str(out)]) == 0
    assert [r["param"] for r in json.loads((out / "rd.json").read_text())["rows"]] == ["10", "50"]
    assert main(["spectrum", "--dataset", "fashion-mnist", "--family", "gaussian_blur",
                 "--param", "7", "--limit", "50", "--data-root", str(root), "--out", str(out)]) == 0
    orig, blur = np.load(out / "original.npy"), np.load(out / "gaussian_blur_7.npy")
    assert orig.shape == (28, 28) and orig.max() == pytest.approx(1) and orig[14, 14] == orig.max()
    edge = np.ones_like(orig, bool)
    edge[7:21, 7:21] = False  # the high-frequency ring around the centred DC
    assert blur[edge].mean() < orig[edge].mean()
    assert np.allclose(mean_log_spectrum(np.zeros((2, 8, 8, 1), np.uint8)), 0)
