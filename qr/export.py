"""Batch export of posters for a unit and everything below it: a ZIP of PNGs or one multi-page PDF.

Both are written page by page to a file object, so memory stays flat however many units there are.
"""

from __future__ import annotations

import zipfile
import zlib
from collections.abc import Callable, Iterable
from typing import BinaryIO

from .posters import DPI, PageSize, poster_image, poster_png


def safe_name(text: str) -> str:
    return "".join(c if c.isalnum() or c in "-_·" else "_" for c in text)[:80]


def write_zip(out: BinaryIO, items: Iterable[tuple[str, str, str]], size: PageSize,
              progress: Callable[[int], None] | None = None) -> int:
    """Write one poster PNG per (full name, unit code, scan URL) into a ZIP; returns the number of posters."""
    count = 0
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_STORED) as archive:
        for full_name, code, url in items:
            archive.writestr(f"{safe_name(code)}-{safe_name(full_name)}-{size.name}.png",
                             poster_png(full_name, code, url, size))
            count += 1
            if progress:
                progress(1)
    return count


class PdfWriter:
    """A minimal PDF writer: one full-page grayscale image per page, objects streamed as they come."""

    def __init__(self, out: BinaryIO, size: PageSize) -> None:
        self.out = out
        self.size = size
        self.offsets: dict[int, int] = {}
        self.pages: list[int] = []
        self.pos = 0
        self._write(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
        # Objects 1 and 2 (catalog, page tree) are written last; pages start at 3.
        self.next_id = 3

    def _write(self, data: bytes) -> None:
        self.out.write(data)
        self.pos += len(data)

    def _object(self, obj_id: int, body: bytes, stream: bytes | None = None) -> None:
        self.offsets[obj_id] = self.pos
        self._write(f"{obj_id} 0 obj\n".encode() + body)
        if stream is not None:
            self._write(b"\nstream\n" + stream + b"\nendstream")
        self._write(b"\nendobj\n")

    def add_page(self, image) -> None:
        width, height = image.size
        pw, ph = self.size.points
        image_id, content_id, page_id = self.next_id, self.next_id + 1, self.next_id + 2
        self.next_id += 3
        data = zlib.compress(image.tobytes(), 1)
        self._object(image_id, (f"<< /Type /XObject /Subtype /Image /Width {width} /Height {height} "
                                f"/ColorSpace /DeviceGray /BitsPerComponent 8 /Filter /FlateDecode "
                                f"/Length {len(data)} >>").encode(), data)
        content = f"q {pw:.2f} 0 0 {ph:.2f} 0 0 cm /Im0 Do Q".encode()
        self._object(content_id, f"<< /Length {len(content)} >>".encode(), content)
        self._object(page_id, (f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 {pw:.2f} {ph:.2f}] "
                               f"/Resources << /XObject << /Im0 {image_id} 0 R >> >> "
                               f"/Contents {content_id} 0 R >>").encode())
        self.pages.append(page_id)

    def close(self) -> None:
        kids = " ".join(f"{p} 0 R" for p in self.pages)
        self._object(2, f"<< /Type /Pages /Kids [{kids}] /Count {len(self.pages)} >>".encode())
        self._object(1, b"<< /Type /Catalog /Pages 2 0 R >>")
        xref = self.pos
        total = self.next_id
        lines = [f"xref\n0 {total}\n", "0000000000 65535 f \n"]
        lines += [f"{self.offsets.get(i, 0):010d} 00000 n \n" for i in range(1, total)]
        lines.append(f"trailer\n<< /Size {total} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n")
        self._write("".join(lines).encode())


def write_pdf(out: BinaryIO, items: Iterable[tuple[str, str, str]], size: PageSize,
              progress: Callable[[int], None] | None = None) -> int:
    """Write one poster page per (full name, unit code, scan URL) into one PDF; returns the number of pages."""
    writer = PdfWriter(out, size)
    for full_name, code, url in items:
        writer.add_page(poster_image(full_name, code, url, size))
        if progress:
            progress(1)
    writer.close()
    return len(writer.pages)


__all__ = ["DPI", "PdfWriter", "safe_name", "write_pdf", "write_zip"]
