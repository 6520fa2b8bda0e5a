"""Posters for a whole district: posters per second next to plain QR PNGs made in the same run, and peak memory.

    .venv/bin/python bench/posters.py [--count 10000] [--workers N] [--rss-counts 1000,3000]

Every path runs with the same number of worker processes (default: one per core) and streams its files into an
archive on disk, as `xinma qr export` does; the paths take turns on slices of --round units:
  - qrcode's standard `qrcode.make(url).save(buf, "PNG")` (on the first 2,000 URLs at most: it is slow),
  - the project's plain QR PNG (`qr.posters.qr_png`), the baseline the poster target is measured against,
  - A4 posters into a ZIP of PNGs and into one PDF (`qr.export.write_zip`, `write_pdf`): the project's encoders
    (qr/pngstream.py, qr.export.PdfWriter),
  - the same posters through the libraries instead: the page composed by Pillow (`qr.posters.poster_page`) and saved
    by Pillow's PNG encoder, into a ZIP, and those PNGs into one PDF by img2pdf.
Then each PDF export again in a fresh process for each of the --rss-counts and the full count, printing the
peak RSS of the exporting process and of the largest worker: flat memory means these do not grow with count.
"""

from __future__ import annotations

import argparse
import io
import itertools
import os
import secrets
import subprocess
import sys
import tempfile
import threading
import time
import zipfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import qrcode  # noqa: E402

from qr.export import BATCH, _pool_context, write_pdf, write_zip  # noqa: E402
from qr.posters import DPI, SIZES, poster_page, qr_png  # noqa: E402

NAMES = ["铜山区·张集镇·梁堂村·梁堂村第{}网格", "铜山区·三堡街道·彭城社区·彭城社区第{}网格", "铜山区·柳泉镇·北庄村"]
PUBLIC = "https://xinma.example.cn"


def items(count: int) -> list[tuple[str, str, str]]:
    return [(NAMES[i % 3].format(i % 9 + 1), f"320312{i:06d}", f"{PUBLIC}/q/{secrets.token_urlsafe(16)}")
            for i in range(count)]


