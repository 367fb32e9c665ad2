"""DrawingApp: the ipywidgets front end that ties the pad, the session, the state and the views."""

from __future__ import annotations

from digitlab.app import messages, page_loads, panels
from digitlab.app.collect_view import CollectView
from digitlab.app.controls import Controls, on_enter
from digitlab.app.keys import key_action
from digitlab.app.model_picker import ModelPicker
from digitlab.app.pad import DrawingPad
from digitlab.app.panels import HistoryStrip, counts_html, prediction_html, reading_html
from digitlab.app.retrain_view import RetrainView
from digitlab.app.review_view import ReviewView
from digitlab.app.saving import SampleActions
from digitlab.app.session import DEFAULT_MODEL, DrawingSession, NoModelError
from digitlab.app.state import AppState
from digitlab.ink import EmptyImageError
from digitlab.registry import ModelRef
from digitlab.retrain_job import RetrainJobs
from digitlab.review import ReviewQueue, model_set, waiting_count

# Canvas pixels per mode (the reference pads are 560 px); a narrower window shows them smaller.
PAD_SIZES = {"recognise": (560, 560), "read": (840, 300), "collect": (560, 560),
             "review": (420, 420), "train": (560, 560)}
PEN_WIDTH = 36  # canvas pixels: the old 22 on a 336 pad, scaled to the 560 one


