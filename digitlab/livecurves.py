"""A Keras callback that redraws loss and accuracy curves in a notebook after every epoch."""

from __future__ import annotations

import keras

from digitlab.plots import close, plot_training_curves


class LiveCurves(keras.callbacks.Callback):
    """Show training curves in one notebook output that updates each epoch."""

    def __init__(self):
        super().__init__()
        self.history: dict[str, list[float]] = {}
        self.handle = None

    def on_epoch_end(self, epoch, logs=None):
        from IPython.display import display

        for key, value in (logs or {}).items():
            if key != "learning_rate":
                self.history.setdefault(key, []).append(float(value))
        figure = plot_training_curves(self.history)
        if self.handle is None:
            self.handle = display(figure, display_id=True)
        else:
            self.handle.update(figure)
        close(figure)