def peak_rss_mb(pid: int | str = "self") -> float:
    """The process's peak RSS (VmHWM). Not getrusage's ru_maxrss: Linux carries that over an exec from the process
    forked to run it, so a child of this (large) benchmark would report the benchmark's own size."""
    for line in (Path("/proc") / str(pid) / "status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def qrcode_standard(url: str) -> bytes:
    out = io.BytesIO()
    qrcode.make(url).save(out, "PNG")
    return out.getvalue()


def library_png(item: tuple[str, str, str]) -> bytes:
    """An A4 poster composed on one Pillow page and saved by Pillow (2-bit grey, its fastest compression level)."""
    out = io.BytesIO()
    poster_page(*item, SIZES["A4"]).save(out, "PNG", bits=2, compress_level=1, dpi=(DPI, DPI))
    return out.getvalue()


def pooled(work: list, render, workers: int):
    """render(x) for each x, in order, through a pool fed in bounded batches exactly as the poster export is."""
    with _pool_context().Pool(workers) as pool:
        left = iter(work)
        while batch := list(itertools.islice(left, BATCH)):
            yield from pool.imap(render, batch, chunksize=max(1, len(batch) // (workers * 4)))


def to_zip(out, work: list, render, workers: int) -> None:
    with zipfile.ZipFile(out, "w") as archive:
        for n, png in enumerate(pooled(work, render, workers)):
            archive.writestr(f"{n}.png", png)


def library_pdf(out, part: list, workers: int) -> None:
    """Pillow's poster PNGs into one PDF by img2pdf (it copies each PNG's data as the page image, like PdfWriter,
    but holds the whole document until it writes it)."""
    import img2pdf  # only here, so the project's exports are measured without it loaded

    img2pdf.convert(list(pooled(part, library_png, workers)), outputstream=out,
                    layout_fun=img2pdf.get_fixed_dpi_layout_fun((DPI, DPI)))


def _descendants_peak_mb(peaks: dict[int, float], stop: threading.Event) -> None:
    """Record the peak RSS (VmHWM) of every process below this one: pool workers fork from a forkserver, so they
    are grandchildren and RUSAGE_CHILDREN never sees them."""
    me = os.getpid()
    while not stop.wait(0.2):
        parents = {}
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit():
                try:
                    parents[int(entry.name)] = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
                except (OSError, IndexError, ValueError):
                    continue
        below, grew = {me}, True
        while grew:
            new = {pid for pid, parent in parents.items() if parent in below} - below
            below |= new
            grew = bool(new)
        for pid in below - {me}:
            try:
                peaks[pid] = max(peaks.get(pid, 0.0), peak_rss_mb(pid))
            except OSError:
                continue


def rss_only(count: int, workers: int, library: bool) -> None:
    """Child mode: export `count` A4 posters into a PDF on disk (with `library`, by Pillow and img2pdf); print the
    peak RSS of self and largest worker."""
    peaks: dict[int, float] = {}
    stop = threading.Event()
    watcher = threading.Thread(target=_descendants_peak_mb, args=(peaks, stop))
    watcher.start()
    try:
        with tempfile.TemporaryDirectory() as tmp, open(Path(tmp) / "p.pdf", "wb") as out:
            if library:
                library_pdf(out, items(count), workers)
            else:
                write_pdf(out, items(count), SIZES["A4"], workers=workers)
    finally:
        stop.set()
        watcher.join()
    print(f"{peak_rss_mb():.1f} {max(peaks.values(), default=0.0):.1f}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--count", type=int, default=10_000)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--round", type=int, default=2000, help="units per turn of each path")
    parser.add_argument("--rss-counts", default="1000,3000", help="smaller counts to show peak memory is flat")
    parser.add_argument("--rss-only", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--rss-library", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.rss_only:
        rss_only(args.rss_only, args.workers, args.rss_library)
        return
    count, workers = args.count, args.workers
    work = items(count)
    print(f"units: {count}, worker processes: {workers} (cores: {os.cpu_count()}), "
          f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}", flush=True)
    # The paths take turns on slices of the district, so a change in the machine's load (it is shared) falls on
    # all of them alike; each turn starts its own pool, as an export does.
    rounds = max(1, -(-count // args.round))
    spent = dict.fromkeys(("std", "plain", "zip", "pdf", "libzip", "libpdf"), 0.0)
    done = dict.fromkeys(spent, 0)
    sizes = dict.fromkeys(spent, 0)
    std_total = min(count, 2000)
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        for r in range(rounds):
            part = work[r * args.round:(r + 1) * args.round]
            urls = [url for _, _, url in part]
            std_urls = urls[:max(0, min(len(urls), std_total - done["std"]))]
            runs = {
                "std": lambda out, urls=std_urls: to_zip(out, urls, qrcode_standard, workers),
                "plain": lambda out, urls=urls: to_zip(out, urls, qr_png, workers),
                "zip": lambda out, part=part: write_zip(out, part, SIZES["A4"], workers=workers),
                "pdf": lambda out, part=part: write_pdf(out, part, SIZES["A4"], workers=workers),
                "libzip": lambda out, part=part: to_zip(out, part, library_png, workers),
                "libpdf": lambda out, part=part: library_pdf(out, part, workers),
            }
            for key, run in runs.items():
                n = len(std_urls) if key == "std" else len(part)
                if not n:
                    continue
                with open(tmp / f"out.{key}", "wb") as out:
                    start = time.perf_counter()
                    run(out)
                    spent[key] += time.perf_counter() - start
                    sizes[key] += out.tell()
                done[key] += n
            print(f"round {r + 1}/{rounds}: " + ", ".join(f"{k} {done[k] / spent[k]:.1f}/s" for k in spent
                                                          if spent[k]), flush=True)
    rate = {k: done[k] / spent[k] for k in spent}
    print(f"qrcode.make(url).save(PNG)                {done['std']:6d} in {spent['std']:6.1f} s = "
          f"{rate['std']:7.1f} /s")
    print(f"project plain QR PNG (qr_png)             {done['plain']:6d} in {spent['plain']:6.1f} s = "
          f"{rate['plain']:7.1f} /s")
    print(f"A4 posters, ZIP of PNGs                   {done['zip']:6d} in {spent['zip']:6.1f} s = {rate['zip']:7.1f} /s"
          f"   ({sizes['zip'] / 1e6:.0f} MB)")
    print(f"A4 posters, one PDF                       {done['pdf']:6d} in {spent['pdf']:6.1f} s = {rate['pdf']:7.1f} /s"
          f"   (PDFs of {args.round} pages)")
    print(f"A4 posters by Pillow, ZIP of PNGs         {done['libzip']:6d} in {spent['libzip']:6.1f} s = "
          f"{rate['libzip']:7.1f} /s   ({sizes['libzip'] / 1e6:.0f} MB)")
    print(f"A4 posters by Pillow + img2pdf, one PDF   {done['libpdf']:6d} in {spent['libpdf']:6.1f} s = "
          f"{rate['libpdf']:7.1f} /s   (PDFs of {args.round} pages)")
    plain, std = rate["plain"], rate["std"]
    for label, zipped, pdf in (("", rate["zip"], rate["pdf"]), (" by the libraries", rate["libzip"], rate["libpdf"])):
        print(f"ratio posters{label}/plain QR (project's qr_png):  ZIP {zipped / plain:.2f}, PDF {pdf / plain:.2f}   "
              f"(target >= 0.5)")
        print(f"ratio posters{label}/qrcode.make:                  ZIP {zipped / std:.2f}, PDF {pdf / std:.2f}")
        print(f"posters{label} per second overall:                 ZIP {zipped:.0f}, PDF {pdf:.0f}   (target >= 100)")
    counts = sorted({int(c) for c in args.rss_counts.split(",") if c} | {count})
    for library in (False, True):
        for n in counts:
            out = subprocess.run([sys.executable, __file__, "--rss-only", str(n), "--workers", str(workers),
                                  *(["--rss-library"] if library else [])],
                                 check=True, capture_output=True, text=True).stdout.split()
            print(f"peak RSS exporting {n:6d} posters to PDF{' by Pillow + img2pdf' if library else ''}: "
                  f"exporting process {out[0]} MB, largest worker or forkserver {out[1]} MB", flush=True)
    print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
