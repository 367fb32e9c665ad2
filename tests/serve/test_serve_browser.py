"""The monitoring page in headless chromium: connected cameras, live views, stats, readings."""

from __future__ import annotations

import socket
import threading
from pathlib import Path

import pytest

from tests.serve.helpers import CameraClient, encode, scene

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run"]

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian chromium is not installed at "
                       "/usr/bin/chromium (make browser installs it)"),
]


def stream_frames(camera: CameraClient, frame: bytes, stop: threading.Event) -> None:
    """Send a frame every 0.1 s and read the results, until stopped."""
    seq = 0
    while not stop.wait(0.1):
        camera.send_frame(seq, frame)
        camera.receive()
        seq += 1


def test_monitoring_page_shows_connected_cameras(live_server, digits):
    from playwright.sync_api import sync_playwright

    images, labels = digits
    page_image, _ = scene(list(images[:3]))
    camera = CameraClient(live_server.tcp_port, "browser-cam")
    stop = threading.Event()
    streaming = threading.Thread(target=stream_frames,
                                 args=(camera, encode(page_image, ".jpg"), stop))
    streaming.start()
    legacy = socket.create_connection(("127.0.0.1", live_server.tcp_port))
    legacy.sendall(encode(images[3], ".jpg") + b"\xff\xd9")
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
            try:
                page = browser.new_page()
                page.goto(f"http://127.0.0.1:{live_server.http_port}/")
                card = page.locator('.camera[data-client-id="browser-cam"]')
                card.wait_for(timeout=15_000)
                assert page.locator("#model").inner_text() == "digits@1"
                page.wait_for_function(
                    "() => /^\\d{3}$/.test(document.querySelector("
                    "'.camera[data-client-id=\"browser-cam\"] .reading').textContent)",
                    timeout=15_000)
                page.wait_for_function(  # the MJPEG live view decodes into the <img>
                    "() => document.querySelector('.camera[data-client-id=\"browser-cam\"] img')"
                    ".naturalWidth > 0", timeout=15_000)
                text = card.inner_text()
                assert "fps processed" in text and "latency" in text and "v1" in text
                legacy_id = f"127.0.0.1:{legacy.getsockname()[1]}"
                legacy_card = page.locator(f'.camera[data-client-id="{legacy_id}"]')
                legacy_card.wait_for(timeout=15_000)
                assert "legacy" in legacy_card.inner_text()
                page.wait_for_function(  # one still frame is shown too (no next frame needed)
                    f"() => document.querySelector('.camera[data-client-id=\"{legacy_id}\"] img')"
                    ".naturalWidth > 0", timeout=15_000)
                legacy.close()
                legacy_card.wait_for(state="detached", timeout=15_000)
                assert page.locator("#empty").is_hidden()
            finally:
                browser.close()
    finally:
        stop.set()
        streaming.join()
        camera.close()
        legacy.close()
