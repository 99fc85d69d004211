"""The classical codecs beside JPEG: JPEG 2000 (OpenJPEG), WebP (libwebp) and AVIF (libavif),
all through Pillow, each at a quality grid that spans the JPEG grid's rates.

Bits are counted like JPEG's (the entropy-coded data, not the container or headers), with
each format's convention stated where its payload is parsed:
- JPEG 2000: the codestream (``.j2k``, no JP2 box) minus its main header and every tile-part
  header: the bytes after each SOD marker up to the end of its tile-part;
- WebP: the data of the ``VP8 `` chunk (the key frame, with its 10-byte frame header); the
  RIFF header, chunk headers and any VP8X/ALPH chunks are left out;
- AVIF: the data of the ``mdat`` box (the AV1 OBUs, sequence header included); the ISOBMFF
  boxes that describe it (ftyp, meta, ...) are left out.
``file_bits`` counts the whole file in every case.
"""
from __future__ import annotations

import functools
import io

import numpy as np
from PIL import Image

from corruptions.errors import BenchError

from .registry import Transformed, register_family


def _require(cond: bool, message: str) -> None:
    if not cond:
        raise BenchError(message)


# --------------------------------------------------------------------------- payload parsers
def j2k_payload_bytes(stream: bytes) -> int:
    """Bytes of tile-part data in a JPEG 2000 codestream (after each SOD, to the end of its
    tile-part as SOT's Psot says; Psot = 0 means up to EOC)."""
    if stream[:2] != b"\xff\x4f":
        raise ValueError("not a JPEG 2000 codestream (no SOC marker)")
    pos, total, n = 2, 0, len(stream)
    while pos + 4 <= n:
        if stream[pos] != 0xFF:
            raise ValueError(f"corrupt JPEG 2000 codestream: no marker at byte {pos}")
        marker = stream[pos + 1]
        if marker == 0xD9:  # EOC
            break
        if marker == 0x90:  # SOT: tile-part header, then SOD, then the data
            psot = int.from_bytes(stream[pos + 6:pos + 10], "big")
            end = pos + psot if psot else n - 2
            sod = stream.find(b"\xff\x93", pos + 12, end)
            if sod < 0:
                raise ValueError(f"corrupt JPEG 2000 codestream: tile-part at {pos} has no SOD")
            total += end - (sod + 2)
            pos = end
        else:
            pos += 2 + int.from_bytes(stream[pos + 2:pos + 4], "big")
    return total


def webp_payload_bytes(data: bytes) -> int:
    """Bytes of the VP8 (lossy) or VP8L (lossless) chunk's data of a RIFF WebP file."""
    if data[:4] != b"RIFF" or data[8:12] != b"WEBP":
        raise ValueError("not a WebP file")
    pos = 12
    while pos + 8 <= len(data):
        tag, size = data[pos:pos + 4], int.from_bytes(data[pos + 4:pos + 8], "little")
        if tag in (b"VP8 ", b"VP8L"):
            return size
        pos += 8 + size + (size & 1)
    raise ValueError("WebP file without a VP8/VP8L chunk")


def isobmff_mdat_bytes(data: bytes) -> int:
    """Bytes of data in the top-level ``mdat`` boxes of an ISOBMFF file (AVIF, HEIF)."""
    pos, total, found = 0, 0, False
    while pos + 8 <= len(data):
        size, kind = int.from_bytes(data[pos:pos + 4], "big"), data[pos + 4:pos + 8]
        header = 8
        if size == 1:  # 64-bit size
            size, header = int.from_bytes(data[pos + 8:pos + 16], "big"), 16
        elif size == 0:  # to the end of the file
            size = len(data) - pos
        if size < header:
            raise ValueError(f"corrupt ISOBMFF box at byte {pos}")
        if kind == b"mdat":
            total, found = total + size - header, True
        pos += size
    if not found:
        raise ValueError("ISOBMFF file without an mdat box")
    return total


# --------------------------------------------------------------------------- coding
def _round_trip(images: np.ndarray, encode, payload) -> Transformed:
    out = np.empty_like(images)
    bits, file_bits = np.empty(len(images)), np.empty(len(images))
    for i, im in enumerate(images):
        grey = im.shape[-1] == 1
        pil = Image.fromarray(im[..., 0] if grey else im)
        buf = io.BytesIO()
        encode(pil, buf)
        data = buf.getvalue()
        with Image.open(io.BytesIO(data)) as dec:
            arr = np.asarray(dec.convert("L" if grey else "RGB"))
        out[i] = arr[..., None] if grey else arr
        bits[i], file_bits[i] = 8 * payload(data), 8 * len(data)
    return Transformed(out, bits, file_bits)


