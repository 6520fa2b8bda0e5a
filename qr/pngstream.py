"""A 2-bit greyscale page as PNG scanlines, encoded row band by row band.

A page is a stack of full-width bands of rows, white between them. Each band is compressed on its own as raw
deflate ending on a byte boundary, so the bands join into one zlib stream; a band every page shares is compressed
once. For a poster this is what makes it cheaper than the whole page through Pillow's PNG encoder (bench/posters.py
measures both): only the title, the QR and the unit code are compressed per unit. The same stream is the body of a
PNG's IDAT and of a PDF image with /Predictor 15.
"""

from __future__ import annotations

import dataclasses
import functools
import struct
import zlib

from PIL import Image


@dataclasses.dataclass(frozen=True, eq=False)
class Band:
    """Rows [top, top + height) of a page: `image` (mode "L", greys 0, 85, 170, 255 only, the page's full width),
    each of its rows standing for `repeat` page rows. A `shared` band is the same object on every page."""
    top: int
    image: Image.Image
    repeat: int = 1
    shared: bool = False

    @property
    def height(self) -> int:
        return self.image.height * self.repeat


def _deflate(scanlines: bytes) -> bytes:
    packer = zlib.compressobj(1, zlib.DEFLATED, -15)
    return packer.compress(scanlines) + packer.flush(zlib.Z_FULL_FLUSH)


def _row_bytes(width: int) -> int:
    return (width * 2 + 7) // 8


def _compressed(band: Band) -> tuple[bytes, int]:
    """The band's scanlines (filter byte 0 before each packed 2-bit row) compressed, and their Adler-32."""
    packed = band.image.tobytes("raw", "L;2")
    stride = _row_bytes(band.image.width)
    lines = b"".join((b"\x00" + packed[i:i + stride]) * band.repeat for i in range(0, len(packed), stride))
    return _deflate(lines), zlib.adler32(lines)


_shared = functools.lru_cache(maxsize=64)(_compressed)  # keyed by the band object: shared bands are cached objects


@functools.lru_cache(maxsize=256)
def _blank(width: int, height: int) -> tuple[bytes, int]:
    lines = (b"\x00" + b"\xff" * _row_bytes(width)) * height
    return _deflate(lines), zlib.adler32(lines)


def _adler_combine(adler1: int, adler2: int, length2: int) -> int:
    """Adler-32 of A + B from those of A and B and the length of B (zlib's adler32_combine)."""
    base = 65521
    rem = length2 % base
    sum1 = adler1 & 0xFFFF
    sum2 = (rem * sum1) % base
    sum1 = (sum1 + (adler2 & 0xFFFF) + base - 1) % base
    sum2 = (sum2 + (adler1 >> 16) + (adler2 >> 16) + base - rem) % base
    return sum1 | (sum2 << 16)


def zlib_stream(bands: list[Band], width: int, height: int) -> bytes:
    """The page's scanlines (2-bit grey, filter 0) as one zlib stream; rows no band covers are white."""
    row = 1 + _row_bytes(width)
    body = [b"\x78\x01"]
    adler = 1
    at = 0
    for band in sorted(bands, key=lambda b: b.top):
        if band.top < at or band.image.width != width:
            raise AssertionError(f"band at row {band.top} overlaps another or is not {width} wide")
        if band.top > at:
            blank, blank_adler = _blank(width, band.top - at)
            body.append(blank)
            adler = _adler_combine(adler, blank_adler, (band.top - at) * row)
        data, band_adler = (_shared if band.shared else _compressed)(band)
        body.append(data)
        adler = _adler_combine(adler, band_adler, band.height * row)
        at = band.top + band.height
    if at > height:
        raise AssertionError("bands run past the page")
    if at < height:
        blank, blank_adler = _blank(width, height - at)
        body.append(blank)
        adler = _adler_combine(adler, blank_adler, (height - at) * row)
    body.append(b"\x03\x00")  # an empty final block (fixed Huffman codes)
    body.append(struct.pack(">I", adler))
    return b"".join(body)


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png_file(width: int, height: int, dpi: int, stream: bytes) -> bytes:
    """A 2-bit greyscale PNG of `dpi` whose IDAT is `stream` (see zlib_stream)."""
    per_metre = round(dpi / 0.0254)
    return b"".join((b"\x89PNG\r\n\x1a\n",
                     _chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 2, 0, 0, 0, 0)),
                     _chunk(b"pHYs", struct.pack(">IIB", per_metre, per_metre, 1)),
                     _chunk(b"IDAT", stream),
                     _chunk(b"IEND", b"")))


def page_image(bands: list[Band], width: int, height: int) -> Image.Image:
    """The same page as one Pillow image (mode "L")."""
    page = Image.new("L", (width, height), 255)
    for band in bands:
        image = band.image if band.repeat == 1 else band.image.resize((width, band.height), Image.NEAREST)
        page.paste(image, (0, band.top))
    return page
