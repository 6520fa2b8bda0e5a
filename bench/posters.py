"""Posters for a whole district: posters per second next to plain QR PNGs made in the same run, and peak memory.

    /tmp/venv/bin/python bench/posters.py [--count 10000] [--workers N] [--rss-counts 1000,3000]

Every path runs with the same number of worker processes (default: one per core) and streams its files into an
archive on disk, as `xinma qr export` does:
  - qrcode's standard `qrcode.make(url).save(buf, "PNG")` (on the first 2,000 URLs at most: it is slow),
  - the project's plain QR PNG (`qr.posters.qr_png`), the baseline the poster target is measured against,
  - A4 posters into a ZIP of PNGs and into one PDF (`qr.export.write_zip`, `write_pdf`).
Then the PDF export again in a fresh process for each of the --rss-counts and the full count, printing the
peak RSS of the exporting process and of the largest worker: flat memory means these do not grow with count.
"""

from __future__ import annotations

import argparse
import io
import itertools
import multiprocessing
import os
import resource
import secrets
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import qrcode  # noqa: E402

from qr.export import BATCH, write_pdf, write_zip  # noqa: E402
from qr.posters import SIZES, qr_png  # noqa: E402

NAMES = ["铜山区·张集镇·梁堂村·梁堂村第{}网格", "铜山区·三堡街道·彭城社区·彭城社区第{}网格", "铜山区·柳泉镇·北庄村"]
PUBLIC = "https://xinma.example.cn"


def items(count: int) -> list[tuple[str, str, str]]:
    return [(NAMES[i % 3].format(i % 9 + 1), f"320312{i:06d}", f"{PUBLIC}/q/{secrets.token_urlsafe(16)}")
            for i in range(count)]


def peak_rss_mb(who: int = resource.RUSAGE_SELF) -> float:
    return resource.getrusage(who).ru_maxrss / 1024


def qrcode_standard(url: str) -> bytes:
    out = io.BytesIO()
    qrcode.make(url).save(out, "PNG")
    return out.getvalue()


def plain_zip(path: Path, urls: list[str], render, workers: int) -> None:
    """QR PNGs into a ZIP on disk, through a pool fed in bounded batches exactly as the poster export is."""
    with zipfile.ZipFile(path, "w") as archive, multiprocessing.get_context("spawn").Pool(workers) as pool:
        urls_left = iter(urls)
        n = 0
        while batch := list(itertools.islice(urls_left, BATCH)):
            for png in pool.imap(render, batch, chunksize=max(1, len(batch) // (workers * 4))):
                archive.writestr(f"{n}.png", png)
                n += 1


def timed(label: str, count: int, run) -> float:
    start = time.perf_counter()
    run()
    rate = count / (time.perf_counter() - start)
    print(f"{label:42s} {count:6d} in {count / rate:6.1f} s = {rate:7.1f} /s", flush=True)
    return rate


def rss_only(count: int, workers: int) -> None:
    """Child mode: export `count` A4 posters into a PDF on disk; print the peak RSS of self and largest worker."""
    with tempfile.TemporaryDirectory() as tmp, open(Path(tmp) / "p.pdf", "wb") as out:
        write_pdf(out, items(count), SIZES["A4"], workers=workers)
    print(f"{peak_rss_mb():.1f} {peak_rss_mb(resource.RUSAGE_CHILDREN):.1f}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--count", type=int, default=10_000)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--rss-counts", default="1000,3000", help="smaller counts to show peak memory is flat")
    parser.add_argument("--rss-only", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.rss_only:
        rss_only(args.rss_only, args.workers)
        return
    count, workers = args.count, args.workers
    work = items(count)
    urls = [url for _, _, url in work]
    print(f"units: {count}, worker processes: {workers} (cores: {os.cpu_count()}), "
          f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}", flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        std_count = min(count, 2000)
        std = timed("qrcode.make(url).save(PNG)", std_count,
                    lambda: plain_zip(tmp / "std.zip", urls[:std_count], qrcode_standard, workers))
        plain = timed("project plain QR PNG (qr_png)", count,
                      lambda: plain_zip(tmp / "qr.zip", urls, qr_png, workers))
        with open(tmp / "posters.zip", "wb") as out:
            zipped = timed("A4 posters, ZIP of PNGs", count, lambda: write_zip(out, work, SIZES["A4"], workers=workers))
        with open(tmp / "posters.pdf", "wb") as out:
            pdf = timed("A4 posters, one PDF", count, lambda: write_pdf(out, work, SIZES["A4"], workers=workers))
        pdf_mb = (tmp / "posters.pdf").stat().st_size / 1e6
        zip_mb = (tmp / "posters.zip").stat().st_size / 1e6
    print(f"ZIP {zip_mb:.0f} MB, PDF {pdf_mb:.0f} MB")
    print(f"ratio posters/plain QR (project's qr_png):  ZIP {zipped / plain:.2f}, PDF {pdf / plain:.2f}   "
          f"(target >= 0.5)")
    print(f"ratio posters/qrcode.make:                  ZIP {zipped / std:.2f}, PDF {pdf / std:.2f}")
    print(f"posters per second overall:                 ZIP {zipped:.0f}, PDF {pdf:.0f}   (target >= 100)")
    counts = sorted({int(c) for c in args.rss_counts.split(",") if c} | {count})
    for n in counts:
        out = subprocess.run([sys.executable, __file__, "--rss-only", str(n), "--workers", str(workers)],
                             check=True, capture_output=True, text=True).stdout.split()
        print(f"peak RSS exporting {n:6d} posters to PDF: exporting process {out[0]} MB, largest worker {out[1]} MB",
              flush=True)
    print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
