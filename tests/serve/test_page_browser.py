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
    assert browser.title == "run"  # the served model's name, not the tool's
    assert browser.find_element(By.ID, "title").text == "run"
    wait = WebDriverWait(browser, 20)
    wait.until(lambda d: "neg / pos" in d.find_element(By.ID, "subtitle").text)
    # no example recorded in this run: a neutral placeholder from its labels
    assert browser.find_element(By.ID, "text").get_attribute("placeholder") == (
        "Type or paste a text to sort into neg or pos")
    assert not browser.find_element(By.ID, "runlinks").is_displayed()  # no report, no card
    browser.find_element(By.ID, "text").send_keys(SENTENCE)
    browser.find_element(By.ID, "predict").click()
    wait.until(ec.visibility_of_element_located((By.ID, "result")))
    shown = browser.find_element(By.ID, "label").text
    expected = httpx.post(live_server.url + "/v1/predict", json={"texts": [SENTENCE]}).json()
    assert shown == expected["predictions"][0]["label"]
    rows = browser.find_elements(By.CSS_SELECTOR, "#bars .cls")
    scores = expected["predictions"][0]["scores"]
    # most probable first
    assert [r.get_attribute("data-label") for r in rows] == sorted(scores, key=lambda k: -scores[k])
    percents = [float(r.find_element(By.CSS_SELECTOR, ".pct").text.rstrip("%")) for r in rows]
    assert abs(sum(percents) - 100) < 0.2 and percents == sorted(percents, reverse=True)
    top = browser.find_element(By.CSS_SELECTOR, "#bars .cls.top").get_attribute("data-label")
    assert top == shown == rows[0].get_attribute("data-label")
    shot = tmp_path / "page.png"
    assert browser.save_screenshot(str(shot))
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 10_000


def test_errors_are_shown_on_the_page(live_server: LiveServer, browser: Any) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    browser.get(live_server.url + "/")
    wait = WebDriverWait(browser, 20)
    wait.until(lambda d: "neg / pos" in d.find_element(By.ID, "subtitle").text)
    browser.find_element(By.ID, "text").send_keys("   ")
    browser.find_element(By.ID, "predict").click()
    error = wait.until(ec.visibility_of_element_located((By.ID, "error")))
    assert error.text == "Type a text first."
    # a result, then an error: the result must go, not stay under the error as if it were
    # this text's
    browser.find_element(By.ID, "text").send_keys(SENTENCE)
    browser.find_element(By.ID, "predict").click()
    wait.until(ec.visibility_of_element_located((By.ID, "result")))
    assert not browser.find_element(By.ID, "error").is_displayed()
    browser.execute_script("document.getElementById('text').value = 'x'.repeat(20000);")
    browser.find_element(By.ID, "predict").click()
    wait.until(lambda d: d.find_element(By.ID, "error").is_displayed())
    assert browser.find_element(By.ID, "error").text == (
        "This text is 20,000 characters; the server accepts at most 10,000. Shorten it or ask "
        "the operator to raise the limit.")
    assert not browser.find_element(By.ID, "result").is_displayed()
    assert browser.find_elements(By.CSS_SELECTOR, "#bars .cls") == []
    # an error from the server itself (here: no such model) clears the result too
    browser.execute_script("document.getElementById('text').value = 'fine';")
    browser.find_element(By.ID, "predict").click()
    wait.until(ec.visibility_of_element_located((By.ID, "result")))
    browser.execute_script("""
      const option = document.createElement("option");
      option.value = "gone";
      document.getElementById("model").appendChild(option);
      document.getElementById("model").value = "gone";
      document.getElementById("modelbox").hidden = false;""")
    browser.find_element(By.ID, "predict").click()
    wait.until(lambda d: d.find_element(By.ID, "error").is_displayed())
    assert browser.find_element(By.ID, "error").text.startswith("model 'gone' is not served")
    assert not browser.find_element(By.ID, "result").is_displayed()


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


