"""Pen strokes recorded from pointer events, and their rasterisation into a numpy image."""

from __future__ import annotations

from dataclasses import dataclass, field

import cv2
import numpy as np

PAPER = 255  # the rasterised canvas is dark ink on white paper, like the pad on screen
INK = 0


@dataclass
class Stroke:
    """One pen-down to pen-up path: points in canvas pixels and the pen width."""

    width: float
    points: list[tuple[float, float]] = field(default_factory=list)


class StrokeRecorder:
    """Collect strokes from down/move/up events; undo and clear them."""

    def __init__(self, width: int, height: int, pen_width: float = 20.0):
        self.width = width
        self.height = height
        self.pen_width = pen_width
        self.strokes: list[Stroke] = []
        self.active: Stroke | None = None
        self.revision = 0  # bumped on every change, so answers can be cached per drawing

    @property
    def drawing(self) -> bool:
        """True between a pen down and the matching pen up."""
        return self.active is not None

    def is_empty(self) -> bool:
        """True when no stroke has been drawn (or all were cleared/undone)."""
        return not self.strokes and self.active is None

    def clamp(self, x: float, y: float) -> tuple[float, float]:
        """Keep a point inside the canvas."""
        return min(max(float(x), 0.0), self.width - 1.0), min(max(float(y), 0.0), self.height - 1.0)

    def begin(self, x: float, y: float) -> Stroke:
        """Start a new stroke at a point (ending any stroke left open)."""
        self.end()
        self.active = Stroke(width=self.pen_width, points=[self.clamp(x, y)])
        self.revision += 1
        return self.active

    def extend(self, x: float, y: float) -> tuple[float, float] | None:
        """Add a point to the open stroke; return the previous point, or None when not drawing."""
        if self.active is None:
            return None
        previous = self.active.points[-1]
        point = self.clamp(x, y)
        if point != previous:
            self.active.points.append(point)
            self.revision += 1
        return previous

    def end(self, x: float | None = None, y: float | None = None) -> Stroke | None:
        """Close the open stroke (adding the final point if given) and return it."""
        if self.active is None:
            return None
        if x is not None and y is not None:
            self.extend(x, y)
        stroke, self.active = self.active, None
        self.strokes.append(stroke)
        return stroke

    def undo(self) -> Stroke | None:
        """Remove and return the last finished stroke."""
        self.active = None
        self.revision += 1
        return self.strokes.pop() if self.strokes else None

    def clear(self) -> None:
        """Forget every stroke."""
        self.strokes = []
        self.active = None
        self.revision += 1

    def restore(self, strokes: list[Stroke]) -> None:
        """Put strokes taken off the pad back on it (a save taken back brings its drawing back)."""
        self.strokes, self.active = list(strokes), None
        self.revision += 1

    def resize(self, width: int, height: int) -> None:
        """Change the pad size; strokes are cleared because their coordinates no longer fit."""
        self.width, self.height = width, height
        self.clear()

    def all_strokes(self) -> list[Stroke]:
        """Finished strokes plus the open one, in drawing order."""
        return self.strokes + ([self.active] if self.active is not None else [])

    def image(self) -> np.ndarray:
        """The strokes rasterised at pad size (uint8, dark ink on white)."""
        return rasterise(self.all_strokes(), self.width, self.height)


def rasterise(strokes: list[Stroke], width: int, height: int) -> np.ndarray:
    """Draw strokes with round caps and joins onto a white uint8 (height, width) image."""
    image = np.full((height, width), PAPER, np.uint8)
    shift = 4  # sub-pixel precision for cv2 drawing calls
    scale = 1 << shift
    for stroke in strokes:
        thickness = max(1, int(round(stroke.width)))
        radius = max(1, int(round(stroke.width * scale / 2)))
        points = np.round(np.asarray(stroke.points, np.float64) * scale).astype(np.int32)
        if len(points) > 1:
            cv2.polylines(image, [points.reshape(-1, 1, 2)], False, INK, thickness,
                          cv2.LINE_AA, shift)
        for x, y in points[[0, -1]] if len(points) > 1 else points:
            cv2.circle(image, (int(x), int(y)), radius, INK, -1, cv2.LINE_AA, shift)
    return image


def to_png(image: np.ndarray) -> bytes:
    """Encode a uint8 image (or a float image in [0, 1]) as PNG bytes."""
    if image.dtype != np.uint8:
        image = np.clip(np.asarray(image, np.float32) * 255.0 + 0.5, 0, 255).astype(np.uint8)
    ok, encoded = cv2.imencode(".png", image)
    if not ok:
        raise ValueError("could not encode the image as PNG")
    return encoded.tobytes()


def enlarge(image28: np.ndarray, scale: int = 5) -> bytes:
    """A crisp, nearest-neighbour enlargement of a 28x28 model input, as PNG bytes."""
    pixels = np.clip(np.asarray(image28, np.float32) * 255.0 + 0.5, 0, 255).astype(np.uint8)
    large = cv2.resize(pixels, None, fx=scale, fy=scale, interpolation=cv2.INTER_NEAREST)
    return to_png(large)
