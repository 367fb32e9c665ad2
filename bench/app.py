"""Benchmark the Voila app in headless chromium: page ready time, mouse-up to top-3, kernel RSS,
and Review mode's key-to-next-sample time (how many labels a second the page can take).

Prints JSON. `python bench/app.py [--strokes 30] [--loads 3] [--reviews 40]`. It serves the
committed registry's current models (or trains a tiny one when models/digits/1 is missing) from
a temp registry, with a temp sample store holding MNIST test digits as unlabelled camera crops, so
your own data and models are never touched.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import psutil

from digitlab.processes import free_port, port_listening, stop_process, wait_until

ROOT = Path(__file__).resolve().parent.parent
COMMITTED_MODEL = ROOT / "models" / "digits" / "1"
SERVED_NAMES = ("digits", "notdigit", "reader")  # what the app loads from the registry
RESULTS = ROOT / "bench" / "results" / "app.json"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run"]
SHAPES_SIDE = 336  # SHAPES are drawn for a pad this size; they are scaled to the pad as shown
SHAPES = [  # single strokes in pad pixels: a 1, a 7 and a 0
    [(170, 60 + 10 * step) for step in range(23)],
    [(95 + 10 * step, 75) for step in range(16)] + [(245 - 5 * s, 75 + 11 * s) for s in range(20)],
    [(168 + 62 * math.sin(2 * math.pi * t / 40), 168 - 100 * math.cos(2 * math.pi * t / 40))
     for t in range(41)],
]
WATCH_SCRIPT = """() => {
  const pad = document.querySelector('canvas.dl-pad');
  window.__up = null; window.__changed = null;
  pad.addEventListener('mouseup', () => { window.__up = performance.now(); },
                       {capture: true, once: true});
  const box = document.querySelector('.dl-result').parentElement;
  const observer = new MutationObserver(() => {
    const result = document.querySelector('.dl-result');
    if (window.__up !== null && result && result.dataset.state !== 'waiting') {
      window.__changed = performance.now(); observer.disconnect();
    }
  });
  observer.observe(box, {childList: true, subtree: true});
}"""


def percentiles(values: list[float]) -> dict:
    """p50, p95, max and mean of timings in ms."""
    array = np.asarray(values)
    return {"p50_ms": round(float(np.percentile(array, 50)), 1),
            "p95_ms": round(float(np.percentile(array, 95)), 1),
            "max_ms": round(float(array.max()), 1), "mean_ms": round(float(array.mean()), 1),
            "runs": len(values)}


def prepare_registry(models: Path) -> str:
    """Copy the committed registry (the served digit model, rejector and line reader) into the
    temp registry, or train a tiny stand-in model."""
    from digitlab.registry import Registry

    if (COMMITTED_MODEL / "model.tflite").exists():
        for name in SERVED_NAMES:
            if (ROOT / "models" / name).is_dir():
                shutil.copytree(ROOT / "models" / name, models / name)
        registry = Registry(models)
        served = [f"{name}@{registry.current(name)}" for name in SERVED_NAMES
                  if registry.versions(name)]
        return "committed " + " + ".join(served)
    from digitlab.train import TrainConfig, train

    print("bench/app.py: models/digits/1 is missing; training a tiny stand-in model",
          file=sys.stderr)
    result = train(TrainConfig(arch="fast", epochs=1, train_subset=8000, augment=False,
                               early_stopping_patience=None, test_subset=2000, verbose=0))
    Registry(models).save(result.model, "digits", result.card())
    return "tiny stand-in (fast, 1 epoch)"


def kernels(server: psutil.Process) -> list[psutil.Process]:
    """The kernel processes Voila started."""
    return [child for child in server.children(recursive=True)
            if "ipykernel_launcher" in " ".join(child.cmdline())]


def pool_filled(log: Path, count: int) -> bool:
    """True once Voila has filled its preheated pool `count` times."""
    return log.read_text().count("is filled with") >= count


def load_page(browser, url: str) -> tuple:
    """Open a page; return (page, ms to the pad being visible, ms to the kernel's first answer)."""
    page = browser.new_page(viewport={"width": 1200, "height": 1100})
    started = time.perf_counter()
    page.goto(url)
    page.wait_for_selector("canvas.dl-pad", timeout=90_000)
    visible = (time.perf_counter() - started) * 1000
    while True:  # Predict on the blank pad answers with a warning once the kernel is connected
        page.get_by_role("button", name="Predict").click()
        try:
            page.wait_for_selector('.dl-message[data-kind="warn"]', timeout=1_000)
            break
        except Exception:
            if time.perf_counter() - started > 90:
                raise
    return page, visible, (time.perf_counter() - started) * 1000


def stroke_latency(page, points, pace: float) -> float:
    """Draw one stroke on a cleared pad; ms from mouse up to the new top-3 in the DOM."""
    page.get_by_role("button", name="Clear").click()
    page.wait_for_selector('.dl-result[data-state="waiting"]')
    box = page.locator("canvas.dl-pad").bounding_box()
    scale = box["width"] / SHAPES_SIDE
    page.evaluate(WATCH_SCRIPT)
    page.mouse.move(box["x"] + scale * points[0][0], box["y"] + scale * points[0][1])
    page.mouse.down()
    for x, y in points[1:]:
        page.mouse.move(box["x"] + scale * x, box["y"] + scale * y)
        time.sleep(pace)
    page.mouse.up()
    page.wait_for_function("() => window.__changed !== null", timeout=30_000)
    return page.evaluate("() => window.__changed - window.__up")


def seed_review_queue(data: Path, count: int) -> dict[int, int]:
    """Store `count` MNIST test digits as unlabelled camera crops; {sample id: true label}."""
    from digitlab.data import load_mnist
    from digitlab.store import SampleStore

    (_, _), (images, labels) = load_mnist()
    store = SampleStore(data / "samples.sqlite")
    return {store.add(image, None, "camera", camera="bench", frame_id=index).id: int(label)
            for index, (image, label) in enumerate(zip(images[:count], labels[:count]))}


def shown_sample(page) -> str:
    """The id of the sample the review card shows ('' when none)."""
    return page.evaluate("() => document.querySelector('.dl-result')?.dataset.sample || ''")


def review_latencies(page, truth: dict[int, int]) -> list[float]:
    """Label every waiting sample by key; ms from each key press to the next sample shown."""
    page.get_by_role("button", name="Review", exact=True).click()
    page.wait_for_selector('.dl-result[data-state="review"]', timeout=30_000)
    page.locator("canvas.dl-pad").click()  # the keys go to the pad (a click draws nothing here)
    latencies = []
    while (sample := shown_sample(page)) and len(latencies) < len(truth):
        started = time.perf_counter()
        page.keyboard.press(str(truth[int(sample)]))
        page.wait_for_function("(before) => (document.querySelector('.dl-result')?.dataset"
                               ".sample || '') !== before", arg=sample, timeout=30_000)
        latencies.append((time.perf_counter() - started) * 1000)
    return latencies


def draw_shape(page, points, offset: float = 0.0, side: float | None = None) -> None:
    """Draw one stroke scaled from SHAPES_SIDE to `side` CSS pixels (default: the pad's width)."""
    box = page.locator("canvas.dl-pad").bounding_box()
    scale = (side or box["width"]) / SHAPES_SIDE
    page.mouse.move(box["x"] + offset + scale * points[0][0], box["y"] + scale * points[0][1])
    page.mouse.down()
    for x, y in points[1:]:
        page.mouse.move(box["x"] + offset + scale * x, box["y"] + scale * y, steps=2)
    page.mouse.up()


def take_screenshots(page, folder: Path) -> list[str]:
    """A JPEG of each mode, as a user sees it, for the README."""
    folder.mkdir(parents=True, exist_ok=True)
    shots = []

    def shoot(name: str) -> None:
        page.wait_for_timeout(600)  # let the last widget updates paint
        path = folder / f"{name}.jpg"
        page.screenshot(path=str(path), type="jpeg", quality=70, full_page=False)
        shots.append(str(path))

    for name, mode in (("Recognise a digit", "recognise"), ("Read a number", "read"),
                       ("Train your own", "collect"), ("Review", "review"),
                       ("Training", "train")):
        page.get_by_role("button", name=name, exact=True).click()
        page.wait_for_selector(f".dl-app.dl-mode-{mode}", timeout=30_000)
        if mode == "recognise":
            draw_shape(page, SHAPES[1])
            page.wait_for_selector('.dl-result[data-digit="7"]', timeout=30_000)
        elif mode == "read":
            height = page.locator("canvas.dl-pad").bounding_box()["height"]
            for index, shape in enumerate((SHAPES[0], SHAPES[1], SHAPES[2])):
                draw_shape(page, shape, offset=index * height * 0.8, side=height)
            page.wait_for_selector('.dl-result[data-state="read"]', timeout=30_000)
        elif mode == "review":
            page.locator("canvas.dl-pad").click()
            for _ in range(3):  # take three answers back, so that the queue shows some
                page.keyboard.press("Backspace")
            page.wait_for_selector('.dl-result[data-state="review"]', timeout=30_000)
        shoot(f"app-{mode}")
    return shots


def tensorflow_mapped(process: psutil.Process) -> bool:
    """True when a TensorFlow shared library is loaded in the process."""
    return any("tensorflow" in Path(region.path).name.lower()
               for region in process.memory_maps() if region.path)


def main(argv: list[str] | None = None) -> int:
    """Start the app, measure it, print JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--strokes", type=int, default=30)
    parser.add_argument("--loads", type=int, default=3, help="page loads to time")
    parser.add_argument("--pace-ms", type=float, default=8.0, help="time between pointer moves")
    parser.add_argument("--reviews", type=int, default=40, help="samples labelled in Review")
    parser.add_argument("--screenshots", type=Path, metavar="FOLDER",
                        help="also save a JPEG of each mode there (docs/screenshots for the README)")
    parser.add_argument("--no-preheat", dest="preheat", action="store_false",
                        help="compare: start each page's kernel on demand")
    arguments = parser.parse_args(argv)
    from playwright.sync_api import sync_playwright

    work = Path(tempfile.mkdtemp(prefix="digitlab-bench-app-"))
    folders = {name: work / name for name in ("models", "data", "runs")}
    for folder in folders.values():
        folder.mkdir()
    model = prepare_registry(folders["models"])
    truth = seed_review_queue(folders["data"], arguments.reviews)
    environment = {**os.environ, **{f"DIGITLAB_{name.upper()}_DIR": str(folder)
                                    for name, folder in folders.items()}}
    port, log_path = free_port(), work / "voila.log"
    url = f"http://127.0.0.1:{port}/"
    started = time.perf_counter()
    command = [sys.executable, "-m", "digitlab", "app", "--port", str(port), "--no-browser"]
    with open(log_path, "w") as log:
        server = subprocess.Popen(command + ([] if arguments.preheat else ["--no-preheat"]),
                                  env=environment, stdout=log, stderr=subprocess.STDOUT,
                                  cwd=ROOT, start_new_session=True)
    try:
        wait_until(lambda: port_listening(port), 120, "voila to listen")
        server_up = (time.perf_counter() - started) * 1000
        filled = (lambda count: pool_filled(log_path, count)) if arguments.preheat else (
            lambda count: True)
        wait_until(lambda: filled(1), 120, "the preheated kernel")
        pool_ready = (time.perf_counter() - started) * 1000
        report = {"model": model, "preheat": arguments.preheat, "server_up_ms": round(server_up),
                  "preheated_kernel_ready_ms": round(pool_ready) if arguments.preheat else None}
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            visible, live, page = [], [], None
            for load in range(arguments.loads):
                wait_until(lambda load=load: filled(load + 1), 120, "a refilled pool")
                if page is not None:  # leave as a closed tab does, so its kernel stops
                    page.goto("about:blank")  # (headless chromium sends no beacon on close)
                    page.close()
                page, shown, ready = load_page(browser, url)
                visible.append(shown)
                live.append(ready)
            latencies = [stroke_latency(page, SHAPES[index % len(SHAPES)],
                                        arguments.pace_ms / 1000)
                         for index in range(arguments.strokes)]
            reviews = review_latencies(page, truth)
            shots = take_screenshots(page, arguments.screenshots) if arguments.screenshots \
                else []
            wait_until(lambda: filled(arguments.loads + 1), 120, "the last refill")
            process = psutil.Process(server.pid)
            rss = {kernel.pid: kernel.memory_info().rss for kernel in kernels(process)}
            tensorflow = any(tensorflow_mapped(kernel) for kernel in kernels(process))
            browser.close()
        report.update({
            "page_visible": percentiles(visible), "page_live": percentiles(live),
            "mouse_up_to_top3": percentiles(latencies),
            "review_key_to_next_sample": percentiles(reviews),
            "review_labels_per_second": round(1000 / float(np.mean(reviews)), 1),
            "screenshots": shots,
            "pointer_moves_per_stroke": round(sum(len(s) for s in SHAPES) / len(SHAPES), 1),
            "pointer_pace_ms": arguments.pace_ms,
            "kernel_rss_mb": {"max": round(max(rss.values()) / 2**20, 1),
                              "kernels": len(rss)} if rss else None,
            "kernel_has_tensorflow": tensorflow, "cpu_count": os.cpu_count(),
            "load_average_1m": round(os.getloadavg()[0], 2)})
        print(json.dumps(report, indent=2))
        RESULTS.parent.mkdir(parents=True, exist_ok=True)
        RESULTS.write_text(json.dumps(report, indent=2) + "\n")
    finally:
        stop_process(server)
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
