"""The app's buttons, pickers and displays, laid out; they show the mode and the message line."""

from __future__ import annotations

import ipywidgets as widgets
from traitlets import link

from digitlab.app import messages
from digitlab.app.panels import ModelInput
from digitlab.app.state import AppState
from digitlab.app.styles import STYLESHEET

MODES = [("Recognise a digit", "recognise"), ("Read a number", "read"),
         ("Train your own", "collect")]
KEYS_HELP = ('<div class="dl-hint dl-keys">Keys on the pad: <kbd>0</kbd>–<kbd>9</kbd> save with '
             "that label · <kbd>Enter</kbd> the model is right · <kbd>Backspace</kbd> undo the "
             "last save · <kbd>Esc</kbd> clear · <kbd>Z</kbd> undo stroke</div>")


class Controls:
    """Every widget of the main screen except the pad and the side panels."""

    def __init__(self, pen_width: int, state: AppState):
        button = widgets.Button
        self.model_picker = widgets.Dropdown(description="Model",
                                             layout=widgets.Layout(width="320px"))
        self.models_refresh = button(icon="refresh", tooltip="Re-read the model registry",
                                     layout=widgets.Layout(width="40px"))
        self.mode_picker = widgets.ToggleButtons(options=MODES, value=state.mode)
        self.mode_picker.style.button_width = "150px"
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
        self.model_view = widgets.VBox([
            widgets.HTML('<div class="dl-hint">What the model sees (28×28)</div>'),
            self.model_input.image])
        self.label_buttons = [button(description=str(d), tooltip=f"Save as {d} (key {d})")
                              for d in range(10)]
        self.accept_button = button(description="Right (Enter)", icon="check",
                                    button_style="success", layout=widgets.Layout(width="150px"))
        self.undo_save_button = button(description="Undo save (Backspace)", icon="reply",
                                       layout=widgets.Layout(width="200px"))
        labels_row = widgets.HBox(self.label_buttons)
        labels_row.add_class("dl-label-buttons")
        self.saving = widgets.VBox([
            widgets.HTML('<div class="dl-hint">Wrong? Save it with the right label '
                         "(or press the digit key):</div>"),
            labels_row, widgets.HBox([self.accept_button, self.undo_save_button])])
        self.message = widgets.HTML()
        self.message.add_class("dl-message-box")
        self.counts = widgets.HTML()
        self.live = widgets.HTML(layout=widgets.Layout(display="none"))  # marks a live connection
        state.watch(self.show_mode, "mode")
        state.watch(self.show_message, "message")

    def show_mode(self, change) -> None:
        """Hide the saving row and the model's-eye view while reading numbers."""
        for part in (self.saving, self.model_view):
            part.layout.display = "none" if change["new"] == "read" else "flex"

    def show_message(self, change) -> None:
        """Show the message line (nothing before the first message)."""
        kind, text = change["new"]
        self.message.value = messages.message_html(kind, text) if text else ""

    def layout(self, pad, collect, history, retrain) -> widgets.VBox:
        """Arrange everything: header, the pad beside the answer, history and retraining."""
        header = widgets.HBox([self.mode_picker,
                               widgets.HBox([self.model_picker, self.models_refresh])],
                              layout=widgets.Layout(justify_content="space-between",
                                                    align_items="center", flex_flow="row wrap"))
        left = widgets.VBox([pad, self.pen, widgets.HBox(
            [self.undo_stroke_button, self.clear_button, self.predict_button])],
            layout=widgets.Layout(margin="0 20px 0 0"))
        card = widgets.HBox([self.result, self.model_view],
                            layout=widgets.Layout(justify_content="space-between"))
        card.add_class("dl-card")
        right = widgets.VBox([collect, card, self.saving, self.message, widgets.HTML(KEYS_HELP)],
                             layout=widgets.Layout(flex="1 1 420px", max_width="560px"))
        columns = widgets.HBox([left, right], layout=widgets.Layout(flex_flow="row wrap"))
        samples = widgets.VBox([widgets.HTML('<div class="dl-section">Your saved drawings</div>'),
                                history, self.counts])
        samples.add_class("dl-card")
        app = widgets.VBox([widgets.HTML(STYLESHEET), self.live, header, columns, samples, retrain],
                           layout=widgets.Layout(grid_gap="12px"))
        app.add_class("dl-app")
        return app
