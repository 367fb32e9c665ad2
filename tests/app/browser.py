"""Browser test helpers: a Voila app on temp folders, pages that are live, the pad, the kernels."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

import psutil
import pytest

from digitlab.processes import free_port, port_listening, stop_process, wait_until
from tests.app.helpers import ROOT, registry_with_model, registry_with_reader

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run"]
ARTIFACTS = ROOT / "test-artifacts"
BROWSER_MARKS = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(),
                       reason="Debian chromium is not installed at /usr/bin/chromium "
                              "(make browser installs it)"),
]
MODEL_LOADED = "XNNPACK delegate"  # what a kernel's model load prints to Voila's log
CUT_OFF_LABELS = """() => [...document.querySelectorAll('button')]
  .filter(button => button.offsetParent !== null && button.scrollWidth > button.clientWidth + 1)
  .map(button => button.textContent.trim())"""


def wait_for_server(port: int, process: subprocess.Popen, timeout: float = 90.0) -> None:
    """Wait until the server listens (a GET of the page would use up the preheated kernel)."""
    def listening_or_exited():
        if process.poll() is not None:
            raise RuntimeError(f"voila exited with {process.returncode}")
        return port_listening(port)

    wait_until(listening_or_exited, timeout, f"voila to listen on port {port}", interval=0.3)


@contextmanager
def served_app(root: Path, trained=None):
    """`digitlab app` (preheated kernel) on a temp registry with a real model and the committed
    line reader, and a temp store."""
    models, data, runs = root / "models", root / "data", root / "runs"
    for folder in (models, data, runs):
        folder.mkdir()
    registry_with_model(models, trained)
    registry_with_reader(models)
    port = free_port()
    environment = {**os.environ, "DIGITLAB_MODELS_DIR": str(models), "DIGITLAB_DATA_DIR": str(data),
                   "DIGITLAB_RUNS_DIR": str(runs)}
    log = open(root / "voila.log", "w")
    process = subprocess.Popen([sys.executable, "-m", "digitlab", "app", "--port", str(port),
                                "--no-browser"], env=environment, stdout=log,
                               stderr=subprocess.STDOUT, cwd=ROOT, start_new_session=True)
    try:
        wait_for_server(port, process)
        yield {"url": f"http://127.0.0.1:{port}/", "store": data / "samples.sqlite",
               "runs": runs, "log": root / "voila.log", "pid": process.pid}
    finally:
        stop_process(process)
        log.close()


def trained_model_unless_committed(request):
    """None when the committed default model exists, else the session's small trained model."""
    if (ROOT / "models" / "digits" / "1" / "model.tflite").exists():
        return None
    return request.getfixturevalue("small_trained_model")


def launch(playwright):
    """Headless Debian chromium."""
    return playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)


def keep_screenshot(page, name: str) -> None:
    """Save a full-page screenshot in test-artifacts/ (for a failed test)."""
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


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


def open_page(browser, url: str):
    """A new tab on the app, live."""
    page = browser.new_page(viewport={"width": 1200, "height": 1100})
    page.goto(url)
    wait_live(page)
    return page


def choose_mode(page, name: str) -> None:
    """Click a mode's tab ("Training", "Review", ...) and wait until it is the selected one."""
    page.get_by_role("button", name=name, exact=True).click()
    mode = {"Recognise a digit": "recognise", "Read a number": "read", "Train your own": "collect",
            "Review": "review", "Training": "train"}[name]
    page.wait_for_selector(f".dl-app.dl-mode-{mode}", timeout=10_000)  # the kernel has shown it


def leave(page) -> None:
    """Leave the app as a closed tab does, then close the tab (headless chromium drops the
    shutdown beacon of a tab that is closed, but sends the one of a page navigated away from)."""
    page.goto("about:blank")
    page.close()


def kernels(server_pid: int) -> list[psutil.Process]:
    """The kernel processes the Voila server runs (not those that have exited, zombies too)."""
    running = []
    for child in psutil.Process(server_pid).children(recursive=True):
        try:
            if "ipykernel_launcher" in " ".join(child.cmdline()):
                running.append(child)
        except (psutil.NoSuchProcess, psutil.ZombieProcess):
            continue  # a kernel that has just been shut down
    return running


def wait_for_pooled_app(app: dict, timeout: float = 90.0) -> None:
    """Wait until every kernel started so far, the preheated one included, has built its app, so
    that what a test changes next is news to the app the next page gets."""
    def built():
        log = app["log"].read_text()
        return log.count(MODEL_LOADED) >= log.count("Kernel started") > 0

    wait_until(built, timeout, "the preheated kernel to build its app", interval=0.3)


def clear(page) -> None:
    """Click Clear and wait for the empty result card."""
    page.get_by_role("button", name="Clear").click()
    page.wait_for_selector('.dl-result[data-state="waiting"]')


SHAPES_SIDE = 336  # the pad size tests.app.helpers.SHAPES are drawn for


def draw(page, shape, scale: float | None = None, selector: str = "canvas.dl-pad") -> None:
    """Draw a shape's strokes on the pad (or another canvas) with the mouse, scaled (by
    default) from a 336-px pad to the pad as shown, so that it fills the same part at any size."""
    box = page.locator(selector).bounding_box()
    scale = box["width"] / SHAPES_SIDE if scale is None else scale
    for stroke in shape:
        page.mouse.move(box["x"] + scale * stroke[0][0], box["y"] + scale * stroke[0][1])
        page.mouse.down()
        for x, y in stroke[1:]:
            page.mouse.move(box["x"] + scale * x, box["y"] + scale * y, steps=3)
        page.mouse.up()


def pad_box(page) -> dict:
    """The pad's backing size and where it shows on the page (CSS pixels)."""
    return page.evaluate("""() => {
      const pad = document.querySelector('canvas.dl-pad'), box = pad.getBoundingClientRect();
      return {width: pad.width, height: pad.height, left: box.left, right: box.right,
              top: box.top, bottom: box.bottom, shown: box.width, shownHeight: box.height,
              page: document.documentElement.clientWidth};
    }""")


def shown_digit(page) -> str:
    """Wait for an answer and return the digit the page shows."""
    result = page.wait_for_selector('.dl-result:not([data-state="waiting"])', timeout=15_000)
    return result.get_attribute("data-digit")
