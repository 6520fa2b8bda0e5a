"""Shared browser helpers: headless Chromium through Playwright, at a phone's size, and a few page checks.

Playwright cannot download its own browser here; it drives the system Chromium (Debian's /usr/bin/chromium).
"""

from __future__ import annotations

import os
from pathlib import Path

from tests.conftest import ARTIFACTS, needs

CHROMIUM = os.environ.get("XINMA_TEST_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
PHONE = {"viewport": {"width": 375, "height": 812}, "is_mobile": True, "has_touch": True, "device_scale_factor": 2,
         "locale": "zh-CN", "timezone_id": "Asia/Shanghai"}


def launch(playwright):
    """Headless Chromium from the system (skipped, or failed under CI=1, when it is missing)."""
    if not Path(CHROMIUM).exists():
        needs(f"no Chromium at {CHROMIUM} (apt-get install chromium, or set XINMA_TEST_CHROMIUM)")
    return playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)


def sync_playwright():
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        needs("the playwright Python package is not installed (pip install playwright)")
    return sync_playwright()


def new_phone(browser, **options):
    context = browser.new_context(**dict(PHONE, **options))
    context.set_default_timeout(10_000)
    return context


def screenshot(page, name: str) -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / name
    page.screenshot(path=str(path), full_page=True)
    return path


def scroll_width(page) -> int:
    """How wide the document is; more than the viewport means the page scrolls sideways."""
    return page.evaluate("document.documentElement.scrollWidth")


def assert_fits_phone(page, width: int = 375) -> None:
    assert scroll_width(page) <= width, f"{page.url} scrolls sideways: {scroll_width(page)}px wide at {width}px"
