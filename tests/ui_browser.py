"""A headless Chromium driven through its chromedriver (Debian's ``chromium`` and ``chromium-driver``,
which ``.ci/run`` installs) by selenium, for the DAG page's tests and its bench; and where screenshots go."""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

import pytest

NO_BROWSER = (
    "no {what}: the DAG page's browser tests need Debian's chromium and chromium-driver "
    "(.ci/run installs them: apt-get install --no-install-recommends chromium chromium-driver)"
)
NO_SELENIUM = "selenium is not installed: pip install -e '.[test]'"


def chromium() -> Any:
    """A headless Chromium, or skip the test saying what is missing."""
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
    except ImportError:
        pytest.skip(NO_SELENIUM)
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    driver = shutil.which("chromedriver")
    if browser is None:
        pytest.skip(NO_BROWSER.format(what="chromium on PATH"))
    if driver is None:
        pytest.skip(NO_BROWSER.format(what="chromedriver on PATH"))
    options = webdriver.ChromeOptions()
    options.binary_location = browser
    for flag in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--window-size=1400,1000",
        "--disable-extensions",
        "--no-first-run",
    ):
        options.add_argument(flag)
    return webdriver.Chrome(options=options, service=Service(driver))


def artefacts(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where screenshots go: ``$KJOB_TEST_ARTEFACTS/ui`` when set, else a pytest temporary directory."""
    root = os.environ.get("KJOB_TEST_ARTEFACTS")
    if root:
        path = Path(root) / "ui"
        path.mkdir(parents=True, exist_ok=True)
        return path
    return tmp_path_factory.mktemp("ui-screenshots")


def screenshot(driver: Any, folder: Path, name: str) -> Path:
    path = folder / f"{name}.png"
    driver.save_screenshot(str(path))
    print(f"screenshot: {path}")
    return path


BOXES_JS = """
return Array.from(document.querySelectorAll('#dag g.node')).map(g => [
  g.getAttribute('data-node'),
  (Array.from(g.classList).find(c => c.startsWith('st-')) || '').slice(3),
  getComputedStyle(g.querySelector('rect')).fill,
  g.querySelector('.detail').textContent,
]);
"""


def boxes(driver: Any) -> dict[str, tuple[str, str, str]]:
    """Each box of the page's DAG: ``id -> (state, computed fill, detail line)``."""
    return {row[0]: (row[1], row[2], row[3]) for row in driver.execute_script(BOXES_JS)}


def rgb(colour: str) -> str:
    """``#86efac`` as a browser's computed style spells it: ``rgb(134, 239, 172)``."""
    r, g, b = (int(colour[i : i + 2], 16) for i in (1, 3, 5))
    return f"rgb({r}, {g}, {b})"
