"""Reading whole scenes: find a frame's lines (or cut digits) and read them, many frames at once.

`Predictor` takes these methods; they use its digit model, line reader and rejector. A line the
reader reads as one digit is judged as Recognise mode judges a pad: its own crop through
`to_mnist`, the digit model and the rejector in one call. In a longer line, a digit written
apart from the others is read again by the digit model from its own ink (`digitlab.apart`), and
its reading is kept where the digit model is sure and surer than the reader.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from digitlab.apart import apart_digits
from digitlab.frames import DigitBox, find_digits
from digitlab.ink import EmptyImageError
from digitlab.preprocess import to_mnist
from digitlab.reading import DigitReading, LineReading, Reading
from digitlab.textlines import FoundLine, find_lines

if TYPE_CHECKING:
    from digitlab.predict import Prediction


@dataclass
class FoundDigits:
    """What a frame holds: its lines for the line reader, or (without one) cut digit boxes.

    For cut digits, probabilities holds what the model-guided cut search already read of them.
    """

    boxes: list[DigitBox]
    probabilities: list[np.ndarray | None]
    lines: list[FoundLine] | None = None


def least_sure(digits: list) -> float:
    """A line reading's least sure digit's confidence (0 for a line read as no digit)."""
    return min((digit.confidence for digit in digits), default=0.0)


class SceneReading:
    """The scene-reading half of `digitlab.predict.Predictor`."""

    def find(self, frame: np.ndarray) -> FoundDigits:
        """What a frame or photo holds: its lines (with a reader) or its cut digits."""
        if self.reader is not None:
            return FoundDigits([], [], find_lines(frame))
        scored = {}  # id -> (image, probabilities) of the crops the cut search read

        def score(images):
            """The model's probabilities, remembered per crop."""
            probabilities = self.probabilities(images)
            scored.update({id(image): (image, p) for image, p in zip(images, probabilities)})
            return probabilities

        boxes = find_digits(frame, score=score)
        return FoundDigits(boxes, [scored.get(id(box.image), (None, None))[1] for box in boxes])

    def lone_digits(self, lines: list[FoundLine], read: list) -> list[Prediction | None]:
        """Per line, the digit model's prediction where the reader read one digit: the line's
        own crop of the frame goes through Recognise mode's path (to_mnist, the digit model and
        the rejector in one call), and only dots or specks there make it not a digit too."""
        judged: list[Prediction | None] = [None] * len(lines)
        single, images = [], []
        for index, digits in enumerate(read):
            if len(digits) == 1 and lines[index].crop is not None:
                try:
                    images.append(to_mnist(lines[index].crop))
                    single.append(index)
                except EmptyImageError:  # only a dot or specks, as Recognise mode would say
                    judged[index] = self.to_prediction(np.full(10, 0.1, np.float32),
                                                       np.zeros((28, 28), np.float32), True)
        if single:
            batch = np.stack(images).astype(np.float32)[..., None]
            probabilities, marks = self.scored(batch)
            for index, p, image, mark in zip(single, probabilities, batch, marks):
                judged[index] = self.to_prediction(p, image[..., 0], bool(mark))
        return judged

    def apart_predictions(self, lines: list[FoundLine], read: list) -> list[list[Prediction | None]]:
        """Per line, per read digit the reader is not sure of (under its calibrated threshold),
        the digit model's prediction of its own ink where it stands apart from the others
        (`digitlab.apart`), in one call for all lines: a frame read surely costs no call."""
        judged: list[list[Prediction | None]] = [[None] * len(digits) for digits in read]
        images, places = [], []
        for line_index, (line, digits) in enumerate(zip(lines, read)):
            spans = [(digit.start_column, digit.stop_column) for digit in digits]
            unsure = [digit.confidence < self.reader.uncertain_threshold for digit in digits]
            for digit_index, image in enumerate(apart_digits(line, spans, wanted=unsure)):
                if image is not None:
                    images.append(image)
                    places.append((line_index, digit_index))
        if images:
            batch = np.stack(images).astype(np.float32)[..., None]
            probabilities, marks = self.scored(batch)
            for (line_index, digit_index), p, image, mark in zip(places, probabilities, batch, marks):
                judged[line_index][digit_index] = self.to_prediction(p, image[..., 0], bool(mark))
        return judged

    def surest_lines(self, lines: list[FoundLine]) -> tuple[list[FoundLine], list]:
        """The lines and the reader's digits on each (one reader call per line width). A line
        that was straightened is read as it lay too, and the way its least sure digit is surer
        is kept: a tilt measured on a few digits (a 7's high bar beside a 5) can be wrong."""
        as_found = [line.as_found for line in lines if line.as_found is not None]
        read = self.reader.read([line.input for line in lines + as_found]) if lines else []
        surest, others = [], iter(zip(as_found, read[len(lines):]))
        for line, digits in zip(lines, read):
            if line.as_found is not None:
                level_line, level_digits = next(others)
                if least_sure(level_digits) > least_sure(digits):
                    line, digits = level_line, level_digits
            surest.append((line, digits))
        return [line for line, _ in surest], [digits for _, digits in surest]

    def judged_lines(self, lines: list[FoundLine], check_apart: bool = True) -> list[tuple]:
        """Per line, the line as read (`surest_lines`), the reader's digits, where it read one
        digit the digit model's judgement of the line (`lone_digits`), and per digit the digit
        model's reading of it where it stands apart (`apart_predictions`; None unchecked)."""
        lines, read = self.surest_lines(lines)
        apart = self.apart_predictions(lines, read) if check_apart else [[None] * len(d) for d in read]
        return list(zip(lines, read, self.lone_digits(lines, read), apart))

    def number_lines(self, lines: list[FoundLine]) -> list[tuple[FoundLine, list]]:
        """The lines a reading keeps, with the reader's digits: all but those read as one digit
        that is not a digit."""
        return [(line, digits) for line, digits, lone, _ in self.judged_lines(lines, check_apart=False)
                if lone is None or not lone.not_digit]

    def checked_digit(self, digit, box, checked: Prediction | None) -> DigitReading:
        """A reader digit as read, or as the digit model read its own ink where it stands apart
        and the digit model is sure (not uncertain by its own calibrated threshold) and surer
        than the reader; flagged uncertain if the rejector calls that ink a mark (a letter in
        a number stays flagged)."""
        if checked is not None and not checked.uncertain and checked.confidence > digit.confidence:
            return DigitReading(checked.digit, checked.confidence, box, checked.not_digit)
        return DigitReading(digit.digit, digit.confidence, box,
                            digit.confidence < self.reader.uncertain_threshold)

    def read_lines(self, found: list[FoundDigits]) -> list[Reading]:
        """Readings of several frames' lines, with one reader call per line width. A line read
        as one digit takes the digit model's answer, and is left out (counted in the reading's
        marks) when that says it is not a digit: a dot, a bar, a scribble."""
        judged = iter(self.judged_lines([line for frame in found for line in frame.lines]))
        readings = []
        for frame in found:
            line_readings, marks = [], 0
            for line, digits, lone, apart in (next(judged) for _ in frame.lines):
                if lone is not None and lone.not_digit:
                    marks += 1
                    continue
                boxes = line.digit_boxes([(digit.start_column, digit.stop_column) for digit in digits])
                boxed = [self.checked_digit(digit, box, checked)
                         for digit, box, checked in zip(digits, boxes, apart)]
                if lone is not None:
                    boxed = [DigitReading(lone.digit, lone.confidence, boxes[0], lone.uncertain)]
                line_readings.append(LineReading("".join(str(d.digit) for d in boxed), line.box, boxed))
            readings.append(Reading.from_lines(line_readings, marks=marks))
        return readings

    def read_found(self, found: list[FoundDigits]) -> list[Reading]:
        """Readings of several frames, with one model call for every crop or line width not yet read."""
        by_lines = [index for index, frame in enumerate(found) if frame.lines is not None]
        if by_lines:  # frames found before a reader came or went are read the way they were found
            readings = dict(zip(by_lines, self.read_lines([found[index] for index in by_lines])))
            cut = [index for index in range(len(found)) if index not in readings]
            readings.update(zip(cut, self.read_found([found[index] for index in cut]) if cut else []))
            return [readings[index] for index in range(len(found))]
        boxes = [box for frame in found for box in frame.boxes]
        if not boxes:
            return [Reading(text="", digits=[]) for _ in found]
        batch = self.prepare([box.image for box in boxes])
        known = [p for frame in found for p in frame.probabilities]
        unread = [index for index, p in enumerate(known) if p is None]  # read each crop once
        fresh = iter(self.backend(batch[unread]) if unread else [])
        predictions = iter(self.to_prediction(next(fresh) if p is None else p, image[..., 0])
                           for p, image in zip(known, batch))
        marks = iter(self.marks(batch))  # marks that are not digits are left out of readings
        readings = []
        for frame in found:
            kept = [(box, p) for box, p, mark in zip(frame.boxes, predictions, marks) if not mark]
            digits = [DigitReading(p.digit, p.confidence, box.box, p.uncertain) for box, p in kept]
            readings.append(Reading(text="".join(str(d.digit) for d in digits), digits=digits,
                                    marks=len(frame.boxes) - len(kept)))
        return readings

    def read(self, frame: np.ndarray) -> Reading:
        """Find the lines of digits in a frame or photo and read them."""
        return self.read_found([self.find(frame)])[0]
