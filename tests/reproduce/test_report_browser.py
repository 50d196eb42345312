"""The generated report in a real browser: headless Chromium (Debian's chromium + chromium-driver) via Selenium.

Never skipped: without Chromium, its driver or Selenium the test fails and says
what to install (scripts/test.sh installs all three).
"""

import shutil
from pathlib import Path

import pytest

CHROMIUM_FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-dev-shm-usage")


def _binary(*names):
    for name in names:
        found = shutil.which(name)
        if found:
            return found
    return None


@pytest.fixture
def browser(tmp_path):
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
    except ImportError:
        pytest.fail("selenium is required for the report test: python3 -m pip install -e '.[test]'", pytrace=False)
    chromium = _binary("chromium", "chromium-browser")
    driver_path = _binary("chromedriver")
    if not chromium or not driver_path:
        pytest.fail("headless Chromium is required for the report test: apt-get install chromium chromium-driver "
                    f"(found chromium={chromium}, chromedriver={driver_path})", pytrace=False)
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for flag in CHROMIUM_FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={tmp_path / 'chromium-profile'}")  # fresh profile
    options.add_argument("--window-size=1280,1000")
    # An explicit driver path: Selenium Manager (which would download drivers) is not used.
    driver = webdriver.Chrome(service=Service(executable_path=driver_path), options=options)
    driver.set_page_load_timeout(60)
    try:
        yield driver
    finally:
        driver.quit()


def test_every_figure_loads_and_the_claims_table_is_there(tiny_run, browser, tmp_path):
    out, _, _ = tiny_run
    report = Path(out) / "report.html"
    browser.get(report.resolve().as_uri())
    assert "lumicare reproduce" in browser.title
    images = browser.execute_script(
        "return Array.from(document.images).map(i => [i.complete, i.naturalWidth, i.naturalHeight, i.alt]);")
    assert len(images) == 6, images  # panels, readout, artefacts for 1c and 2a
    for complete, width, height, alt in images:
        assert complete and width > 0 and height > 0, f"figure did not load: {alt}"
    rows = browser.execute_script(
        "const t = document.getElementById('claims');"
        "return t ? Array.from(t.tBodies[0].rows).map(r => Array.from(r.cells).map(c => c.innerText)) : null;")
    assert rows is not None, "no claims table"
    assert [r[0] for r in rows] == ["1a", "1b", "1c", "2a", "2b"]
    for r in rows:
        assert r[-1].strip() in ("met", "partly met", "not met", "not tested")
        assert r[3] and r[4]  # rule and measured value shown
    # a screenshot, so that a person can look at what the browser showed
    assert browser.save_screenshot(str(tmp_path / "report.png"))
