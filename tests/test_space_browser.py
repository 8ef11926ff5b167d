"""The Space in a real browser: Debian's chromium, headless, driven by selenium through
/usr/bin/chromedriver (never a browser download). Load the page, pick a gallery example, ask,
see the answer and the depth image, save a screenshot; upload a photo and its depth, Compare, and
see every view filled for both models; on a machine without a depth model, see the notice as soon
as a photo without depth is uploaded.

`make browser` installs chromium and chromium-driver; this test skips only where they are absent.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest
from test_space import QUESTION, build_space_assets, make_app, serve

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
TIMEOUT_S = 60

pytestmark = pytest.mark.skipif(
    not (CHROMIUM.is_file() and CHROMEDRIVER.is_file()),
    reason=f"needs Debian's chromium at {CHROMIUM} and chromedriver at {CHROMEDRIVER} "
    "(`make browser` or `apt-get install chromium chromium-driver`)",
)


@pytest.fixture(scope="module")
def assets(tmp_path_factory):
    return build_space_assets(tmp_path_factory.mktemp("space"))


@pytest.fixture(scope="module")
def page_url(assets):
    app = make_app(assets)
    url = serve(app)
    yield url
    app.demo.close()


@pytest.fixture(scope="module")
def photo(tmp_path_factory):
    """A photo with its 16-bit millimetre depth PNG, as an RGB-D camera (NYU, ScanNet) writes them."""
    import numpy as np
    from PIL import Image

    root = tmp_path_factory.mktemp("photo")
    rng = np.random.default_rng(0)
    Image.fromarray(rng.integers(0, 255, (60, 100, 3), dtype=np.uint8)).save(root / "room.png")
    Image.fromarray(rng.integers(500, 4000, (60, 100)).astype(np.uint16)).save(root / "room_depth_mm.png")
    return root


def upload(browser, elem_id: str, path: Path) -> None:
    """Put a file into the upload field of component `elem_id`, as a visitor choosing it would."""
    from selenium.webdriver.common.by import By

    field = browser.find_element(By.CSS_SELECTOR, f"#{elem_id} input[type=file]")
    browser.execute_script("arguments[0].style.display = 'block'", field)  # Gradio hides the native input
    field.send_keys(str(path))


def loaded_image(wait, elem_id: str, min_width: int = 100):
    """The <img> of image component `elem_id` once it has loaded an image wider than `min_width`
    (the page's figures are drawn hundreds of pixels wide)."""
    from selenium.webdriver.common.by import By

    def ready(driver):
        images = driver.find_elements(By.CSS_SELECTOR, f"#{elem_id} img")
        return images[0] if images and driver.execute_script(
            "return arguments[0].complete && arguments[0].naturalWidth > arguments[1]", images[0], min_width) else False

    return wait.until(ready)


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


def test_upload_photo_and_depth_then_compare_fills_every_view(browser, page_url, photo, assets):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    wait = WebDriverWait(browser, TIMEOUT_S)
    browser.get(page_url)
    wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, "#image input[type=file]"))
    upload(browser, "image", photo / "room.png")
    loaded_image(wait, "image", min_width=0)
    upload(browser, "depth-file", photo / "room_depth_mm.png")
    wait.until(lambda d: "room_depth_mm" in d.find_element(By.ID, "depth-file").text)
    question = browser.find_element(By.CSS_SELECTOR, "#question textarea")
    question.clear()
    question.send_keys(QUESTION)
    browser.find_element(By.ID, "compare").click()

    answers = {}
    for elem_id in ("answer", "with-depth", "without-depth"):
        answers[elem_id] = wait.until(
            lambda d, e=elem_id: d.find_element(By.CSS_SELECTOR, f"#{e} textarea").get_attribute("value").strip())
    assert answers["answer"] == answers["with-depth"]
    for elem_id in ("depth-image", "grid-image", "baseline-view"):
        assert loaded_image(wait, elem_id)
    note = browser.find_element(By.ID, "compare-note").text
    assert str(assets.model) in note and str(assets.model.parent / "no_depth_best") in note
    info = browser.find_element(By.ID, "baseline-info").text
    assert "Model without depth" in info and "no_depth_best" in info
    screenshot = Path(os.environ.get("SDVLM_SCREENSHOT_DIR", tempfile.gettempdir())) / "space_after_compare.png"
    assert browser.save_screenshot(str(screenshot)) and screenshot.stat().st_size > 10_000
    print(f"screenshot: {screenshot}")


def test_photo_without_depth_on_a_machine_without_a_depth_model(browser, assets, photo, tmp_path):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    app = make_app(assets, depth_estimator=None)
    app.model.processor.depth_estimator = str(tmp_path / "no_depth_model_here")  # nothing to estimate with
    url = serve(app)
    try:
        wait = WebDriverWait(browser, TIMEOUT_S)
        browser.get(url)
        wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, "#image input[type=file]"))
        upload(browser, "image", photo / "room.png")
        # Nothing pressed yet: the notice is there, and it points to the gallery, which is on the page.
        notice = wait.until(lambda d: d.find_element(By.ID, "depth-notice").text.strip())
        assert "no depth model" in notice and "gallery examples" in notice
        assert browser.find_elements(By.CSS_SELECTOR, "#examples tbody tr")
        upload(browser, "depth-file", photo / "room_depth_mm.png")
        wait.until(lambda d: not d.find_element(By.ID, "depth-notice").text.strip())
    finally:
        app.demo.close()
