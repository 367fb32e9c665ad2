"""The Voila app in a real browser: draw with the mouse, read the answer, save, undo, blank pad."""

from __future__ import annotations

import pytest

from digitlab.line_samples import LineSamples
from digitlab.processes import wait_until
from digitlab.store import SampleStore
from tests.app.browser import (
    BROWSER_MARKS,
    CUT_OFF_LABELS,
    clear,
    draw,
    keep_screenshot,
    launch,
    pad_box,
    shown_digit,
    wait_live,
)
from tests.app.helpers import SHAPES

pytestmark = BROWSER_MARKS
PAD_SHOWN = """([width, height, shown]) => {
  const pad = document.querySelector('canvas.dl-pad');
  return pad.width === width && pad.height === height
    && pad.getBoundingClientRect().width === shown;
}"""  # the pad's canvas pixels and shown width


@pytest.fixture(scope="module")
def page(voila_app):
    """One browser page on the app, live (its kernel connected) before the tests draw."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = launch(playwright)
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
        keep_screenshot(page, request.node.name)


def test_every_widget_renders_without_a_javascript_error(page):
    assert page.locator(".dl-saliency").is_visible()  # an Image with a tooltip once failed here
    assert "javascript error" not in page.content().lower()


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
    scale = pad_box(page)["shown"] / 336  # SHAPES are drawn for a 336-px pad
    points = SHAPES[1][0]
    steps = [(scale * points[0][0], scale * (points[0][1] + 10 * step)) for step in range(23)]
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
    page.wait_for_function(PAD_SHOWN, arg=[840, 300, 840])
    page.wait_for_selector('.dl-message:has-text("digits may touch")')
    assert page.locator(".dl-label-buttons").is_hidden()
    assert page.get_by_role("button", name="Save line").is_visible()
    page.get_by_role("button", name="Recognise a digit").click()
    page.wait_for_function(PAD_SHOWN, arg=[560, 560, 560])
    clear(page)
    draw(page, SHAPES[1])
    assert shown_digit(page) == "1" and page.locator(".dl-label-buttons").is_visible()
    assert page.get_by_role("button", name="Save line").is_hidden()


def test_enter_in_the_number_box_saves_the_number_and_backspace_takes_it_back(page, voila_app):
    lines = LineSamples(SampleStore(voila_app["store"]))
    before = lines.count()
    page.get_by_role("button", name="Read a number").click()
    page.wait_for_function(PAD_SHOWN, arg=[840, 300, 840])
    clear(page)
    for digit, left in ((1, 60), (7, 200)):
        draw(page, [[(left + 0.6 * x, 20 + 0.6 * y) for x, y in stroke] for stroke in SHAPES[digit]],
             scale=1.0)
    page.wait_for_selector('.dl-result:not([data-state="waiting"])')
    page.get_by_placeholder("the right number").fill("17")
    page.get_by_placeholder("the right number").press("Enter")
    wait_until(lambda: lines.count() == before + 1)
    page.wait_for_selector('.dl-saved-lines .dl-chip:has-text("17")')
    page.wait_for_function("document.activeElement.classList.contains('dl-pad')")
    page.keyboard.press("Backspace")  # in Read a number, Backspace takes the number back
    wait_until(lambda: lines.count() == before)
    page.wait_for_selector('.dl-message:has-text("Took back the saved number 17")')
    page.get_by_role("button", name="Recognise a digit").click()
    page.wait_for_function(PAD_SHOWN, arg=[560, 560, 560])


def test_deleting_from_the_history_hands_the_keyboard_back_to_the_pad(page, voila_app):
    store = SampleStore(voila_app["store"])
    before = store.total()
    clear(page)
    draw(page, SHAPES[1])
    shown_digit(page)
    page.keyboard.press("4")
    wait_until(lambda: store.total() == before + 1)
    page.locator(".dl-slot").first.get_by_role("button", name="delete").click()
    wait_until(lambda: store.total() == before)
    page.wait_for_function("document.activeElement.classList.contains('dl-pad')")


def test_labels_fit_their_buttons_and_the_words_fit_the_page(page):
    assert ":8866" not in page.inner_text("body")  # the test server listens on another port
    page.get_by_role("button", name="Train your own").click()
    page.wait_for_selector(".dl-prompt")
    assert page.get_by_role("button", name="Right (Enter)").count() == 0
    assert page.get_by_role("button", name="Save as").is_visible()
    assert page.evaluate(CUT_OFF_LABELS) == []
    page.get_by_role("button", name="Read a number").click()
    page.wait_for_function(PAD_SHOWN, arg=[840, 300, 840])
    assert page.evaluate(CUT_OFF_LABELS) == []
    page.get_by_role("button", name="Recognise a digit").click()
    page.wait_for_function(PAD_SHOWN, arg=[560, 560, 560])
    assert page.get_by_role("button", name="Right (Enter)").is_visible()
    assert page.evaluate(CUT_OFF_LABELS) == []


PAD_INSIDE_PAGE = """() => {
  const box = document.querySelector('canvas.dl-pad').getBoundingClientRect();
  return box.left >= 0 && box.right <= document.documentElement.clientWidth;
}"""


def test_the_pad_is_560_pixels_where_it_fits_and_shrinks_where_it_does_not(page):
    page.wait_for_function(PAD_SHOWN, arg=[560, 560, 560])  # also after a mode's bigger pad
    try:
        wide = pad_box(page)
        assert (wide["width"], wide["height"], wide["shown"]) == (560, 560, 560)
        for width in (700, 480):
            page.set_viewport_size({"width": width, "height": 1100})
            page.wait_for_function(f"document.documentElement.clientWidth === {width}")
            page.wait_for_function(PAD_INSIDE_PAGE, timeout=10_000)  # the layout reflows after
            shown = pad_box(page)
            assert (shown["width"], shown["height"]) == (560, 560)  # the canvas pixels stay
            assert 0 <= shown["left"] and shown["right"] <= shown["page"]  # all of it visible
            assert abs(shown["shown"] - shown["shownHeight"]) <= 2  # still square
            clear(page)
            draw(page, SHAPES[1])  # scaled to the pad as shown: pointer scaled back to pixels
            assert shown_digit(page) == "1"
        assert shown["shown"] < 560  # 480 px: narrower than its pixels
        keep_screenshot(page, "pad-480")
    finally:
        page.set_viewport_size({"width": 1200, "height": 1100})
    page.wait_for_function(PAD_SHOWN, arg=[560, 560, 560])


CONTEXT_MENU = """() => {
  const menu = new MouseEvent('contextmenu', {bubbles: true, cancelable: true, button: 2});
  document.querySelector('canvas.dl-pad').dispatchEvent(menu);
  return menu.defaultPrevented;
}"""


def test_right_click_clears_the_pad(page):
    clear(page)
    draw(page, SHAPES[7])
    assert shown_digit(page) == "7"
    box = page.locator("canvas.dl-pad").bounding_box()
    page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2, button="right")
    page.wait_for_selector('.dl-result[data-state="waiting"]', timeout=5_000)
    assert page.evaluate(CONTEXT_MENU)  # no browser menu over the pad
    page.get_by_role("button", name="Predict").click()  # nothing left, not even a dot
    message = page.wait_for_selector('.dl-message[data-kind="warn"]')
    assert "blank" in message.inner_text()
    draw(page, SHAPES[1])  # the left button still draws
    assert shown_digit(page) == "1"
