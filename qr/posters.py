"""QR images and printable posters (A4, A5) for unit codes, drawn with qrcode + Pillow and the shipped CJK font.

The font is a subset of Noto Sans CJK SC (SIL Open Font License, see qr/fonts/), so Chinese renders on a
machine with no Chinese fonts installed.

A poster is a 2-bit greyscale page (black, two greys for anti-aliased text, white) made of horizontal bands:
the title, the instruction, the QR, the unit code and the footer. The bands every poster of a size shares are
drawn once; qr/pngstream.py encodes the bands into a PNG or a PDF page image.
"""

from __future__ import annotations

import dataclasses
import functools
import io
from pathlib import Path

import qrcode
from PIL import Image, ImageDraw, ImageFont
from qrcode.constants import ERROR_CORRECT_M
from qrcode.util import MODE_8BIT_BYTE, QRData

from models import DomainError

from .pngstream import Band, page_image, png_file, zlib_stream

FONT_PATH = Path(__file__).parent / "fonts" / "NotoSansSC-Regular-subset.otf"
DPI = 150
INSTRUCTION = "扫码反映身边事"
FOOTER = "件件有回音 · 件件有答复"


@dataclasses.dataclass(frozen=True)
class PageSize:
    name: str
    width_mm: float
    height_mm: float
    qr_mm: float  # printed QR side, quiet zone included
    title_px: int  # largest title size; shrunk down to title_min_px before wrapping further
    title_min_px: int

    @property
    def pixels(self) -> tuple[int, int]:
        return mm_to_px(self.width_mm), mm_to_px(self.height_mm)

    @property
    def points(self) -> tuple[float, float]:
        return self.width_mm * 72 / 25.4, self.height_mm * 72 / 25.4


# A code read from two metres needs modules of about 4 mm: a version-3 code (29 modules + 8 quiet) at 160 mm.
SIZES = {
    "A4": PageSize("A4", 210, 297, 160, 76, 40),
    "A5": PageSize("A5", 148, 210, 112, 54, 28),
}


def mm_to_px(mm: float) -> int:
    return round(mm * DPI / 25.4)


def page_size(name: str) -> PageSize:
    try:
        return SIZES[str(name).upper()]
    except KeyError:
        raise DomainError("poster_size_unknown", sizes="、".join(SIZES)) from None


