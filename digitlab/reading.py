"""What reading a scene gives: digits with boxes and confidences, grouped into lines.

The JSON shapes (`to_dict`) are what `POST /read`, the camera hub and the app show.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class DigitReading:
    """One digit found in a scene."""

    digit: int
    confidence: float
    box: tuple[int, int, int, int]
    uncertain: bool

    def to_dict(self) -> dict:
        """JSON shape: digit, confidence, box [x, y, w, h], uncertain."""
        return {"digit": self.digit, "confidence": round(self.confidence, 6),
                "box": [int(v) for v in self.box], "uncertain": self.uncertain}


@dataclass
class LineReading:
    """One line of digits in a scene: its box, text and digits."""

    text: str
    box: tuple[int, int, int, int]
    digits: list[DigitReading]

    @property
    def uncertain(self) -> bool:
        """Whether any digit of the line is uncertain (a letter or scribble in a line makes it so)."""
        return any(digit.uncertain for digit in self.digits)

    def to_dict(self) -> dict:
        """JSON shape: text, box [x, y, w, h], uncertain and digits."""
        return {"text": self.text, "box": [int(v) for v in self.box], "uncertain": self.uncertain,
                "digits": [digit.to_dict() for digit in self.digits]}


@dataclass
class Reading:
    """All digits in a scene, line by line (top to bottom, each left to right), and their text.

    text joins the lines' texts with a space; digits lists every line's digits in that order;
    marks counts what was left out because it is not a digit (a lone dot, bar or scribble).
    """

    text: str
    digits: list[DigitReading]
    lines: list[LineReading] = field(default_factory=list)
    marks: int = 0

    @classmethod
    def from_lines(cls, lines: list[LineReading], marks: int = 0) -> Reading:
        """A reading made of lines (those without digits left out)."""
        lines = [line for line in lines if line.digits]
        return cls(" ".join(line.text for line in lines),
                   [digit for line in lines for digit in line.digits], lines, marks)

    def to_dict(self) -> dict:
        """JSON shape: text, digits, lines and marks."""
        return {"text": self.text, "digits": [digit.to_dict() for digit in self.digits],
                "lines": [line.to_dict() for line in self.lines], "marks": self.marks}