def _check_int(name: str, lo: int, hi: int):
    def check(q, shape):
        _require(isinstance(q, int) and lo <= q <= hi, f"{name}: quality must be {lo}..{hi}, got {q!r}")
    return check


def _resolutions(shape: tuple[int, ...]) -> int:
    """Wavelet levels + 1 for OpenJPEG: its default of 6 needs images of at least 32 px a side;
    small images get as many levels as halve them down to 4 px."""
    side = min(shape[:2])
    return int(max(1, min(6, np.floor(np.log2(max(side, 4) / 4)) + 1)))


def _check_bpp_target(bpp, shape):
    _require(isinstance(bpp, (int, float)) and 0 < bpp <= 16,
             f"jpeg2000: target bits per pixel must be in (0, 16], got {bpp!r}")


@functools.lru_cache(maxsize=64)
def _j2k_header_bytes(shape: tuple[int, ...], resolutions: int) -> int:
    """Bytes of a codestream's main header, which OpenJPEG counts in the rate budget it is
    given: it depends on the image size and coding options, not on the content, so one encode
    of a blank image of that size measures it. The 16 bytes of the tile-part markers and EOC
    are left out, as OpenJPEG budgets them itself (with them, the payload falls short of the
    target by their size)."""
    blank = Image.fromarray(np.zeros(shape[:2] if shape[-1] == 1 else shape, np.uint8))
    buf = io.BytesIO()
    blank.save(buf, "JPEG2000", no_jp2=True, irreversible=True, quality_mode="rates",
               quality_layers=[1.0], num_resolutions=resolutions, mct=_mct(shape))
    data = buf.getvalue()
    return len(data) - j2k_payload_bytes(data) - 16


@register_family("jpeg2000", param="target bits per pixel of the codestream's tile data, (0, 16]",
                 grid=(0.25, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 4.0), check=_check_bpp_target, is_codec=True,
                 version=2)  # 2: colour through the component transform (mct=1)
def jpeg2000(images, target_bpp, rngs, ctx=None):
    """OpenJPEG, irreversible 9/7 wavelet (and component transform on colour images), one
    quality layer at a target rate: every image
    gets the same bits per pixel, as in the published Kodak curves (CompressAI's, coded at
    fixed compression ratios). A fixed target PSNR instead gives each image the rate it needs,
    and the mean of those rates over a set lies above the mean-rate curve (Jensen), which
    made JPEG 2000 look worse than JPEG on Kodak. OpenJPEG budgets the whole file,
    so the headers (about 130 bytes, more than a 28 px image's payload at 1 bpp) are added to
    the budget; small images cannot go below OpenJPEG's floor of about 0.3 bpp. The number
    of resolution levels fits the image size."""
    shape = images.shape[1:]
    res = _resolutions(shape)
    raw_bytes = int(np.prod(shape))
    budget = float(target_bpp) * shape[0] * shape[1] / 8 + _j2k_header_bytes(shape, res)

    def encode(pil, buf):
        pil.save(buf, "JPEG2000", no_jp2=True, irreversible=True, quality_mode="rates",
                 quality_layers=[raw_bytes / budget], num_resolutions=res, mct=_mct(shape))
    return _round_trip(images, encode, j2k_payload_bytes)


def _mct(shape: tuple[int, ...]) -> int:
    """Colour images through the irreversible component transform (RGB -> YCbCr), as every
    JPEG 2000 codec does by default; Pillow's default is none, which costs about 2.6 dB at
    0.5 bpp on Kodak (kodim15: 31.98 -> 34.63 dB)."""
    return 1 if shape[-1] == 3 else 0


@register_family("webp", param="quality 0..100", grid=(0, 5, 10, 20, 40, 60, 80, 90), parse=int,
                 check=_check_int("webp", 0, 100), is_codec=True)
def webp(images, quality, rngs, ctx=None):
    """libwebp lossy (VP8 key frame, 4:2:0), slowest and best method (6)."""
    def encode(pil, buf):
        pil.save(buf, "WEBP", quality=int(quality), method=6)
    return _round_trip(images, encode, webp_payload_bytes)


@register_family("avif", param="quality 0..100", grid=(0, 10, 20, 40, 60, 80, 85), parse=int,
                 check=_check_int("avif", 0, 100), is_codec=True)
def avif(images, quality, rngs, ctx=None):
    """libavif (AV1 intra), one encoder thread so the output does not depend on the machine."""
    def encode(pil, buf):
        pil.save(buf, "AVIF", quality=int(quality), max_threads=1)
    return _round_trip(images, encode, isobmff_mdat_bytes)
