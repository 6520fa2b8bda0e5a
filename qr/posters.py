"""QR images and printable posters (A4, A5) for unit codes, drawn with qrcode + Pillow and the shipped CJK font.

The font is a subset of Noto Sans CJK SC (SIL Open Font License, see qr/fonts/), so Chinese renders on a
machine with no Chinese fonts installed.
"""

from __future__ import annotations

import dataclasses
import functools
import io
from pathlib import Path

import qrcode
from PIL import Image, ImageDraw, ImageFont
from qrcode.constants import ERROR_CORRECT_M

from models import DomainError

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

def qr_matrix(data: str) -> list[list[bool]]:
    """The QR modules for `data` (error correction M), quiet zone of 4 modules included."""
    code = qrcode.QRCode(error_correction=ERROR_CORRECT_M, border=4)
    code.add_data(data)
    code.make(fit=True)
    return code.get_matrix()


def qr_image(data: str, side_px: int) -> Image.Image:
    """A black-on-white QR of about `side_px` pixels, every module the same whole number of pixels."""
    return _render(qr_matrix(data), side_px=side_px)


def _render(matrix: list[list[bool]], *, box_px: int = 0, side_px: int = 0) -> Image.Image:
    n = len(matrix)
    box_px = box_px or max(1, side_px // n)
    small = Image.frombytes("L", (n, n), bytes(0 if cell else 255 for row in matrix for cell in row))
    return small.resize((n * box_px, n * box_px), Image.NEAREST)


def qr_png(data: str, box_px: int = 10) -> bytes:
    """The plain QR PNG for `data`: `box_px` pixels per module."""
    img = _render(qr_matrix(data), box_px=box_px)
    out = io.BytesIO()
    img.convert("1").save(out, "PNG", optimize=False)
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


def layout(full_name: str, size: PageSize) -> Layout:
    """Fit the unit's full name above the QR: shrink it to the minimum size, then wrap; never cut it off.

    Raises `poster_name_too_long` when even the smallest size cannot fit above a QR of the printed size.
    """
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


@functools.lru_cache(maxsize=4)
def _fonts_for(size_name: str) -> dict[str, ImageFont.FreeTypeFont]:
    size = SIZES[size_name]
    return {"instruction": font(round(size.title_px * 0.8)), "small": font(round(size.title_px * 0.42))}


def poster_image(full_name: str, unit_code: str, url: str, size: PageSize) -> Image.Image:
    """One poster page as a grayscale image at 150 dpi."""
    plan = layout(full_name, size)
    width, height = size.pixels
    page = Image.new("L", (width, height), 255)
    draw = ImageDraw.Draw(page)
    fonts = _fonts_for(size.name)
    margin = mm_to_px(12)
    y = margin
    title = font(plan.title_px)
    step = round(plan.title_px * 1.3)
    for line in plan.title_lines:
        draw.text((width / 2, y), line, font=title, fill=0, anchor="mt")
        y += step
    y += mm_to_px(4)
    draw.text((width / 2, y), INSTRUCTION, font=fonts["instruction"], fill=0, anchor="mt")
    y += round(fonts["instruction"].size * 1.25) + mm_to_px(2)
    qr = qr_image(url, plan.qr_px)
    # Centre the QR in the space left between the instruction and the footer.
    footer_top = height - margin - round(fonts["small"].size * 2.6)
    qr_top = max(y, y + (footer_top - y - qr.height) // 2)
    page.paste(qr, ((width - qr.width) // 2, qr_top))
    draw.text((width / 2, footer_top), f"单位代码 {unit_code}", font=fonts["small"], fill=0, anchor="mt")
    draw.text((width / 2, footer_top + round(fonts["small"].size * 1.3)), FOOTER, font=fonts["small"], fill=90,
              anchor="mt")
    return page


def poster_png(full_name: str, unit_code: str, url: str, size: PageSize) -> bytes:
    """The poster as PNG bytes (150 dpi)."""
    out = io.BytesIO()
    poster_image(full_name, unit_code, url, size).save(out, "PNG", dpi=(DPI, DPI), compress_level=1)
    return out.getvalue()
