"""Poster rendering for a whole district: posters per second next to plain QR PNGs, and peak memory.

    /tmp/venv/bin/python bench/posters.py [--small] [--count N]

Prints plain QR PNGs/s (the baseline, same run), A4 posters/s in one process and with one process per core,
the poster:QR ratio, and the process's peak RSS after the first 1,000 posters and after all of them (streamed
into a PDF on disk, as `xinma qr export` does).
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import resource
import secrets
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from qr.export import PdfWriter  # noqa: E402
from qr.posters import SIZES, poster_image, poster_png, qr_png  # noqa: E402

NAMES = ["铜山区·张集镇·梁堂村·梁堂村第{}网格", "铜山区·三堡街道·彭城社区·彭城社区第{}网格", "铜山区·柳泉镇·北庄村"]


def items(count: int):
    for i in range(count):
        yield NAMES[i % 3].format(i % 9 + 1), f"320312{i:06d}", f"https://xinma.example.cn/q/{secrets.token_urlsafe(16)}"


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _poster(item):
    return len(poster_png(*item, SIZES["A4"]))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--small", action="store_true", help="1,000 units instead of 10,000")
    parser.add_argument("--count", type=int)
    args = parser.parse_args()
    count = args.count or (1000 if args.small else 10_000)
    cores = os.cpu_count() or 1
    work = list(items(count))

    start = time.perf_counter()
    for _, _, url in work:
        qr_png(url)
    qr_rate = count / (time.perf_counter() - start)

    start = time.perf_counter()
    rss_at_1k = None
    with tempfile.TemporaryFile() as out:
        writer = PdfWriter(out, SIZES["A4"])
        for i, item in enumerate(work, 1):
            writer.add_page(poster_image(*item, SIZES["A4"]))
            if i == min(1000, count):
                rss_at_1k = peak_rss_mb()
        writer.close()
        pdf_mb = out.tell() / 1e6
    pdf_rate = count / (time.perf_counter() - start)
    rss_end = peak_rss_mb()

    start = time.perf_counter()
    for item in work[: min(count, 2000)]:
        poster_png(*item, SIZES["A4"])
    png_rate = min(count, 2000) / (time.perf_counter() - start)

    start = time.perf_counter()
    with multiprocessing.get_context("fork").Pool(cores) as pool:
        sum(pool.imap_unordered(_poster, work, chunksize=50))
    pool_rate = count / (time.perf_counter() - start)

    print(f"units: {count}, cores: {cores}")
    print(f"plain QR PNG (baseline):        {qr_rate:8.1f} /s")
    print(f"A4 poster PNG, 1 process:       {png_rate:8.1f} /s   ratio to QR PNG {png_rate / qr_rate:.2f}")
    print(f"A4 poster into PDF, 1 process:  {pdf_rate:8.1f} /s   ratio to QR PNG {pdf_rate / qr_rate:.2f}"
          f"   ({pdf_mb:.0f} MB PDF)")
    print(f"A4 poster PNG, {cores} processes:     {pool_rate:8.1f} /s   ratio to 1-process QR PNG "
          f"{pool_rate / qr_rate:.2f}")
    print(f"peak RSS after 1,000 posters: {rss_at_1k:.0f} MB; after {count:,}: {rss_end:.0f} MB "
          f"(ratio {rss_end / rss_at_1k:.2f})")


if __name__ == "__main__":
    main()
