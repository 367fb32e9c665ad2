"""Find the lines of digits in a frame or photo, each ready for the line reader.

The frame's digit-sized ink parts (`digitlab.frames.frame_parts`) are grouped into rows (parts
that overlap vertically), rows are ordered top to bottom, and a row is split into separate lines
where a gap is wider than LINE_GAP digit heights. Each line keeps its own ink mask, so a digit's
box can be found again from the columns the reader read it on.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import cv2
import numpy as np

from digitlab.frames import MAX_FRAME_SIDE, FrameParts, Part, frame_parts
from digitlab.ink import EmptyImageError, member_mask
from digitlab.lineimage import INK_HEIGHT, LineInput, line_input, to_crop_x

LINE_GAP = 1.5  # a gap this many digit heights wide starts a new line (two numbers in a row)
ROW_OVERLAP = 0.5  # a part joins a row when half its height (or the row's) overlaps it


@dataclass
class FoundLine:
    """One line of ink: its box in frame pixels, the reader's input and its own ink mask."""

    box: tuple[int, int, int, int]
    input: LineInput
    mask: np.ndarray  # uint8, the line's components in its working-size box
    origin: tuple[int, int]  # the working-size box's corner
    factor: float  # working size / frame size
    parts: list[tuple[int, int, int, int]] = field(default_factory=list)  # (left, top, right, bottom)
    unrotate: np.ndarray | None = None  # 2x3: the straightened crop's pixels -> the mask's
    frame: np.ndarray | None = field(default=None, repr=False)  # the photo the line was found in
    frame_ink: np.ndarray | None = field(default=None, repr=False)  # its ink map, working size
    as_found: FoundLine | None = field(default=None, repr=False)  # a straightened line as it lay

    @property
    def crop(self) -> np.ndarray | None:
        """The frame around the line's box with only the line's own ink on it (see `line_crop`)."""
        return None if self.frame is None or self.frame_ink is None else line_crop(self)

    def crop_x(self, column: float) -> float:
        """A reader-input column's x in the mask's pixels (through the straightening, if any)."""
        x = to_crop_x(self.input, column)
        if self.unrotate is None:
            return x
        y = self.input.top + (INK_HEIGHT / 2) / self.input.scale  # along the line's middle
        return float(self.unrotate[0, 0] * x + self.unrotate[0, 1] * y + self.unrotate[0, 2])

    def to_frame(self, left: int, top: int, right: int, bottom: int) -> tuple[int, int, int, int]:
        """A box in the line's working-size crop as (x, y, w, h) in frame pixels."""
        corner_x, corner_y = self.origin
        return (round((corner_x + left) / self.factor), round((corner_y + top) / self.factor),
                max(1, round((right - left) / self.factor)), max(1, round((bottom - top) / self.factor)))

    def digit_box(self, start_column: float, stop_column: float) -> tuple[int, int, int, int]:
        """The frame-pixel box of the line's ink between two reader-input columns."""
        return self.ink_box(self.crop_x(start_column), self.crop_x(stop_column))

    def ink_box(self, left_x: float, right_x: float) -> tuple[int, int, int, int]:
        """The frame-pixel box of the line's ink between two x positions in the mask."""
        left, right = int(np.floor(left_x)), int(np.ceil(right_x))
        left, right = max(0, left), min(self.mask.shape[1], max(right, left + 1))
        x, y, width, height = cv2.boundingRect(self.mask[:, left:right])
        if width == 0:  # no ink between those columns: the span's own box
            x, y, width, height = 0, 0, right - left, self.mask.shape[0]
        return self.to_frame(left + x, y, left + x + width, y + height)

    def column_edges(self, spans: list[tuple[float, float]]) -> list[tuple[float, float]]:
        """Read digits' input columns (start, stop) as x ranges in the mask's pixels."""
        return [(self.crop_x(start), self.crop_x(stop)) for start, stop in spans]

    def part_owners(self, edges: list[tuple[float, float]]) -> list[int | None]:
        """Per ink part, the read digit whose x range (`column_edges`) holds the part's centre;
        the last digit takes parts beyond its range, and None is a part left of the first."""
        owners: list[int | None] = []
        for left, _, right, _ in self.parts:
            centre = (left + right) / 2
            owners.append(next((index for index, (start, stop) in enumerate(edges)
                                if start <= centre < stop or (index == len(edges) - 1 and centre >= stop)),
                               None))
        return owners

    def digit_boxes(self, spans: list[tuple[float, float]]) -> list[tuple[int, int, int, int]]:
        """Each read digit's box: its own ink parts when they stand apart, else its columns' ink.

        A part belongs to the digit whose columns hold its centre; a part that reaches well
        into a neighbour's columns is touching ink, cut at the columns instead.
        """
        edges = self.column_edges(spans)
        owned: list[list] = [[] for _ in spans]
        for part, owner in zip(self.parts, self.part_owners(edges)):
            if owner is not None:
                left, right = edges[owner]
                inside = min(part[2], right) - max(part[0], left)
                owned[owner].append(part if inside >= 0.7 * (part[2] - part[0]) else None)
        boxes = []
        for whole, (left, right) in zip(owned, edges):
            if whole and None not in whole:
                boxes.append(self.to_frame(min(p[0] for p in whole), min(p[1] for p in whole),
                                           max(p[2] for p in whole), max(p[3] for p in whole)))
            else:
                boxes.append(self.ink_box(left, right))
        return boxes


