"""The drawing pad: an ipycanvas MultiCanvas that records mouse, pen and touch strokes."""

from __future__ import annotations

from collections.abc import Callable

import cv2
import numpy as np
from ipycanvas import MultiCanvas, hold_canvas

from digitlab.app.strokes import StrokeRecorder

INK_COLOUR = "#1d2433"
BOX_COLOUR = "#2f80ed"
INK, OVERLAY = 0, 1


CAPTION_SPACING = 16  # px: captions nearer than this side by side would print over each other


def caption_places(boxes: list[tuple[int, int, int, int]], height: int) -> list[tuple[float, float]]:
    """Where each box's caption goes: centred above it, or below it where the caption before
    would be too close (touching digits' boxes overlap)."""
    places: list[tuple[float, float]] = []
    for x, y, w, h in boxes:
        centre, above = x + w / 2, max(14.0, y - 8.0)
        crowded = any(abs(centre - other_x) < CAPTION_SPACING and abs(above - other_y) < CAPTION_SPACING
                      for other_x, other_y in places)
        places.append((centre, min(height - 4.0, y + h + 22.0) if crowded else above))
    return places


class DrawingPad:
    """A paper-white canvas: strokes drawn live on screen and recorded for rasterisation."""

    def __init__(self, recorder: StrokeRecorder):
        self.recorder = recorder
        # Paper and guide frame are CSS (styles.py): they show even before the kernel connects.
        self.canvas = MultiCanvas(2, width=recorder.width, height=recorder.height)
        self.canvas.add_class("dl-pad")
        self.canvas.layout.border = "1px solid #c3cad5"
        self.fit_layout()
        self.stroke_listeners: list[Callable[[], None]] = []
        self.key_listeners: list[Callable[[str, bool, bool, bool], None]] = []
        self.overlay_boxes: list[tuple[tuple[int, int, int, int], str]] = []
        self.ready_listeners: list[Callable[[], None]] = []
        self.picture: np.ndarray | None = None  # a stored sample shown instead of ink (review)
        self.canvas.on_client_ready(self.client_ready)
        self.canvas.on_mouse_down(self.pen_down)
        self.canvas.on_mouse_move(self.pen_move)
        self.canvas.on_mouse_up(self.pen_up)
        self.canvas.on_mouse_out(self.pen_up)
        self.canvas.on_touch_start(lambda touches: touches and self.pen_down(*touches[0]))
        self.canvas.on_touch_move(lambda touches: touches and self.pen_move(*touches[0]))
        self.canvas.on_touch_end(lambda touches: self.pen_up())
        self.canvas.on_touch_cancel(lambda touches: self.pen_up())
        self.canvas.on_key_down(self.key_down)

    # -- events -----------------------------------------------------------------------------

    def pen_down(self, x: float, y: float) -> None:
        """Start a stroke and show a dot where the pen landed (not while a picture is shown)."""
        if self.picture is not None:
            return
        stroke = self.recorder.begin(x, y)
        self.clear_overlay()
        layer = self.canvas[INK]
        with hold_canvas():
            layer.fill_style = INK_COLOUR
            layer.fill_circle(*stroke.points[0], stroke.width / 2)

    def pen_move(self, x: float, y: float) -> None:
        """Extend the open stroke with a line segment."""
        previous = self.recorder.extend(x, y)
        if previous is None:
            return
        layer = self.canvas[INK]
        with hold_canvas():
            self.use_pen(layer, self.recorder.pen_width)
            layer.stroke_line(*previous, *self.recorder.active.points[-1])

    def pen_up(self, x: float | None = None, y: float | None = None) -> None:
        """Finish the stroke and tell the listeners (the app predicts now)."""
        if self.recorder.end(x, y) is None:
            return
        for listener in self.stroke_listeners:
            listener()

    def key_down(self, key: str, shift: bool, ctrl: bool, meta: bool) -> None:
        """Forward a key pressed while the pad has focus."""
        for listener in self.key_listeners:
            listener(key, shift, ctrl, meta)

    def client_ready(self) -> None:
        """A browser view connected (a page load, also with a preheated kernel): paint it."""
        self.redraw_everything()
        for listener in self.ready_listeners:
            listener()

    def on_ready(self, callback: Callable[[], None]) -> None:
        """Call back whenever a browser view of the pad is ready for drawing."""
        self.ready_listeners.append(callback)

    def on_stroke_end(self, callback: Callable[[], None]) -> None:
        """Call back after every finished stroke."""
        self.stroke_listeners.append(callback)

    def on_key(self, callback: Callable[[str, bool, bool, bool], None]) -> None:
        """Call back with (key, shift, ctrl, meta) for keys pressed on the pad."""
        self.key_listeners.append(callback)

    def focus(self) -> None:
        """Give the pad the keyboard focus (so digit keys keep working after a button click)."""
        self.canvas.focus()

    # -- drawing ----------------------------------------------------------------------------

    @staticmethod
    def use_pen(layer, width: float) -> None:
        """Set round, dark ink of the given width on a layer."""
        layer.stroke_style = INK_COLOUR
        layer.fill_style = INK_COLOUR
        layer.line_width = width
        layer.line_cap = "round"
        layer.line_join = "round"

    def fit_layout(self) -> None:
        """Show the canvas at its pixel size where the window has room, smaller where it has not.

        The backing store keeps the pad size (what is recorded and rasterised); the stylesheet
        caps the element at its column's width (max-width: 100%) and keeps its shape (height:
        auto), and ipycanvas scales pointer positions by the backing width over the shown one,
        so strokes land in canvas pixels at any shown size."""
        self.canvas.layout.width = f"{self.recorder.width}px"
        self.canvas.layout.max_width = "100%"
        self.canvas.layout.height = "auto"
        self.canvas.layout.min_width = None

    def resize(self, width: int, height: int) -> None:
        """Change the pad size (clears the drawing)."""
        self.recorder.resize(width, height)
        self.overlay_boxes = []
        self.canvas.width, self.canvas.height = width, height
        self.fit_layout()
        self.redraw_everything()

    def redraw_everything(self) -> None:
        """Paint ink (or the picture) and overlay again (a new browser tab, a resize)."""
        with hold_canvas():
            self.draw_ink()
            self.draw_picture()
            self.draw_overlay()

    def show_picture(self, image: np.ndarray | None) -> None:
        """Show a uint8 gray image enlarged to fit the pad (None: back to drawing)."""
        self.picture = None if image is None else np.asarray(image, np.uint8)
        self.redraw_everything()

    def draw_picture(self) -> None:
        """Draw the picture centred on the ink layer, nearest-neighbour so pixels stay honest."""
        if self.picture is None:
            return
        height, width = self.picture.shape[:2]
        scale = min(self.recorder.width / width, self.recorder.height / height)
        size = (max(1, int(width * scale)), max(1, int(height * scale)))
        large = cv2.resize(self.picture, size, interpolation=cv2.INTER_NEAREST)
        left, top = (self.recorder.width - size[0]) // 2, (self.recorder.height - size[1]) // 2
        self.canvas[INK].put_image_data(large, left, top)  # sent as a PNG: small for these

    def draw_ink(self) -> None:
        """Draw every recorded stroke."""
        layer = self.canvas[INK]
        layer.clear()
        for stroke in self.recorder.all_strokes():
            self.use_pen(layer, stroke.width)
            if len(stroke.points) > 1:
                layer.stroke_lines(stroke.points)
            layer.fill_circle(*stroke.points[0], stroke.width / 2)
            layer.fill_circle(*stroke.points[-1], stroke.width / 2)

    def redraw_ink(self) -> None:
        """Redraw the strokes only (after undo or clear)."""
        with hold_canvas():
            self.draw_ink()
            self.clear_overlay()

    def show_boxes(self, boxes: list[tuple[tuple[int, int, int, int], str]]) -> None:
        """Outline found digits on the overlay, each with a caption (multi-digit mode)."""
        self.overlay_boxes = list(boxes)
        with hold_canvas():
            self.draw_overlay()

    def clear_overlay(self) -> None:
        """Remove the digit outlines."""
        if self.overlay_boxes:
            self.overlay_boxes = []
            with hold_canvas():
                self.draw_overlay()

    def draw_overlay(self) -> None:
        """Draw the current digit outlines and captions."""
        layer = self.canvas[OVERLAY]
        layer.clear()
        layer.stroke_style = BOX_COLOUR
        layer.fill_style = BOX_COLOUR
        layer.line_width = 2
        layer.font = "bold 16px sans-serif"
        layer.text_align = "center"
        places = caption_places([box for box, _ in self.overlay_boxes], self.recorder.height)
        for ((x, y, w, h), caption), (caption_x, caption_y) in zip(self.overlay_boxes, places):
            layer.stroke_rect(x - 4, y - 4, w + 8, h + 8)
            layer.fill_text(caption, caption_x, caption_y)
