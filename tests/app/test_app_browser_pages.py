"""Pages in a real browser over their life: a new page or tab shows the state as it is when it
opens (not as the preheated kernel saw it) and follows a running job; left pages free kernels."""

from __future__ import annotations

import numpy as np
import pytest

from digitlab.jobs import JobManager
from digitlab.processes import wait_until
from digitlab.store import SampleStore
from tests.app.browser import (
    BROWSER_MARKS,
    CUT_OFF_LABELS,
    choose_mode,
    kernels,
    launch,
    leave,
    open_page,
    wait_for_pooled_app,
    wait_live,
)

pytestmark = BROWSER_MARKS
SLOW_JOB = "tests.app.slow_job:run"


@pytest.fixture(scope="module")
def browser(voila_app):
    """Headless chromium, for as many tabs as a test opens."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = launch(playwright)
        yield browser
        browser.close()


def test_a_new_page_shows_the_store_and_the_running_job_as_they_are_now(voila_app, browser,
                                                                        tmp_path):
    first = open_page(browser, voila_app["url"])
    wait_for_pooled_app(voila_app)  # the next page's app is built: what follows is news to it
    store = SampleStore(voila_app["store"])
    newest = [store.add(np.random.default_rng(seed).integers(0, 255, (28, 28), dtype=np.uint8),
                        5, "canvas") for seed in range(3)][-1]
    jobs, go = JobManager(voila_app["runs"] / "jobs"), tmp_path / "go"
    job = jobs.start(SLOW_JOB, {"go": str(go)}, lock_name="digits")
    try:
        second = open_page(browser, voila_app["url"])
        second.wait_for_selector(f'.dl-source:has-text("#{newest.id}")', timeout=5_000)
        choose_mode(second, "Training")  # training is a tab: its progress beside its button
        assert "the default pool: 3 labelled samples" in second.inner_text(".dl-app")
        second.wait_for_selector('.dl-job-status:visible:has-text("epoch 1 of 4")', timeout=10_000)
        first.reload()  # an open page reloaded mid-job follows the job too
        wait_live(first)
        choose_mode(first, "Training")
        first.wait_for_selector('.dl-job-status:visible:has-text("epoch 1 of 4")', timeout=10_000)
        go.touch()
        for page in (first, second):  # the job finishes: both pages show its result card
            page.wait_for_selector(".dl-outcome", timeout=20_000)
            assert page.get_by_role("button", name="Keep the current model").is_visible()
            assert page.evaluate(CUT_OFF_LABELS) == []
    finally:
        go.touch()
        jobs.wait(job["id"], timeout=30)
    for page in (first, second):
        leave(page)


def test_review_shows_each_waiting_sample_on_the_pad_and_takes_labels_by_key(voila_app, browser,
                                                                           mnist):
    (_, _), (images, labels) = mnist
    store = SampleStore(voila_app["store"])
    truth = {store.add(image, None, "camera", camera="door", frame_id=index).id: int(label)
             for index, (image, label) in enumerate(zip(images[:3], labels[:3]))}
    page = open_page(browser, voila_app["url"])
    choose_mode(page, "Review")
    card = page.wait_for_selector('.dl-result[data-state="review"]', timeout=10_000)
    assert "camera door" in card.inner_text() and "3 waiting" in card.inner_text()
    assert not page.get_by_role("button", name="Clear").is_visible()  # no drawing tools here
    page.locator("canvas.dl-pad").click()  # the keys go to the pad; a click draws nothing
    for _ in truth:
        sample = int(page.get_attribute(".dl-result", "data-sample"))
        painted = page.evaluate("""() => {  // the sample is painted on the pad's ink layer
            const pad = document.querySelector('canvas.dl-pad');
            const pixels = pad.getContext('2d').getImageData(0, 0, pad.width, pad.height).data;
            let dark = 0;
            for (let i = 0; i < pixels.length; i += 4) dark += pixels[i + 3] > 0 && pixels[i] < 128;
            return dark;
        }""")
        assert painted > 100
        page.keyboard.press(str(truth[sample]))
        page.wait_for_function("(before) => document.querySelector('.dl-result').dataset.sample"
                               " !== before", arg=str(sample), timeout=10_000)
    page.wait_for_selector('.dl-result[data-state="review-empty"]', timeout=10_000)
    assert [store.get(sample_id).label for sample_id in truth] == list(truth.values())
    page.keyboard.press("Backspace")  # the last answer taken back: that sample waits again
    page.wait_for_selector('.dl-result[data-state="review"]', timeout=10_000)
    assert store.get(sample).label is None  # the last one labelled
    leave(page)


def test_reloaded_and_left_pages_free_their_kernels(voila_app, browser):
    def settled_on(count):
        return lambda: len(kernels(voila_app["pid"])) == count

    wait_until(settled_on(1), 60, "only the preheated kernel")
    first = open_page(browser, voila_app["url"])
    for _ in range(3):
        first.reload()
        wait_live(first)
    second = open_page(browser, voila_app["url"])
    wait_until(settled_on(3), 60, "a kernel per open page and one preheated")
    for page in (second, first):
        leave(page)
    wait_until(settled_on(1), 60, "the left pages' kernels to stop, the preheated one to stay")
