"""The page at / in a real headless browser (Debian's chromium + chromium-driver, driven
by selenium): type a sentence, press the button, read the label shown. Loopback only;
the screenshot is saved in the test's tmp dir."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.serve.conftest import LiveServer

SENTENCE = "A gripping, beautifully acted film that stays with you long after the credits."


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[Any]:
    chromium, driver_path = shutil.which("chromium"), shutil.which("chromedriver")
    if not (chromium and driver_path):
        message = "needs Debian's chromium and chromium-driver (apt-get install chromium " \
                  "chromium-driver)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run", "--window-size=900,760",
                 f"--user-data-dir={tmp_path / 'profile'}"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(executable_path=driver_path), options=options)
    driver.set_page_load_timeout(30)
    try:
        yield driver
    finally:
        driver.quit()


def test_type_press_and_read_the_label(live_server: LiveServer, browser: Any,
                                       tmp_path: Path) -> None:
    import httpx
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    browser.get(live_server.url + "/")
    assert browser.title == "lmforge"
    wait = WebDriverWait(browser, 20)
    wait.until(lambda d: "neg / pos" in d.find_element(By.ID, "subtitle").text)
    browser.find_element(By.ID, "text").send_keys(SENTENCE)
    browser.find_element(By.ID, "predict").click()
    wait.until(ec.visibility_of_element_located((By.ID, "result")))
    shown = browser.find_element(By.ID, "label").text
    expected = httpx.post(live_server.url + "/v1/predict", json={"texts": [SENTENCE]}).json()
    assert shown == expected["predictions"][0]["label"]
    rows = browser.find_elements(By.CSS_SELECTOR, "#bars .cls")
    assert [r.get_attribute("data-label") for r in rows] == ["neg", "pos"]
    percents = [float(r.find_element(By.CSS_SELECTOR, ".pct").text.rstrip("%")) for r in rows]
    assert abs(sum(percents) - 100) < 0.2
    top = browser.find_element(By.CSS_SELECTOR, "#bars .cls.top").get_attribute("data-label")
    assert top == shown
    shot = tmp_path / "page.png"
    assert browser.save_screenshot(str(shot))
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 10_000


def test_errors_are_shown_on_the_page(live_server: LiveServer, browser: Any) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    browser.get(live_server.url + "/")
    browser.find_element(By.ID, "text").send_keys("   ")
    browser.find_element(By.ID, "predict").click()
    error = WebDriverWait(browser, 10).until(ec.visibility_of_element_located((By.ID, "error")))
    assert error.text == "Type a text first."
    browser.execute_script("document.getElementById('text').value = 'x'.repeat(20000);")
    browser.find_element(By.ID, "predict").click()
    WebDriverWait(browser, 10).until(lambda d: "limit" in d.find_element(By.ID, "error").text)
    assert browser.find_element(By.ID, "error").text == (
        "texts[0] has 20,000 characters, the limit is 10,000 (--max-text-chars). "
        "Shorten it; the model reads only its first tokens anyway.")


def test_explain_toggle_highlights_the_words(live_server: LiveServer, browser: Any,
                                             tmp_path: Path) -> None:
    import httpx
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    browser.get(live_server.url + "/")
    wait = WebDriverWait(browser, 30)
    wait.until(lambda d: "neg / pos" in d.find_element(By.ID, "subtitle").text)
    assert not browser.find_element(By.ID, "explain").is_selected()
    browser.find_element(By.ID, "explain").click()
    browser.find_element(By.ID, "text").send_keys(SENTENCE)
    browser.find_element(By.ID, "predict").click()
    wait.until(ec.visibility_of_element_located((By.ID, "explanation")))
    words = browser.find_elements(By.CSS_SELECTOR, "#words .w")
    expected = httpx.post(live_server.url + "/v1/explain", json={"texts": [SENTENCE]}).json()
    (e,) = expected["explanations"]
    assert [w.text for w in words] == e["words"]
    assert browser.find_element(By.ID, "words").text == SENTENCE
    shown = [float(w.get_attribute("data-score")) for w in words]
    assert shown == [pytest.approx(s, abs=1e-6) for s in e["scores"]]
    # colour strength: share of the largest |score| (at least 0.05 logits), as lmforge explain
    scale = max(0.05, *(abs(v) for v in shown))
    strongest = max(range(len(shown)), key=lambda i: abs(shown[i]))
    background = words[strongest].value_of_css_property("background-color")
    alpha = float(background.rsplit(",", 1)[1].rstrip(")"))
    assert alpha == pytest.approx(0.85 * abs(shown[strongest]) / scale, abs=2e-3)
    red_or_green = "rgba(26, 127, 55," if shown[strongest] > 0 else "rgba(207, 34, 46,"
    assert background.startswith(red_or_green)
    assert "Why " + e["target"] in browser.find_element(By.ID, "explain-caption").text
    shot = tmp_path / "explain.png"
    assert browser.save_screenshot(str(shot))
    # unticked: the next prediction shows no explanation
    browser.find_element(By.ID, "explain").click()
    browser.find_element(By.ID, "predict").click()
    wait.until(lambda d: not d.find_element(By.ID, "explanation").is_displayed())
