"""Batch export of posters for a unit and everything below it: a ZIP of PNGs or one multi-page PDF.

Both are written poster by poster to a file object, so memory stays flat however many units there are. Large
exports render in a pool of worker processes (one per core), a bounded batch at a time, in order.
"""

from __future__ import annotations

import functools
import itertools
import multiprocessing
import os
import zipfile
from collections.abc import Callable, Iterable, Iterator
from typing import BinaryIO

from models import DomainError

from .posters import SIZES, PageSize, poster_png, poster_stream

Item = tuple[str, str, str]  # (full name, unit code, scan URL)
POOL_FROM = 200  # fewer posters than this render in the calling process: starting workers costs more
BATCH = 256  # posters handed to the pool at a time, so results never pile up in memory


def safe_name(text: str) -> str:
    return "".join(c if c.isalnum() or c in "-_·" else "_" for c in text)[:80]


def workers_for(count: int) -> int:
    """How many processes to render `count` posters with: one per core for a large export, else one."""
    return (os.cpu_count() or 1) if count >= POOL_FROM else 1


def _render(kind: str, size_name: str, item: Item) -> bytes | tuple[str, dict]:
    """One poster in a worker; a refusal comes back as (code, params) since exceptions lose them when pickled."""
    try:
        return (poster_png if kind == "png" else poster_stream)(*item, SIZES[size_name])
    except DomainError as exc:
        return exc.code, exc.params


def render_posters(items: Iterable[Item], size: PageSize, kind: str,
                   workers: int = 1) -> Iterator[tuple[Item, bytes]]:
    """Each item with its PNG file (kind "png") or PDF page stream (kind "stream"), in order."""
    render = functools.partial(_render, kind, size.name)
    if workers <= 1:
        for item in items:
            yield item, _checked(render(item))
        return
    with _pool_context().Pool(workers) as pool:
        items = iter(items)
        while batch := list(itertools.islice(items, BATCH)):
            results = pool.imap(render, batch, chunksize=max(1, len(batch) // (workers * 4)))
            for item, result in zip(batch, results, strict=True):
                yield item, _checked(result)


@functools.cache
def _pool_context() -> multiprocessing.context.BaseContext:
    """Workers forked from a clean server process that has already imported the poster code, not from the caller
    (which may hold threads and database connections a fork would copy); the server outlives one export, so the
    next pool starts at once."""
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(["qr.export"])
    return context


def _checked(result: bytes | tuple[str, dict]) -> bytes:
    if isinstance(result, tuple):
        code, params = result
        raise DomainError(code, **params)
    return result


def write_zip(out: BinaryIO, items: Iterable[Item], size: PageSize, progress: Callable[[int], None] | None = None,
              workers: int = 1) -> int:
    """Write one poster PNG per (full name, unit code, scan URL) into a ZIP; returns the number of posters."""
    count = 0
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_STORED) as archive:
        for (full_name, code, _), png in render_posters(items, size, "png", workers):
            archive.writestr(f"{safe_name(code)}-{safe_name(full_name)}-{size.name}.png", png)
            count += 1
            if progress:
                progress(1)
    return count


class PdfWriter:
    """A minimal PDF writer: one full-page 2-bit grey image per page, objects streamed as they come."""

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

    def add_page(self, stream: bytes) -> None:
        """A page showing the poster whose rows `stream` holds (see posters.poster_stream)."""
        width, height = self.size.pixels
        pw, ph = self.size.points
        image_id, content_id, page_id = self.next_id, self.next_id + 1, self.next_id + 2
        self.next_id += 3
        self._object(image_id, (f"<< /Type /XObject /Subtype /Image /Width {width} /Height {height} "
                                f"/ColorSpace /DeviceGray /BitsPerComponent 2 /Filter /FlateDecode "
                                f"/DecodeParms << /Predictor 15 /Colors 1 /BitsPerComponent 2 /Columns {width} >> "
                                f"/Length {len(stream)} >>").encode(), stream)
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


def write_pdf(out: BinaryIO, items: Iterable[Item], size: PageSize, progress: Callable[[int], None] | None = None,
              workers: int = 1) -> int:
    """Write one poster page per (full name, unit code, scan URL) into one PDF; returns the number of pages."""
    writer = PdfWriter(out, size)
    for _, stream in render_posters(items, size, "stream", workers):
        writer.add_page(stream)
        if progress:
            progress(1)
    writer.close()
    return len(writer.pages)


__all__ = ["PdfWriter", "render_posters", "safe_name", "workers_for", "write_pdf", "write_zip"]