def test_a_slow_explanation_shows_progress_and_the_unread_middle(live_server: LiveServer,
                                                                 browser: Any) -> None:
    import re

    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    browser.get(live_server.url + "/")
    wait = WebDriverWait(browser, 30)
    wait.until(lambda d: "neg / pos" in d.find_element(By.ID, "subtitle").text)
    # the explanation answers after 2.5 s more, as a long one on a slow machine would
    browser.execute_script("""
      const realFetch = window.fetch;
      window.fetch = async (url, options) => {
        if (String(url).endsWith("/v1/explain")) await new Promise((r) => setTimeout(r, 2500));
        return realFetch(url, options);
      };""")
    browser.find_element(By.ID, "explain").click()
    long_text = " ".join(f"word{i}" for i in range(80))  # max_length 64, head+tail
    browser.execute_script("document.getElementById('text').value = arguments[0];", long_text)
    browser.find_element(By.ID, "predict").click()
    wait.until(lambda d: "Explaining" in d.find_element(By.ID, "progress-text").text)
    assert browser.find_element(By.ID, "progress").is_displayed()
    assert not browser.find_element(By.ID, "predict").is_enabled()
    wait.until(lambda d: re.search(r"\u2026 [12] s$", d.find_element(By.ID, "progress-text").text))
    wait.until(ec.visibility_of_element_located((By.ID, "explanation")))
    assert not browser.find_element(By.ID, "progress").is_displayed()
    assert browser.find_element(By.ID, "predict").is_enabled()
    (cut,) = browser.find_elements(By.CSS_SELECTOR, "#words .cut")
    assert cut.text == "[...]"
    words = [w.text for w in browser.find_elements(By.CSS_SELECTOR, "#words .w")]
    shown = browser.find_element(By.ID, "words").text
    # head+tail: the first and last words read, the middle ones shown as not read
    assert shown.startswith("word0 word1") and shown.endswith("word78 word79")
    assert shown.count("[...]") == 1
    assert "word40" not in words and "word40" not in shown
    assert "were not read" in browser.find_element(By.ID, "explain-note").text


def test_the_placeholder_and_links_follow_the_chosen_model(live_server: LiveServer,
                                                           browser: Any) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    browser.get(live_server.url + "/")
    WebDriverWait(browser, 20).until(
        lambda d: "neg / pos" in d.find_element(By.ID, "subtitle").text)
    browser.execute_script("""showModel({name: "bbc", task: "single", inputs: ["text"],
      labels: ["business", "sport"], example: {text: "Shares fell after the forecast."},
      report: "/v1/models/bbc/report", card: null});""")
    assert browser.title == "bbc" and browser.find_element(By.ID, "title").text == "bbc"
    assert browser.find_element(By.ID, "text").get_attribute("placeholder") == (
        "e.g. Shares fell after the forecast.")
    report = browser.find_element(By.ID, "report-link")
    assert report.is_displayed() and report.get_attribute("href").endswith("/v1/models/bbc/report")
    assert not browser.find_element(By.ID, "card-link").is_displayed()
    browser.execute_script("""showModel({name: "zh", task: "single", inputs: ["text"],
      labels: ["体育", "财经"], example: null, report: null, card: null});""")
    assert browser.find_element(By.ID, "text").get_attribute("placeholder") == "输入或粘贴一段文字"
    assert not browser.find_element(By.ID, "runlinks").is_displayed()


def test_docs_and_redoc_list_the_operations_offline(live_server: LiveServer, browser: Any) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    wait = WebDriverWait(browser, 30)
    loaded = ("return performance.getEntriesByType('resource').map((e) => "
              "({name: e.name, status: e.responseStatus}));")
    browser.get(live_server.url + "/docs")
    wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, ".opblock-summary-path"))
    paths = {e.get_attribute("data-path") or e.text
             for e in browser.find_elements(By.CSS_SELECTOR, ".opblock-summary-path")}
    assert {"/v1/predict", "/v1/explain", "/v1/models", "/health"} <= paths
    resources = browser.execute_script(loaded)
    assert any(r["name"].endswith("/swagger-ui-bundle.js") for r in resources)
    assert all(r["name"].startswith(live_server.url + "/") for r in resources), resources
    browser.get(live_server.url + "/redoc")
    wait.until(lambda d: "Predict the label of each text" in d.find_element(By.TAG_NAME, "body").text)
    # ReDoc's bundle shows a logo from its CDN: the page's policy blocks the request (no
    # answer: status 0) and ReDoc drops the image
    wait.until(lambda d: not d.find_elements(By.CSS_SELECTOR, 'img[alt="redocly logo"]'))
    resources = browser.execute_script(loaded)
    assert any(r["name"].endswith("/redoc.standalone.js") for r in resources)
    outside = [r for r in resources if not r["name"].startswith(live_server.url + "/")]
    assert all(r["status"] == 0 for r in outside), outside