class DrawingApp:
    """Draw digits, see what the model reads, correct it, and retrain it from your drawings."""

    def __init__(self, model: str | None = DEFAULT_MODEL, store=None, registry=None,
                 jobs: RetrainJobs | None = None, history_length: int = 8,
                 session: DrawingSession | None = None):
        self.session = session or DrawingSession(store, registry, model=model,
                                                 width=PAD_SIZES["recognise"][0],
                                                 height=PAD_SIZES["recognise"][1],
                                                 pen_width=PEN_WIDTH)
        self.jobs = jobs or RetrainJobs(models_root=self.session.registry.root,
                                       store_path=self.session.store.location)
        predictor = self.session.predictor
        self.state = AppState(model=None if predictor is None else str(predictor.spec))
        self.state.set_name = self.session.set_name = self.model_set()
        self.notify = self.state.notify
        self.connections = 0
        recorder = self.session.recorder
        if (recorder.width, recorder.height) != PAD_SIZES[self.state.mode]:
            recorder.resize(*PAD_SIZES[self.state.mode])  # a session made elsewhere: the app's pad
        self.pad = DrawingPad(recorder)
        self.pad.on_stroke_end(self.stroke_finished)
        self.pad.on_key(self.key_pressed)
        self.pad.on_ready(self.client_ready)
        self.build(history_length)
        saving = self.saving
        self.key_actions = {"save": self.label_pressed, "accept": saving.accept,
                            "later": saving.later,
                            "undo_save": saving.undo_save, "clear": self.clear,
                            "undo_stroke": self.undo_stroke,
                            "answer": self.answer}  # the actions keys.key_action names
        self.observe_state()
        self.show_waiting()
        if self.session.model_error:
            self.notify("error", f"{self.session.model_error} You can still draw and collect "
                                 "samples; train a model with `digitlab train`.")
        else:
            self.notify("info", messages.MODE_HINTS["recognise"])
        self.refresh()
        page_loads.on_page_load(self.refresh)  # a page opened later gets the state as it is then

    # -- layout -----------------------------------------------------------------------------

    def build(self, history_length: int) -> None:
        """Create the widgets, lay them out and connect them to the actions."""
        state = self.state
        self.controls = controls = Controls(int(self.session.recorder.pen_width), state)
        self.result, self.model_input = controls.result, controls.model_input
        self.message, self.counts = controls.message, controls.counts
        self.models = ModelPicker(self.session, state, controls.model_picker,
                                  controls.models_refresh, self.model_changed)
        controls.pen.observe(self.pen_changed, names="value")
        controls.undo_stroke_button.on_click(lambda _: self.pressed(self.undo_stroke))
        controls.clear_button.on_click(lambda _: self.pressed(self.clear))
        controls.predict_button.on_click(lambda _: self.pressed(self.answer))
        self.retrain = RetrainView(self.jobs, self.session.registry, state, self.base_model_name,
                                   self.models.follow)
        self.collect = CollectView(state, self.retrain.start_scratch, self.show_samples,
                                   self.model_set, self.retrain.job_line)
        self.saving = saving = SampleActions(self.session, state, self.pad, self.collect,
                                             controls.line_text, controls.saved_lines,
                                             self.show_waiting, self.show_samples,
                                             lambda: self.answer(quiet=True))
        self.review = ReviewView(ReviewQueue(self.session.store, self.session.probabilities28),
                                 state, self.pad, controls.model_input, controls.result,
                                 self.show_samples)
        for digit, label_button in enumerate(controls.label_buttons):
            label_button.on_click(lambda _, digit=digit: self.pressed(self.label_pressed, digit))
        controls.accept_button.on_click(lambda _: self.pressed(saving.accept))
        controls.later_button.on_click(lambda _: self.pressed(saving.later))
        controls.undo_save_button.on_click(lambda _: self.pressed(saving.undo_save))
        controls.save_line_button.on_click(lambda _: self.pressed(saving.lines.save_line))
        on_enter(controls.line_text, lambda: self.pressed(saving.lines.save_line))
        controls.undo_line_button.on_click(lambda _: self.pressed(saving.lines.undo))
        self.history = HistoryStrip(history_length, saving.relabel,
                                    lambda sample_id: self.pressed(saving.delete, sample_id))
        self.widget = controls.layout(self.pad.canvas, self.collect.box, self.review.box,
                                      self.history.box, self.retrain.box)

    def observe_state(self) -> None:
        """Follow the state: the session saves to the selected set, a new mode resets the pad."""
        self.state.observe(lambda change: setattr(self.session, "set_name", change["new"]),
                           names="set_name")
        self.state.observe(self.mode_changed, names="mode")
        self.state.observe(self.show_samples, names=["mode", "set_name"])  # once the set is in

    def show(self) -> None:
        """Display the app in the notebook (or Voila page)."""
        from IPython.display import display

        display(self.widget)

    def _repr_mimebundle_(self, **kwargs):
        """Let a bare `app` at the end of a cell display the app."""
        return self.widget._repr_mimebundle_(**kwargs)

    # -- displays ---------------------------------------------------------------------------

    def show_waiting(self, text: str | None = None) -> None:
        """Reset the result card and the model's-eye view."""
        self.result.value = panels.waiting_html(text or messages.WAITING[self.state.mode])
        self.model_input.show(None)

    def refresh(self) -> None:
        """Show the store, the registry and a running job as they are now (not as they were
        when a preheated kernel built the app, before anyone opened the page)."""
        self.models.refresh()
        self.show_samples()
        self.retrain.resume(self.base_model_name())
        if self.state.mode == "review":
            self.review.start()  # the queue as it is now: cameras may have added to it

    def show_samples(self, change=None) -> None:
        """Show the selected set's samples: history strip, counts and the panels fed by them."""
        store = self.session.store
        collecting = self.state.mode == "collect"
        unnamed = collecting and self.state.set_name is None  # the form's name is invalid
        self.history.show([] if unnamed else self.session.history())
        if self.state.mode == "read":  # the saved numbers are listed in that mode only
            self.saving.lines.show_lines()
        counts = {} if unnamed else self.session.counts()
        self.counts.value = counts_html(counts, self.collect.plan_size() if collecting else None)
        if collecting:
            self.collect.refresh(counts, self.saving.last_label)
            self.controls.show_wanted(self.collect.wanted)
        name, own_set = self.base_model_name(), self.model_set()
        labelled = store.total(set_name=own_set)
        corrections = sum(store.counts(set_name=own_set, sources=["correction"]).values())
        self.retrain.refresh(name, labelled, corrections, waiting_count(store, own_set))

    # -- pad events -------------------------------------------------------------------------

    def pressed(self, action, *arguments) -> None:
        """Run a button's action, then hand the keyboard focus back to the pad."""
        action(*arguments)
        self.pad.focus()

    def client_ready(self) -> None:
        """A browser's pad is ready (its page was brought up to date as it began loading, see
        page_loads): mark the page live."""
        self.connections += 1
        self.controls.live.value = f'<span class="dl-live" data-views="{self.connections}"></span>'

    def stroke_finished(self) -> None:
        """A stroke ended: answer at once."""
        self.answer()

    def key_pressed(self, key: str, shift: bool, ctrl: bool, meta: bool) -> None:
        """Keyboard shortcuts while the pad has focus (keys.SHORTCUTS; Review has its own)."""
        if self.state.mode == "review":
            if not (ctrl or meta):
                self.review.key(key)
            return
        action = key_action(key, ctrl, meta)
        if action is not None:
            name, digit = action
            self.key_actions[name](*([] if digit is None else [digit]))

    def pen_changed(self, change) -> None:
        """Use the new pen width for the next strokes."""
        self.session.recorder.pen_width = float(change["new"])

    # -- actions ----------------------------------------------------------------------------

    def label_pressed(self, digit: int) -> None:
        """A digit key or button: label the Review sample, else save the drawing with it."""
        if self.state.mode == "review":
            self.review.act("label", digit)
        else:
            self.saving.save(digit)

    def answer(self, quiet: bool = False) -> None:
        """Predict the digit (or read the number) and show it; explain a blank pad or no model."""
        try:
            if self.state.mode == "read":
                reading = self.session.read()
                self.result.value = reading_html(reading, self.session.reader_id or
                                                 self.session.model_id)
                self.pad.show_boxes([(d.box, str(d.digit)) for d in reading.digits])
            else:
                prediction = self.session.predict()
                self.result.value = prediction_html(prediction, self.session.model_id)
                self.model_input.show(prediction.image28, self.session.probabilities28)
        except EmptyImageError:
            self.show_waiting()
            self.notify("warn", messages.no_digit(self.session.recorder.is_empty()))
            return
        except NoModelError as error:
            self.notify("error", f"No model to ask: {error}")
            return
        if not quiet or self.state.message[0] == "warn":  # quiet keeps other news
            self.notify("info", messages.AFTER_ANSWER[self.state.mode])

    def clear(self) -> None:
        """Wipe the pad."""
        self.session.clear()
        self.pad.redraw_ink()
        self.show_waiting()

    def undo_stroke(self) -> None:
        """Take back the last stroke and answer again."""
        self.session.undo_stroke()
        self.pad.redraw_ink()
        if self.session.recorder.is_empty():
            self.show_waiting()
        else:
            self.answer(quiet=True)

    # -- modes, models and training ---------------------------------------------------------

    def mode_changed(self, change) -> None:
        """A new mode: resize the pad, forget the answer and show the mode's hint."""
        mode = change["new"]
        self.pad.resize(*PAD_SIZES[mode])
        self.session.changed()
        self.show_waiting()
        self.notify("info", messages.MODE_HINTS[mode])
        self.review.mode_changed(change)  # after the reset above: it shows its first sample
        self.pad.focus()

    def model_changed(self) -> None:
        """Another model is in use: its sample set is the one saved to and reviewed, and the
        drawing on the pad is answered again."""
        if self.state.mode != "collect":
            self.state.set_name = self.model_set()
        if self.state.mode == "review":
            self.review.start()
        elif not self.session.recorder.is_empty():
            self.answer(quiet=True)
        self.show_samples()

    def base_model_name(self) -> str:
        """The registry name of the model in use (what a fine-tune starts from)."""
        return ModelRef.parse(self.session.model_id or DEFAULT_MODEL).name

    def model_set(self) -> str | None:
        """The sample set of the model in use: corrections go there, fine-tunes learn from it."""
        return model_set(self.base_model_name())
