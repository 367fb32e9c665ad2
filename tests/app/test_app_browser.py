"""The Voila app in a real browser: draw with the mouse, read the answer, save, undo, blank pad."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from digitlab.processes import free_port, port_listening, stop_process, wait_until
from digitlab.store import SampleStore
from tests.app.helpers import ROOT, SHAPES, registry_with_model

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run"]
ARTIFACTS = ROOT / "test-artifacts"

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(),
                       reason="Debian chromium is not installed at /usr/bin/chromium "
                              "(make browser installs it)"),
]


def wait_for_server(port: int, process: subprocess.Popen, timeout: float = 90.0) -> None:
    """Wait until the server listens (a GET of the page would use up the preheated kernel)."""
    def listening_or_exited():
        if process.poll() is not None:
            raise RuntimeError(f"voila exited with {process.returncode}")
        return port_listening(port)

    wait_until(listening_or_exited, timeout, f"voila to listen on port {port}", interval=0.3)


@pytest.fixture(scope="module")
def voila_app(tmp_path_factory, request):
    """One Voila server (preheated kernel) on a temp registry with a real model and a temp store."""
    root = tmp_path_factory.mktemp("app")
    models, data, runs = root / "models", root / "data", root / "runs"
    for folder in (models, data, runs):
        folder.mkdir()
    if not (ROOT / "models" / "digits" / "1" / "model.tflite").exists():
        registry_with_model(models, request.getfixturevalue("small_trained_model"))
    else:
        registry_with_model(models)
    port = free_port()
    environment = {**os.environ, "DIGITLAB_MODELS_DIR": str(models), "DIGITLAB_DATA_DIR": str(data),
                   "DIGITLAB_RUNS_DIR": str(runs)}
    log = open(root / "voila.log", "w")
    process = subprocess.Popen([sys.executable, "-m", "digitlab", "app", "--port", str(port),
                                "--no-browser"], env=environment, stdout=log,
                               stderr=subprocess.STDOUT, cwd=ROOT, start_new_session=True)
    url = f"http://127.0.0.1:{port}/"
    try:
        wait_for_server(port, process)
        yield {"url": url, "store": data / "samples.sqlite", "log": root / "voila.log"}
    finally:
        stop_process(process)
        log.close()


@pytest.fixture(scope="module")
def page(voila_app):
    """One browser page on the app, live (its kernel connected) before the tests draw."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1200, "height": 1100})
        page.goto(voila_app["url"])
        wait_live(page)
        yield page
        browser.close()


@pytest.fixture(autouse=True)
def screenshot_on_failure(request, page):
    """Keep a screenshot of the page in test-artifacts/ when a test fails."""
    failed_before = request.session.testsfailed
    yield
    if request.session.testsfailed > failed_before:
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / f"{request.node.name}.png"), full_page=True)


def wait_live(page, timeout: float = 90.0) -> None:
    """Wait until the kernel answers: Predict on the blank pad must bring the blank warning."""
    page.wait_for_selector("canvas.dl-pad", timeout=timeout * 1000)
    deadline = time.monotonic() + timeout
    while True:  # a click sent before the kernel connection is up may be lost: click again
        page.get_by_role("button", name="Predict").click()
        try:
            page.wait_for_selector('.dl-message[data-kind="warn"]', timeout=2_000)
            return
        except Exception:
            if time.monotonic() > deadline:
                raise


def clear(page) -> None:
    """Click Clear and wait for the empty result card."""
    page.get_by_role("button", name="Clear").click()
    page.wait_for_selector('.dl-result[data-state="waiting"]')


def draw(page, shape) -> None:
    """Draw a shape's strokes on the pad with the mouse."""
    box = page.locator("canvas.dl-pad").bounding_box()
    for stroke in shape:
        page.mouse.move(box["x"] + stroke[0][0], box["y"] + stroke[0][1])
        page.mouse.down()
        for x, y in stroke[1:]:
            page.mouse.move(box["x"] + x, box["y"] + y, steps=3)
        page.mouse.up()


def shown_digit(page) -> str:
    """Wait for an answer and return the digit the page shows."""
    result = page.wait_for_selector('.dl-result:not([data-state="waiting"])', timeout=15_000)
    return result.get_attribute("data-digit")


