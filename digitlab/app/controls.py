"""The app's buttons, pickers and displays, laid out; they show the mode and the message line."""

from __future__ import annotations

from collections.abc import Callable

import ipywidgets as widgets
from traitlets import link

from digitlab.app import messages
from digitlab.app.panels import ModelInput
from digitlab.app.state import MODES as MODE_NAMES
from digitlab.app.state import AppState
from digitlab.app.styles import PAD_MOUSE_SCRIPT, STYLESHEET

MODES = [("Recognise a digit", "recognise"), ("Read a number", "read"),
         ("Train your own", "collect"), ("Review", "review"), ("Training", "train")]
DRAWING_MODES = ("recognise", "read", "collect")  # the pad takes strokes; history is shown
KEYS = {  # what the keys on the pad do, per mode
    "recognise": "<kbd>0</kbd>–<kbd>9</kbd> save with that label · <kbd>Enter</kbd> the model is "
                 "right · <kbd>L</kbd> label later (Review) · <kbd>Backspace</kbd> undo the "
                 "last save",
    "read": "<kbd>Enter</kbd> save the number as typed in the box, or as read · <kbd>P</kbd> "
            "read again · <kbd>Backspace</kbd> undo the last saved number",
    "collect": "<kbd>Enter</kbd> save as the digit asked for · <kbd>0</kbd>–<kbd>9</kbd> save "
               "with that label · <kbd>Backspace</kbd> undo the last save",
    "review": "<kbd>0</kbd>–<kbd>9</kbd> label · <kbd>N</kbd> not a digit · <kbd>Space</kbd> "
              "skip · <kbd>Backspace</kbd> undo the last answer",
    "train": "",
}
SAVING_HINTS = {"recognise": "Wrong? Save it with the right label (or press the digit key):",
                "collect": "Save it as the digit asked for, or with the label you drew:",
                "review": "Label it (or press the digit key):"}


def keys_help(mode: str) -> str:
    """The line that lists the keys of a mode."""
    if not KEYS[mode]:
        return ""
    drawing = " · <kbd>Esc</kbd> clear · <kbd>Z</kbd> undo stroke" if mode in DRAWING_MODES else ""
    return f'<div class="dl-hint dl-keys">Keys on the pad: {KEYS[mode]}{drawing}</div>'


def on_enter(text: widgets.Text, action: Callable[[], None]) -> None:
    """Run action when Enter is pressed in a text box (the box's "submit" message; ipywidgets 8
    still sends it, though its on_submit is deprecated)."""
    text.on_msg(lambda _, content, buffers: action() if content.get("event") == "submit" else None)