CROP_MARGIN = 0.15  # of the box's long side: the frame kept around a line, to judge a lone digit
KEEP_MARGIN = 0.04  # of the box's long side: the frame kept around the line's own ink
OTHER_INK = 0.3  # of the line's ink level: fainter than this near a line is paper, not other ink


def crop_bounds(shape: tuple[int, ...], box: tuple[int, int, int, int]) -> tuple[int, int, int, int]:
    """(top, bottom, left, right) of a box (x, y, w, h) and a margin around it, inside the frame."""
    x, y, width, height = box
    margin = int(CROP_MARGIN * max(width, height)) + 2
    return (max(0, y - margin), min(shape[0], y + height + margin),
            max(0, x - margin), min(shape[1], x + width + margin))


def line_crop(line: FoundLine) -> np.ndarray:
    """The frame around a line with other ink near it (an underline, a box, rules, specks)
    painted as the paper; the paper and the line's own ink stay as they were photographed."""
    top, bottom, left, right = crop_bounds(line.frame.shape, line.box)
    crop = line.frame[top:bottom, left:right]
    size = (right - left, bottom - top)
    # The crop's ink map, and the line's own components with their holes filled (a big dot's
    # ink map may be a ring), both at the crop's size.
    corner = (round(left * line.factor), round(top * line.factor))
    far = (max(corner[0] + 1, round(right * line.factor)), max(corner[1] + 1, round(bottom * line.factor)))
    ink = cv2.resize(line.frame_ink[corner[1]:far[1], corner[0]:far[0]], size, interpolation=cv2.INTER_LINEAR)
    own = np.zeros((far[1] - corner[1], far[0] - corner[0]), np.uint8)
    contours, _ = cv2.findContours(line.mask, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE,
                                   offset=(line.origin[0] - corner[0], line.origin[1] - corner[1]))
    cv2.drawContours(own, contours, -1, 1, -1)
    own = cv2.resize(own, size, interpolation=cv2.INTER_NEAREST)
    level = float(np.quantile(ink[own > 0], 0.9)) if own.any() else 0.0
    if level <= 0:
        return crop
    reach = max(2, round(KEEP_MARGIN * max(line.box[2], line.box[3])))
    away = cv2.dilate(own, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * reach + 1, 2 * reach + 1))) == 0
    other = cv2.dilate(((ink > OTHER_INK * level) & away).astype(np.uint8), np.ones((3, 3), np.uint8))
    paint = (other > 0) & away
    if not paint.any():
        return crop
    paper = away & ~paint
    cleaned = crop.copy()
    cleaned[paint] = np.median(crop[paper if paper.any() else paint], axis=0).astype(crop.dtype)
    return cleaned


def rows_of(parts: list[Part]) -> list[list[Part]]:
    """Parts grouped into rows that overlap vertically, top to bottom."""
    rows: list[list[Part]] = []
    for part in sorted(parts, key=lambda item: (item.top + item.bottom) / 2):
        for row in rows:
            top, bottom = min(p.top for p in row), max(p.bottom for p in row)
            overlap = min(bottom, part.bottom) - max(top, part.top)
            if overlap >= ROW_OVERLAP * min(part.bottom - part.top, bottom - top):
                row.append(part)
                break
        else:
            rows.append([part])
    return sorted(rows, key=lambda row: min(p.top for p in row))


def split_row(row: list[Part]) -> list[list[Part]]:
    """A row cut into lines at gaps wider than LINE_GAP times its median part height."""
    row = sorted(row, key=lambda part: part.left)
    height = float(np.median([part.bottom - part.top for part in row]))
    lines, current = [], [row[0]]
    for part in row[1:]:
        if part.left - max(p.right for p in current) > LINE_GAP * height:
            lines.append(current)
            current = []
        current.append(part)
    lines.append(current)
    return lines


MIN_TILT_DEGREES = 3.0  # straighter lines are read as they are
MAX_TILT_DEGREES = 25.0
MIN_TILT_ASPECT = 2.0  # only lines this many times wider than high show their tilt reliably


def line_tilt(mask: np.ndarray) -> float:
    """The line's tilt in degrees (positive: falling to the right), from its columns' ink centres."""
    height, width = mask.shape
    counts = mask.sum(axis=0, dtype=np.float64)
    used = counts > 0
    if width < MIN_TILT_ASPECT * height or used.sum() < 3:
        return 0.0
    rows = np.arange(height, dtype=np.float64)
    centres = (mask.T.astype(np.float64) @ rows)[used] / counts[used]
    columns = np.flatnonzero(used).astype(np.float64)
    slope = np.polyfit(columns, centres, 1, w=np.sqrt(counts[used]))[0]
    return float(np.degrees(np.arctan(slope)))