@functools.lru_cache(maxsize=32)
def font(size: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(str(FONT_PATH), size)


@functools.lru_cache(maxsize=1)
def _notdef_signature() -> bytes:
    return bytes(font(20).getmask("\U000F0000"))


@functools.lru_cache(maxsize=8192)
def _has_glyph(char: str) -> bool:
    if char.isspace():
        return True
    return bytes(font(20).getmask(char)) != _notdef_signature()


def missing_glyphs(text: str) -> list[str]:
    """Characters of `text` the poster font cannot draw (they would print as empty boxes)."""
    return sorted({c for c in text if not _has_glyph(c)})


# --- the QR itself -------------------------------------------------------------------------------------------

# Any of the eight masks makes a valid code that every reader decodes; choosing the "best" one by the
# standard's penalty score means building and scoring all eight in pure Python, which took longer than the
# rest of a poster put together. The checkerboard mask breaks up runs in the data well, and the tests read
# every generated code back with an independent reader.
MASK_PATTERN = 0


@functools.lru_cache(maxsize=256)
def _version_for(length: int) -> int:
    """The smallest version holding `length` bytes at level M (byte mode: the version depends on length only)."""
    code = qrcode.QRCode(error_correction=ERROR_CORRECT_M, mask_pattern=MASK_PATTERN)
    code.add_data(QRData(b"x" * length, mode=MODE_8BIT_BYTE))
    return code.best_fit()


def qr_matrix(data: str) -> list[list[bool]]:
    """The QR modules for `data` (byte mode, error correction M, fixed mask), quiet zone of 4 modules included."""
    raw = data.encode()
    code = qrcode.QRCode(version=_version_for(len(raw)), error_correction=ERROR_CORRECT_M, border=4,
                         mask_pattern=MASK_PATTERN)
    code.add_data(QRData(raw, mode=MODE_8BIT_BYTE))
    code.make(fit=False)
    return code.get_matrix()


def _pack_bits(matrix: list[list[bool]]) -> bytes:
    """Rows of 1-bit pixels (1 = white), each padded to whole bytes, as Pillow's raw "1" mode wants them."""
    n = len(matrix)
    pad = -n % 8
    out = bytearray()
    for row in matrix:
        out += int("".join("0" if cell else "1" for cell in row) + "0" * pad, 2).to_bytes((n + pad) // 8, "big")
    return bytes(out)


def qr_image(data: str, side_px: int) -> Image.Image:
    """A black-on-white QR ("1" mode) of about `side_px` pixels, every module the same whole number of pixels."""
    matrix = qr_matrix(data)
    n = len(matrix)
    box_px = max(1, side_px // n)
    return Image.frombytes("1", (n, n), _pack_bits(matrix)).resize((n * box_px, n * box_px), Image.NEAREST)


def qr_png(data: str, box_px: int = 10) -> bytes:
    """The plain QR PNG for `data`: `box_px` pixels per module, 1 bit per pixel."""
    matrix = qr_matrix(data)
    n = len(matrix)
    out = io.BytesIO()
    image = Image.frombytes("1", (n, n), _pack_bits(matrix)).resize((n * box_px, n * box_px), Image.NEAREST)
    image.save(out, "PNG", compress_level=1)
    return out.getvalue()


# --- the poster ----------------------------------------------------------------------------------------------

def _wrap(text: str, face: ImageFont.FreeTypeFont, width: int) -> list[str]:
    """Break `text` into lines no wider than `width`, preferring breaks after "·"; never drops a character."""
    parts = [p + "·" for p in text.split("·")]
    parts[-1] = parts[-1][:-1]
    lines: list[str] = []
    line = ""
    for part in parts:
        if face.getlength(line + part) <= width:
            line += part
            continue
        if line:
            lines.append(line)
            line = ""
        for char in part:
            if face.getlength(line + char) <= width or not line:
                line += char
            else:
                lines.append(line)
                line = char
    if line:
        lines.append(line)
    return lines


@dataclasses.dataclass
class Layout:
    size: PageSize
    title_px: int
    title_lines: list[str]
    qr_px: int


@functools.lru_cache(maxsize=4096)
def _layout(full_name: str, size: PageSize) -> Layout:
    width, height = size.pixels
    margin = mm_to_px(12)
    text_width = width - 2 * margin
    qr_px = mm_to_px(size.qr_mm)
    fixed = margin * 2 + qr_px + mm_to_px(34)  # instruction, code line, footer and the gaps between
    room = height - fixed
    px = size.title_px
    while True:
        lines = _wrap(full_name, font(px), text_width)
        if len(lines) <= 2 or px <= size.title_min_px:
            break
        px = max(size.title_min_px, px - 4)
    if len(lines) * round(px * 1.3) > room:
        raise DomainError("poster_name_too_long", name=full_name[:40])
    return Layout(size, px, lines, qr_px)


def layout(full_name: str, size: PageSize) -> Layout:
    """Fit the unit's full name above the QR: shrink it to the minimum size, then wrap; never cut it off.

    Raises `poster_name_too_long` when even the smallest size cannot fit above a QR of the printed size.
    """
    plan = _layout(full_name, size)
    return dataclasses.replace(plan, title_lines=list(plan.title_lines))


@functools.lru_cache(maxsize=4)
def _fonts_for(size_name: str) -> dict[str, ImageFont.FreeTypeFont]:
    size = SIZES[size_name]
    return {"instruction": font(round(size.title_px * 0.8)), "small": font(round(size.title_px * 0.42))}


# Text is drawn anti-aliased and then set to the nearest of the page's four greys.
_TO_LEVEL = [min(255, round(v / 85) * 85) for v in range(256)]


@dataclasses.dataclass(frozen=True)
class Strip:
    """A line of text drawn on white, cropped to its ink; (left, top) is the ink's offset from the anchor point
    (the middle of the line's top), as ImageDraw.text(anchor="mt") would place it."""
    image: Image.Image  # mode "L", the page's four greys
    left: int
    top: int


def _text_strip(text: str, face: ImageFont.FreeTypeFont, grey: int = 0, anchor: str = "mt") -> Strip:
    left, top, right, bottom = face.getbbox(text, anchor=anchor)
    strip = Image.new("L", (max(1, right - left), max(1, bottom - top)), 255)
    ImageDraw.Draw(strip).text((-left, -top), text, font=face, fill=grey, anchor=anchor)
    return Strip(strip.point(_TO_LEVEL), left, top)


@functools.lru_cache(maxsize=1024)
def _glyph(char: str, face: ImageFont.FreeTypeFont) -> tuple[Strip, float]:
    """One character drawn at the pen position (anchor left-baseline), and its advance."""
    return _text_strip(char, face, anchor="ls"), face.getlength(char)


def _glyph_band(text: str, face: ImageFont.FreeTypeFont, centre: int, y: int, width: int) -> Band:
    """A line that changes with every poster (the unit code), set from cached glyphs rather than drawn anew;
    placed as text anchored at (centre, y) with anchor "mt"."""
    glyphs = [_glyph(char, face) for char in text]
    top = min(g.top for g, _ in glyphs)
    bottom = max(g.top + g.image.height for g, _ in glyphs)
    row = Image.new("L", (width, bottom - top), 255)
    pen = centre - sum(advance for _, advance in glyphs) / 2
    for glyph, advance in glyphs:
        row.paste(glyph.image, (round(pen) + glyph.left, glyph.top - top))
        pen += advance
    return Band(y + face.getbbox(text, anchor="mt")[1], row)


# Names repeat their first line across a district (铜山区·张集镇·梁堂村·…), so title lines are drawn once each.
@functools.lru_cache(maxsize=2048)
def _title_strip(line: str, px: int) -> Strip:
    return _text_strip(line, font(px))


@functools.lru_cache(maxsize=16)
def _fixed_band(kind: str, size: PageSize, y: int) -> Band:
    """The instruction (its height depends on the title) and the footer line, the same on every poster."""
    width = size.pixels[0]
    fonts = _fonts_for(size.name)
    strip = _text_strip(INSTRUCTION, fonts["instruction"]) if kind == "instruction" else \
        _text_strip(FOOTER, fonts["small"], grey=90)
    row = Image.new("L", (width, strip.image.height), 255)
    row.paste(strip.image, (width // 2 + strip.left, 0))
    return Band(y + strip.top, row, shared=True)


def _qr_band(url: str, above: int, below: int, side_px: int, width: int) -> Band:
    """The QR, centred across the page and between rows `above` and `below`; one image row per module row."""
    matrix = qr_matrix(url)
    n = len(matrix)
    box = max(1, side_px // n)
    modules = Image.frombytes("L", (n, n), bytes(0 if cell else 255 for row in matrix for cell in row))
    rows = Image.new("L", (width, n), 255)
    rows.paste(modules.resize((n * box, n), Image.NEAREST), ((width - n * box) // 2, 0))
    return Band(max(above, above + (below - above - n * box) // 2), rows, repeat=box)


def _image_band(image: Image.Image, above: int, below: int, side_px: int, width: int) -> Band:
    """A ready-made code image (a mini-program code) scaled to `side_px`, placed where the QR would be."""
    grey = image.convert("L").resize((side_px, side_px), Image.LANCZOS).point(_TO_LEVEL)
    rows = Image.new("L", (width, side_px), 255)
    rows.paste(grey, ((width - side_px) // 2, 0))
    return Band(max(above, above + (below - above - side_px) // 2), rows)


def poster_bands(full_name: str, unit_code: str, url: str, size: PageSize,
                 code_image: Image.Image | None = None) -> list[Band]:
    """The poster's bands, top to bottom. With `code_image` (a mini-program code) that image is printed in place of
    the QR for `url`. Raises `poster_name_too_long` (see layout)."""
    plan = _layout(full_name, size)
    width, height = size.pixels
    centre = width // 2
    fonts = _fonts_for(size.name)
    margin = mm_to_px(12)
    y = margin
    step = round(plan.title_px * 1.3)
    strips = []
    for line in plan.title_lines:
        strips.append((_title_strip(line, plan.title_px), y))
        y += step
    top = min(s.top + at for s, at in strips)
    title = Image.new("L", (width, max(s.top + at + s.image.height for s, at in strips) - top), 255)
    for strip, at in strips:
        title.paste(strip.image, (centre + strip.left, at + strip.top - top))
    bands = [Band(top, title)]
    y += mm_to_px(4)
    bands.append(_fixed_band("instruction", size, y))
    y += round(fonts["instruction"].size * 1.25) + mm_to_px(2)
    # Centre the QR in the space left between the instruction and the footer.
    small = fonts["small"]
    footer_top = height - margin - round(small.size * 2.6)
    if code_image is None:
        bands.append(_qr_band(url, y, footer_top, plan.qr_px, width))
    else:
        bands.append(_image_band(code_image, y, footer_top, plan.qr_px, width))
    bands.append(_glyph_band(f"单位代码 {unit_code}", small, centre, footer_top, width))
    bands.append(_fixed_band("footer", size, footer_top + round(small.size * 1.3)))
    return bands


def poster_stream(full_name: str, unit_code: str, url: str, size: PageSize,
                  code_image: Image.Image | None = None) -> bytes:
    """The poster's rows as one zlib stream of PNG scanlines (see pngstream.zlib_stream): a PNG's IDAT, and a PDF
    image with /Predictor 15. Raises `poster_name_too_long` (see layout)."""
    return zlib_stream(poster_bands(full_name, unit_code, url, size, code_image), *size.pixels)


def poster_png(full_name: str, unit_code: str, url: str, size: PageSize,
               code_image: Image.Image | None = None) -> bytes:
    """The poster as a 2-bit greyscale PNG, 150 dpi (see poster_bands)."""
    return png_file(*size.pixels, DPI, poster_stream(full_name, unit_code, url, size, code_image))


def poster_image(full_name: str, unit_code: str, url: str, size: PageSize) -> Image.Image:
    """The poster as a greyscale ("L") image, read back from its PNG."""
    with Image.open(io.BytesIO(poster_png(full_name, unit_code, url, size))) as image:
        return image.convert("L")


def poster_page(full_name: str, unit_code: str, url: str, size: PageSize) -> Image.Image:
    """The poster's bands pasted onto one Pillow page (mode "L"), for encoders that take a whole image."""
    return page_image(poster_bands(full_name, unit_code, url, size), *size.pixels)