class Controls:
    """Every widget of the main screen except the pad and the side panels."""

    def __init__(self, pen_width: int, state: AppState):
        self.state, button = state, widgets.Button
        self.model_picker = widgets.Dropdown(description="Model",
                                             layout=widgets.Layout(width="320px"))
        self.models_refresh = button(icon="refresh", tooltip="Re-read the model registry",
                                     layout=widgets.Layout(width="40px"))
        self.mode_picker = widgets.ToggleButtons(options=MODES, value=state.mode)
        self.mode_picker.style.button_width = "136px"
        link((state, "mode"), (self.mode_picker, "value"))
        self.pen = widgets.IntSlider(value=pen_width, min=6, max=48, description="Pen width",
                                     continuous_update=False, layout=widgets.Layout(width="336px"))
        self.undo_stroke_button = button(description="Undo", icon="undo",
                                         tooltip="Undo the last stroke (Z)",
                                         layout=widgets.Layout(width="110px"))
        self.clear_button = button(description="Clear", icon="eraser",
                                   tooltip="Clear the pad (Esc)",
                                   layout=widgets.Layout(width="110px"))
        self.predict_button = button(description="Predict", icon="magic",
                                     tooltip="Ask the model again (P)",
                                     layout=widgets.Layout(width="110px"))
        self.result = widgets.HTML(layout=widgets.Layout(width="260px"))
        self.model_input = ModelInput(scale=5)
        self.model_view = widgets.HBox([
            widgets.VBox([widgets.HTML('<div class="dl-hint">What the model sees (28×28)</div>'),
                          self.model_input.image]),
            widgets.VBox([widgets.HTML('<div class="dl-hint" title="red: covering these pixels costs the '
                                       'answer most">What it looked at</div>'),
                          self.model_input.saliency])])
        self.label_buttons = [button(description=str(d), tooltip=f"Save as {d} (key {d})")
                              for d in range(10)]
        self.accept_button = button(icon="check", button_style="success",
                                    layout=widgets.Layout(width="auto", min_width="150px"))
        self.undo_save_button = button(description="Undo save (Backspace)", icon="reply",
                                       layout=widgets.Layout(width="200px"))
        self.later_button = button(description="Label later (L)", icon="clock-o",
                                   tooltip="Not sure? Keep it unlabelled for the Review queue",
                                   layout=widgets.Layout(width="auto"))
        labels_row = widgets.HBox(self.label_buttons)
        labels_row.add_class("dl-label-buttons")
        self.saving_hint = widgets.HTML()
        self.accept_row = widgets.HBox([self.accept_button, self.later_button,
                                        self.undo_save_button])
        self.saving = widgets.VBox([self.saving_hint, labels_row, self.accept_row])
        self.line_text = widgets.Text(placeholder="the right number, e.g. 1907",
                                      layout=widgets.Layout(width="220px"))
        self.save_line_button = button(description="Save line", icon="save",
                                       tooltip="Save the number with the text you typed",
                                       layout=widgets.Layout(width="130px"))
        self.undo_line_button = button(description="Undo save", icon="reply",
                                       tooltip="Take back the last saved number (Backspace)",
                                       layout=widgets.Layout(width="120px"))
        self.saved_lines = widgets.HTML(layout=widgets.Layout(display="none"))
        self.samples_title = widgets.HTML()
        self.line_saving = widgets.VBox([
            widgets.HTML('<div class="dl-hint">The right number (several lines: separated by '
                         "spaces, top line first), then Enter or Save line; the reader learns "
                         "from saved lines.</div>"),
            widgets.HBox([self.line_text, self.save_line_button, self.undo_line_button])],
            layout=widgets.Layout(display="none"))
        self.message = widgets.HTML()
        self.message.add_class("dl-message-box")
        self.counts = widgets.HTML()
        self.live = widgets.HTML(layout=widgets.Layout(display="none"))  # marks a live connection
        self.keys = widgets.HTML()
        state.watch(self.show_mode, "mode")
        state.watch(self.show_message, "message")

    def show_mode(self, change) -> None:
        """While reading numbers, the line-saving row replaces the digit-saving row and model's eye;
        the saving row and the keys line say what they do in each mode."""
        mode = change["new"]
        reading = mode == "read"
        for part in (self.saving, self.model_view):
            part.layout.display = "none" if reading else "flex"
        self.line_saving.layout.display = "flex" if reading else "none"
        self.keys.value = keys_help(mode)
        if mode in SAVING_HINTS:
            self.saving_hint.value = f'<div class="dl-hint">{SAVING_HINTS[mode]}</div>'
            self.show_wanted(None)
        self.accept_row.layout.display = "none" if mode == "review" else "flex"
        self.later_button.layout.display = "flex" if mode == "recognise" else "none"

    def show_wanted(self, digit: int | None) -> None:
        """Name what Enter saves: the model's answer, or the digit a set asks for."""
        if self.state.mode != "collect":
            self.accept_button.description = "Right (Enter)"
        else:
            self.accept_button.description = ("Save (Enter)" if digit is None
                                              else f"Save as {digit} (Enter)")

    def show_message(self, change) -> None:
        """Show the message line (nothing before the first message)."""
        kind, text = change["new"]
        self.message.value = messages.message_html(kind, text) if text else ""

    def layout(self, pad, collect, review, history, retrain) -> widgets.VBox:
        """Arrange everything: header, the pad beside the answer, history; training is a tab."""
        header = widgets.HBox([self.mode_picker,
                               widgets.HBox([self.model_picker, self.models_refresh])],
                              layout=widgets.Layout(justify_content="space-between",
                                                    align_items="center", flex_flow="row wrap"))
        self.pad_tools = widgets.VBox([self.pen, widgets.HBox(
            [self.undo_stroke_button, self.clear_button, self.predict_button])])
        left = widgets.VBox([pad, self.pad_tools],
            layout=widgets.Layout(margin="0 20px 0 0", min_width="0", max_width="100%",
                                  overflow="visible"))  # may shrink: the pad shrinks with it
        card = widgets.HBox([self.result, self.model_view],
                            layout=widgets.Layout(justify_content="space-between"))
        card.add_class("dl-card")
        right = widgets.VBox([collect, card, review, self.saving, self.line_saving,
                              self.message, self.keys],
                             layout=widgets.Layout(flex="1 1 420px", max_width="560px"))
        self.columns = widgets.HBox([left, right], layout=widgets.Layout(flex_flow="row wrap"))
        self.drawings = widgets.VBox([history, self.counts])
        self.samples = widgets.VBox([self.samples_title, self.drawings, self.saved_lines])
        self.samples.add_class("dl-card")
        # the message line is shown in the Training tab too (one widget, two views)
        self.training = widgets.VBox([retrain, self.message], layout=widgets.Layout(
            grid_gap="8px", max_width="760px"))
        page = widgets.HTML(STYLESHEET + PAD_MOUSE_SCRIPT)  # the styles, right-click on the pad
        app = widgets.VBox([page, self.live, header, self.columns, self.samples, self.training],
                           layout=widgets.Layout(grid_gap="12px"))
        app.add_class("dl-app")
        self.app = app
        self.state.watch(self.show_sections, "mode")
        return app

    def show_sections(self, change) -> None:
        """Training is a tab of its own; Review shows a sample on the pad with no drawing tools."""
        mode = change["new"]
        self.columns.layout.display = "none" if mode == "train" else "flex"
        self.training.layout.display = "flex" if mode == "train" else "none"
        self.samples.layout.display = "flex" if mode in DRAWING_MODES else "none"
        reading = mode == "read"  # saved numbers are listed instead of saved drawings
        self.samples_title.value = (f'<div class="dl-section">Your saved '
                                    f'{"numbers" if reading else "drawings"}</div>')
        self.drawings.layout.display = "none" if reading else "flex"
        self.saved_lines.layout.display = "block" if reading else "none"
        self.pad_tools.layout.display = "flex" if mode in DRAWING_MODES else "none"
        for other in MODE_NAMES:
            self.app.remove_class(f"dl-mode-{other}")
        self.app.add_class(f"dl-mode-{mode}")  # last: pages (and tests) see the mode is shown
