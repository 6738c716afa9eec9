"""Headless Chromium (Debian's package) driven by Playwright; nothing downloads a browser.

`chromium_page()` skips the test with the reason when no browser can start,
unless VIDVEC_TEST_REQUIRE_BROWSER=1 (`make test` sets it after installing
chromium), where that is a failure instead.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from contextlib import contextmanager

import pytest

CHROMIUM = os.environ.get("VIDVEC_TEST_CHROMIUM", "/usr/bin/chromium")
# Without the background-networking flags Chromium's own connections are refused by a closed network.
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage"]


def _unavailable(reason: str):
    if os.environ.get("VIDVEC_TEST_REQUIRE_BROWSER") == "1":
        pytest.fail(f"the browser test must run here but cannot: {reason}")
    pytest.skip(reason)


@contextmanager
def chromium_page(width: int = 1400, height: int = 1000):
    """A Playwright page in a fresh headless Chromium profile."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable("playwright is not installed (pip install -r requirements-dev.txt)")
    if not shutil.which(CHROMIUM):
        _unavailable(f"no Chromium at {CHROMIUM} (apt-get install chromium, or set VIDVEC_TEST_CHROMIUM)")
    profile = tempfile.mkdtemp(prefix="vidvec-chromium-")
    with sync_playwright() as p:
        try:
            context = p.chromium.launch_persistent_context(
                profile, executable_path=CHROMIUM, headless=True, args=FLAGS,
                viewport={"width": width, "height": height})
        except Exception as exc:  # a browser that cannot start says why
            _unavailable(f"Chromium at {CHROMIUM} did not start: {str(exc).splitlines()[0]}")
        try:
            yield context.new_page()
        finally:
            context.close()
            shutil.rmtree(profile, ignore_errors=True)
