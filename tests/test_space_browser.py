"""The Space in a real browser: Debian's chromium, headless, driven by selenium through
/usr/bin/chromedriver (never a browser download). Load the page, pick a gallery example, ask,
see the answer and the depth image, save a screenshot.

`make browser` installs chromium and chromium-driver; this test skips only where they are absent.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest
from test_space import build_space_assets, make_app, serve

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
TIMEOUT_S = 60

pytestmark = pytest.mark.skipif(
    not (CHROMIUM.is_file() and CHROMEDRIVER.is_file()),
    reason=f"needs Debian's chromium at {CHROMIUM} and chromedriver at {CHROMEDRIVER} "
    "(`make browser` or `apt-get install chromium chromium-driver`)",
)


@pytest.fixture(scope="module")
def page_url(tmp_path_factory):
    app = make_app(build_space_assets(tmp_path_factory.mktemp("space")))
    url = serve(app)
    yield url
    app.demo.close()


@pytest.fixture
def browser(tmp_path):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--no-first-run", "--window-size=1400,1600",
                 f"--user-data-dir={tempfile.mkdtemp(dir=tmp_path, prefix='chromium-')}"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(executable_path=str(CHROMEDRIVER)), options=options)
    yield driver
    driver.quit()


def test_pick_example_ask_and_see_answer_and_depth(browser, page_url, tmp_path):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    wait = WebDriverWait(browser, TIMEOUT_S)
    browser.get(page_url)
    first_example = wait.until(lambda d: d.find_element(By.CSS_SELECTOR, "#examples tbody tr"))
    example_question = first_example.find_element(By.CSS_SELECTOR, "td[aria-colindex='3']").text
    first_example.click()
    # The example fills the inputs, including its ground truth.
    wait.until(lambda d: d.find_element(By.CSS_SELECTOR, "#question textarea").get_attribute("value") == example_question)
    assert browser.find_element(By.CSS_SELECTOR, "#ground-truth textarea").get_attribute("value").strip()

    browser.find_element(By.ID, "ask").click()
    answer = wait.until(lambda d: d.find_element(By.CSS_SELECTOR, "#answer textarea").get_attribute("value").strip())
    depth_image = wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, "#depth-image img"))[0]
    wait.until(lambda d: d.execute_script("return arguments[0].complete && arguments[0].naturalWidth", depth_image))
    assert browser.find_elements(By.CSS_SELECTOR, "#grid-image img")
    assert "Ground truth" in wait.until(lambda d: d.find_element(By.ID, "score").text)
    assert answer

    screenshot = Path(os.environ.get("SDVLM_SCREENSHOT_DIR", tmp_path)) / "space_after_ask.png"
    screenshot.parent.mkdir(parents=True, exist_ok=True)
    assert browser.save_screenshot(str(screenshot)) and screenshot.stat().st_size > 10_000
    print(f"screenshot: {screenshot}")

    # A question picked from the question examples is no longer the gallery item: its ground truth goes.
    browser.find_element(By.CSS_SELECTOR, "#question-examples button").click()
    wait.until(lambda d: d.find_element(By.CSS_SELECTOR, "#ground-truth textarea").get_attribute("value") == "")
