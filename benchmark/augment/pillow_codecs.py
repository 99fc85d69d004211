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


def _check_psnr_target(db, shape):
    _require(isinstance(db, (int, float)) and 10 <= db <= 80,
             f"jpeg2000: target PSNR must be 10..80 dB, got {db!r}")


@register_family("jpeg2000", param="target PSNR in dB, 10..80 (OpenJPEG's rate allocation)",
                 grid=(18, 20, 22, 25, 28, 31, 34, 38, 42), check=_check_psnr_target, is_codec=True)
def jpeg2000(images, target_db, rngs, ctx=None):
    """OpenJPEG, irreversible 9/7 wavelet, one quality layer allocated to reach the target
    PSNR. A target PSNR rather than a compression ratio: OpenJPEG's ratio counts the whole
    file, whose ~130-byte headers alone exceed the budget of a 28 px image at every ratio
    above 5. The number of resolution levels fits the image size."""
    def encode(pil, buf):
        pil.save(buf, "JPEG2000", no_jp2=True, irreversible=True, quality_mode="dB",
                 quality_layers=[float(target_db)], num_resolutions=_resolutions(images.shape[1:]))
    return _round_trip(images, encode, j2k_payload_bytes)


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