def straighten(ink: np.ndarray, mask: np.ndarray):
    """A tilted line's ink and mask rotated level, and the map back (None when left as it is).

    The ends of a tilted band bias its measured tilt low, so the tilt left after one turn is
    measured once more and added.
    """
    tilt = line_tilt(mask)
    if not MIN_TILT_DEGREES <= abs(tilt) <= MAX_TILT_DEGREES:
        return ink, mask, None
    _, level_mask, _ = rotated(ink, mask, tilt)
    tilt += line_tilt(level_mask)
    return rotated(ink, mask, tilt)


def rotated(ink: np.ndarray, mask: np.ndarray, tilt: float):
    """Ink and mask turned by `tilt` degrees on a canvas that holds them, and the map back."""
    height, width = mask.shape
    rotation = cv2.getRotationMatrix2D((width / 2, height / 2), tilt, 1.0)
    radians = np.radians(abs(tilt))
    size = (int(np.ceil(width * np.cos(radians) + height * np.sin(radians))),
            int(np.ceil(width * np.sin(radians) + height * np.cos(radians))))
    rotation[:, 2] += ((size[0] - width) / 2, (size[1] - height) / 2)
    level_ink = cv2.warpAffine(ink, rotation, size, flags=cv2.INTER_LINEAR)
    level_mask = cv2.warpAffine(mask, rotation, size, flags=cv2.INTER_NEAREST)
    return level_ink, level_mask, cv2.invertAffineTransform(rotation)


SMALL_FRACTION = 0.5  # a second look reads the frame at twice the size, for digits half as high
SMALL_PARTS = 2.0  # ... when no part found is this many times the smallest digit height allowed
WIDE_PART = 1.2  # a lone part this many times wider than high may be touching digits


def small_writing(found: FrameParts | None, frame) -> bool:
    """Whether a large photo may hold writing too small for its working size: no part found,
    or none well above the smallest digit height (a number written small on a whole page)."""
    if max(np.shape(frame)[:2]) < MAX_FRAME_SIDE / SMALL_FRACTION:
        return False  # a second look would not see it much larger
    return found is None or not found.parts or max(
        part.bottom - part.top for part in found.parts) < SMALL_PARTS * found.min_height


def small_numbers(frame, min_height_fraction: float, max_height_fraction: float) -> FrameParts | None:
    """The parts a second look at twice the size finds, but lone ones that are not wide: small
    writing on a page is a number of several digits, while a lone small mark (a speck, a dot,
    a piece of a sheet's edge) is no number."""
    found = frame_parts(frame, min_height_fraction * SMALL_FRACTION, max_height_fraction,
                        work_side=round(MAX_FRAME_SIDE / SMALL_FRACTION))
    if found is None:
        return None
    kept = [part for row in rows_of(found.parts) for parts in split_row(row) for part in parts
            if len(parts) > 1 or part.right - part.left >= WIDE_PART * (part.bottom - part.top)]
    return found._replace(parts=kept)


def find_lines(frame, min_height_fraction: float = 0.03,
               max_height_fraction: float = 0.9) -> list[FoundLine]:
    """The lines of ink in a frame or photo, top to bottom and left to right, ready to read."""
    found = frame_parts(frame, min_height_fraction, max_height_fraction)
    if small_writing(found, frame):
        small = small_numbers(frame, min_height_fraction, max_height_fraction)
        if small is not None and len(small.parts) >= max(1, len(found.parts) if found else 0):
            found = small  # it sees more of the frame's writing
    if found is None:
        return []
    lines, pixels = [], np.asarray(frame)
    for row in rows_of(found.parts):
        for parts in split_row(row):
            left, top = min(p.left for p in parts), min(p.top for p in parts)
            right, bottom = max(p.right for p in parts), max(p.bottom for p in parts)
            members = tuple(label for part in parts for label in part.members)
            mask = member_mask(found.labels[top:bottom, left:right], members)
            ink = found.ink[top:bottom, left:right]
            try:
                level = line_input(ink, mask)
            except EmptyImageError:
                continue
            box = tuple(round(value / found.factor) for value in (left, top, right - left, bottom - top))
            own = [(p.left - left, p.top - top, p.right - left, p.bottom - top) for p in parts]
            line = FoundLine(box, level, mask, (left, top), found.factor, own, None, pixels, found.ink)
            straight_ink, straight_mask, unrotate = straighten(ink, mask)
            if unrotate is not None:  # read both ways: the reader keeps the one it is surer of
                try:
                    line = replace(line, input=line_input(straight_ink, straight_mask),
                                   unrotate=unrotate, as_found=line)
                except EmptyImageError:
                    pass
            lines.append(line)
    return lines
