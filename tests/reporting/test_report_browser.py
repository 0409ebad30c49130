"""The HTML report in headless Chromium: it renders, the example filter works, the console
stays clean, and an explanation holding ``<script>`` is shown as text, never run.

The report is of a real run folder: a tiny student trained by ``rdistill train`` on the
toy e-SNLI file (one explanation then replaced by an attack string). Set
``RDISTILL_REPORT_RUN=/path/to/run`` to check a full-size run as well.
Needs Debian's ``chromium`` and ``chromium-driver`` and the ``selenium`` client;
skips cleanly without them.
"""

from __future__ import annotations

import importlib.util
import json
import os
from pathlib import Path

import pytest

from rdistill.cli import main

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
ATTACK = '<script>window.__pwned = 1</script><img src=x onerror="window.__pwned = 2">'

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not (CHROMIUM.exists() and CHROMEDRIVER.exists()),
                       reason="needs /usr/bin/chromium and /usr/bin/chromedriver "
                              "(apt-get install chromium chromium-driver)"),
    pytest.mark.skipif(importlib.util.find_spec("selenium") is None,
                       reason="needs the selenium client (pip install selenium)"),
]


@pytest.fixture
def driver(tmp_path):
    # Selenium Manager must not try to download a driver: the paths are given, we are offline.
    os.environ["SE_OFFLINE"] = "true"
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run",
                 "--disable-dev-shm-usage", "--window-size=1400,1000",
                 f"--user-data-dir={tmp_path / 'chromium-profile'}"):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    browser = webdriver.Chrome(options=options, service=Service(str(CHROMEDRIVER)))
    yield browser
    browser.quit()


@pytest.fixture
def trained_run(train_toy_run):
    run = train_toy_run(max_steps=6)
    predictions = run / "eval" / "metrics.predictions.jsonl"
    records = [json.loads(line) for line in predictions.read_text().splitlines()]
    records[0]["pred_explanation"] = ATTACK
    predictions.write_text("".join(json.dumps(r) + "\n" for r in records))
    return run


def _visible_rows(browser) -> list:
    return browser.execute_script(
        "return Array.from(document.querySelectorAll('#examples tbody tr'))"
        ".filter(r => !r.hidden).map(r => r.textContent.toLowerCase());")


def _type_filter(browser, text: str) -> None:
    from selenium.webdriver.common.by import By

    box = browser.find_element(By.ID, "example-filter")
    box.clear()
    box.send_keys(text)


def _check_filter_semantics(browser, words: list[str]) -> None:
    """Shown rows contain every word; hidden rows miss at least one."""
    state = browser.execute_script(
        "return Array.from(document.querySelectorAll('#examples tbody tr'))"
        ".map(r => [r.hidden, r.textContent.toLowerCase()]);")
    for hidden, text in state:
        assert hidden == (not all(w in text for w in words)), (hidden, text[:200])


def _severe(browser) -> list:
    return [entry for entry in browser.get_log("browser") if entry["level"] == "SEVERE"]


def _report(run: Path, out: Path) -> Path:
    assert main(["--quiet", "report", str(run), "--output", str(out)]) == 0
    return out


def test_report_of_a_trained_run_in_chromium(driver, trained_run, tmp_path):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    records = [json.loads(line) for line in
               (trained_run / "eval" / "metrics.predictions.jsonl").read_text().splitlines()]
    page = _report(trained_run, tmp_path / "report.html")
    driver.get(page.as_uri())
    assert driver.title == "rdistill report: toy"

    shot = tmp_path / "report.png"
    assert driver.save_screenshot(str(shot))
    from PIL import Image

    with Image.open(shot) as image:
        assert image.size[0] >= 1000
        assert len(set(image.convert("L").getdata())) > 10  # not a blank page

    assert len(_visible_rows(driver)) == len(records)
    count = driver.find_element(By.ID, "example-count")
    assert count.text == f"{len(records)} of {len(records)} examples shown"

    # The attack string is displayed as text and never executed.
    _type_filter(driver, "__pwned")
    rows = driver.find_elements(By.CSS_SELECTOR, "#examples tbody tr:not([hidden])")
    assert len(rows) == 1
    assert rows[0].find_element(By.CSS_SELECTOR, "td.explanation").text == ATTACK
    assert driver.execute_script("return window.__pwned") is None
    assert driver.execute_script("return document.querySelectorAll('#examples img').length") == 0
    assert count.text == f"1 of {len(records)} examples shown"

    # Words must all occur, in any column; case does not matter.
    premise = records[1]["premise"]
    _type_filter(driver, premise.upper())
    words = premise.lower().split()
    _check_filter_semantics(driver, words)
    shown = _visible_rows(driver)
    assert 1 <= len(shown) <= len([r for r in records if premise in json.dumps(r)])

    # The label selects combine with the text box.
    _type_filter(driver, "")
    Select(driver.find_element(By.ID, "filter-gold")).select_by_value("entailment")
    expected = [r for r in records if r["gold_label"] == "entailment"]
    assert len(_visible_rows(driver)) == len(expected)
    Select(driver.find_element(By.ID, "filter-gold")).select_by_value("")
    assert len(_visible_rows(driver)) == len(records)

    assert _severe(driver) == []


@pytest.mark.skipif(not os.environ.get("RDISTILL_REPORT_RUN"),
                    reason="set RDISTILL_REPORT_RUN to a full-size run folder")
def test_report_of_a_full_size_run_in_chromium(driver, tmp_path):
    run = Path(os.environ["RDISTILL_REPORT_RUN"])
    page = _report(run, tmp_path / "report.html")
    driver.get(page.as_uri())
    records = [json.loads(line) for line in
               (run / "eval" / "metrics.predictions.jsonl").read_text().splitlines()]
    assert len(_visible_rows(driver)) == min(len(records), 5000)
    driver.save_screenshot(str(tmp_path / "report.png"))
    query = records[0]["premise"]
    _type_filter(driver, query)
    _check_filter_semantics(driver, query.lower().split())
    assert 1 <= len(_visible_rows(driver)) < len(records)
    assert _severe(driver) == []
