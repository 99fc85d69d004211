"""JPEG 2000, WebP and AVIF: round trips, bits from the codestream, bad qualities."""
from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from benchmark.augment import get_family
from benchmark.codecs.metrics import psnr
from benchmark.augment.pillow_codecs import (
    isobmff_mdat_bytes,
    j2k_payload_bytes,
    webp_payload_bytes,
)
from benchmark.cli import main
from benchmark.datasets import load_dataset
from tests.conftest import natural_crops

FAMILIES = ("jpeg2000", "webp", "avif")


@pytest.fixture(scope="module")
def grey():
    return load_dataset("fashion-mnist", "test").head(24).images


@pytest.mark.parametrize("name", FAMILIES)
def test_round_trip_keeps_shape_and_quality_buys_psnr(name, grey):
    fam = get_family(name)
    assert fam.is_codec
    lo, hi = fam.grid[0], fam.grid[-1]
    a, b = fam.fn(grey, lo, None), fam.fn(grey, hi, None)
    for res in (a, b):
        assert res.images.shape == grey.shape and res.images.dtype == np.uint8
        assert (res.bits > 0).all() and (res.bits < res.file_bits).all()
    assert psnr(grey, b.images).mean() > psnr(grey, a.images).mean() + 5
    assert b.bits.mean() > a.bits.mean()
    again = fam.fn(grey, hi, None)  # deterministic
    assert np.array_equal(again.images, b.images) and np.array_equal(again.bits, b.bits)


@pytest.mark.parametrize("name", FAMILIES)
def test_colour_images_round_trip(name):
    rgb = natural_crops(64, 3)
    res = get_family(name).fn(rgb, get_family(name).grid[-2], None)
    assert res.images.shape == rgb.shape and psnr(rgb, res.images).mean() > 25


def _encode(fmt: str, **kw) -> bytes:
    im = Image.fromarray(natural_crops(48, 1)[0])
    buf = io.BytesIO()
    im.save(buf, fmt, **kw)
    return buf.getvalue()


def test_j2k_payload_is_the_tile_part_data():
    data = _encode("JPEG2000", no_jp2=True, quality_mode="dB", quality_layers=[30.0])
    sot = data.index(b"\xff\x90")
    psot = int.from_bytes(data[sot + 6:sot + 10], "big")
    sod = data.index(b"\xff\x93", sot)
    assert j2k_payload_bytes(data) == sot + psot - (sod + 2)
    assert 0 < j2k_payload_bytes(data) < len(data) - sot  # headers are not counted
    with pytest.raises(ValueError, match="JPEG 2000"):
        j2k_payload_bytes(b"\xff\xd8" + data[2:])


def test_webp_payload_is_the_vp8_chunk():
    data = _encode("WEBP", quality=50)
    assert data[12:16] == b"VP8 "
    assert webp_payload_bytes(data) == int.from_bytes(data[16:20], "little") == len(data) - 20
    with pytest.raises(ValueError, match="WebP"):
        webp_payload_bytes(b"RIFF\0\0\0\0WAVE")


def test_avif_payload_is_the_mdat_box():
    data = _encode("AVIF", quality=50, max_threads=1)
    m = data.index(b"mdat") - 4
    size = int.from_bytes(data[m:m + 4], "big")
    assert isobmff_mdat_bytes(data) == size - 8
    assert data[m + 8:m + size][:1] != b""  # the AV1 OBUs are inside
    with pytest.raises(ValueError, match="mdat"):
        isobmff_mdat_bytes(data[:m])


@pytest.mark.parametrize("name,bad", [("webp", "101"), ("avif", "-1"), ("jpeg2000", "0"), ("jpeg2000", "17"),
                                      ("webp", "abc")])
def test_a_bad_quality_exits_2_before_any_work(name, bad, tmp_path, capsys):
    root = tmp_path / "data"
    assert main(["augment", "--dataset", "fashion-mnist", "--family", name, "--param", bad,
                 "--limit", "8", "--data-root", str(root)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and name in err[0] and "Traceback" not in err[0]
    assert not (root / "augmented").exists()


@pytest.mark.parametrize("target", [0.5, 1.0, 2.0])
def test_jpeg2000_gives_every_image_its_target_rate(target, grey):
    """Rate-driven, as the published Kodak curves: the main header OpenJPEG counts in its
    budget is added back, so the tile data of small and large images both land on target
    (never above it by more than a byte; below it when the last coding pass does not fit)."""
    fam = get_family("jpeg2000")
    for images in (grey, natural_crops(128, 3)):
        pixels = images.shape[1] * images.shape[2]
        bpp = fam.fn(images, target, None).bits / pixels
        assert np.all(bpp <= target + 8 / pixels + 1e-9), (images.shape, bpp)
        assert bpp.mean() > 0.9 * target, (images.shape, bpp)


def test_jpeg2000_codes_colour_through_the_component_transform():
    """OpenJPEG through Pillow skips the RGB -> YCbCr transform unless asked (``mct``); with
    it, colour photographs gain over 1 dB at the same file size."""
    rgb = natural_crops(128, 3)
    ours = get_family("jpeg2000").fn(rgb, 1.0, None)
    plain = []
    for image, file_bits in zip(rgb, ours.file_bits):
        buf = io.BytesIO()
        Image.fromarray(image).save(buf, "JPEG2000", no_jp2=True, irreversible=True,
                                    quality_mode="rates", num_resolutions=5, mct=0,
                                    quality_layers=[image.size / (file_bits / 8)])
        plain.append(np.asarray(Image.open(io.BytesIO(buf.getvalue())).convert("RGB")))
    assert psnr(rgb, ours.images).mean() > psnr(rgb, np.stack(plain)).mean() + 1.0