@pytest.mark.parametrize("digit", [1, 7, 0])
def test_drawn_digits_are_recognised(page, digit):
    clear(page)
    draw(page, SHAPES[digit])
    assert shown_digit(page) == str(digit)
    assert page.locator(".dl-bar-row").count() == 3


def test_digit_key_saves_a_correction_and_backspace_undoes_it(page, voila_app):
    store = SampleStore(voila_app["store"])
    before = store.total()
    clear(page)
    draw(page, SHAPES[1])
    assert shown_digit(page) == "1"
    page.keyboard.press("4")  # the pad has focus after drawing
    wait_until(lambda: store.total() == before + 1)
    saved = store.recent(1)[0]
    assert (saved.label, saved.source, saved.predicted) == (4, "correction", 1)
    page.wait_for_selector('.dl-message[data-kind="ok"]')
    page.keyboard.press("Backspace")
    wait_until(lambda: store.total() == before)
    page.wait_for_selector('.dl-message:has-text("Took back")')


def test_blank_canvas_says_so(page):
    clear(page)
    draw(page, SHAPES[1])
    shown_digit(page)
    page.wait_for_selector('.dl-message:not([data-kind="warn"])')
    clear(page)
    page.get_by_role("button", name="Predict").click()
    message = page.wait_for_selector('.dl-message[data-kind="warn"]')
    assert "blank" in message.inner_text()
    assert page.locator(".dl-result").get_attribute("data-state") == "waiting"


def test_buttons_hand_the_keyboard_back_to_the_pad(page, voila_app):
    store = SampleStore(voila_app["store"])
    before = store.total()
    clear(page)
    draw(page, SHAPES[7])
    shown_digit(page)
    page.get_by_role("button", name="2", exact=True).click()
    wait_until(lambda: store.total() == before + 1)
    assert store.recent(1)[0].label == 2
    page.wait_for_function("document.activeElement.classList.contains('dl-pad')")
    page.keyboard.press("Backspace")
    wait_until(lambda: store.total() == before)


TOUCH_SCRIPT = """([kind, x, y]) => {
  const pad = document.querySelector('canvas.dl-pad');
  const box = pad.getBoundingClientRect();
  const touch = new Touch({identifier: 1, target: pad,
                           clientX: box.left + x, clientY: box.top + y});
  const touches = kind === 'touchend' ? [] : [touch];
  pad.dispatchEvent(new TouchEvent(kind, {touches, targetTouches: touches, changedTouches: [touch],
                                          bubbles: true, cancelable: true}));
}"""


def test_a_finger_can_draw(page):
    clear(page)
    points = SHAPES[1][0]
    steps = [(points[0][0], points[0][1] + 10 * step) for step in range(23)]
    page.evaluate(TOUCH_SCRIPT, ["touchstart", *steps[0]])
    for x, y in steps[1:]:
        page.evaluate(TOUCH_SCRIPT, ["touchmove", x, y])
    page.evaluate(TOUCH_SCRIPT, ["touchend", *steps[-1]])
    assert shown_digit(page) == "1"


def test_each_stroke_updates_the_answer(page):
    clear(page)
    draw(page, [[(95, 75), (245, 75)]])  # the bar of a 7 ...
    shown_digit(page)
    seen = page.locator("img.dl-model-input").get_attribute("src")
    draw(page, [[(245, 75), (150, 285)]])  # ... then its leg
    page.wait_for_function(
        "seen => document.querySelector('img.dl-model-input').getAttribute('src') !== seen",
        arg=seen)
    assert shown_digit(page) == "7"


def test_the_mode_buttons_switch_the_pad(page):
    page.get_by_role("button", name="Read a number").click()
    page.wait_for_function("document.querySelector('canvas.dl-pad').width === 560")
    page.wait_for_selector('.dl-message:has-text("side by side")')
    assert page.locator(".dl-label-buttons").is_hidden()
    page.get_by_role("button", name="Recognise a digit").click()
    page.wait_for_function("document.querySelector('canvas.dl-pad').width === 336")
    clear(page)
    draw(page, SHAPES[1])
    assert shown_digit(page) == "1" and page.locator(".dl-label-buttons").is_visible()
