"""The even pen: Zhang-Suen thinning against a plain per-pixel oracle, and pen widths."""

import cv2
import numpy as np
import pytest

from digitlab.linesynth import LineRecipe, make_lines
from digitlab.pen import pen_redraw, thin


def thin_oracle(mask: np.ndarray) -> np.ndarray:
    """Zhang and Suen's (1984) thinning written pixel by pixel, as the paper states it."""
    image = np.pad((mask > 0).astype(np.uint8), 1)
    changed = True
    while changed:
        changed = False
        for first in (True, False):
            remove = []
            for y in range(1, image.shape[0] - 1):
                for x in range(1, image.shape[1] - 1):
                    if not image[y, x]:
                        continue
                    p2, p3, p4, p5 = image[y - 1, x], image[y - 1, x + 1], image[y, x + 1], image[y + 1, x + 1]
                    p6, p7, p8, p9 = image[y + 1, x], image[y + 1, x - 1], image[y, x - 1], image[y - 1, x - 1]
                    ring = [p2, p3, p4, p5, p6, p7, p8, p9, p2]
                    transitions = sum(a == 0 and b == 1 for a, b in zip(ring, ring[1:]))
                    if first:
                        ends = p2 * p4 * p6 == 0 and p4 * p6 * p8 == 0
                    else:
                        ends = p2 * p4 * p8 == 0 and p2 * p6 * p8 == 0
                    if 2 <= sum(ring[:8]) <= 6 and transitions == 1 and ends:
                        remove.append((y, x))
            for y, x in remove:
                image[y, x] = 0
            changed = changed or bool(remove)
    return image[1:-1, 1:-1]


def test_thinning_matches_the_per_pixel_oracle_on_mnist_digits(mnist):
    _, (images, _) = mnist
    for image in images[:12]:
        mask = (cv2.resize(image, (40, 40)) > 100).astype(np.uint8)
        assert np.array_equal(thin(mask), thin_oracle(mask))


def test_a_thick_bar_thins_to_a_one_pixel_line_along_its_length():
    mask = np.zeros((30, 60), np.uint8)
    mask[10:19, 5:55] = 1
    skeleton = thin(mask)
    rows, columns = np.nonzero(skeleton)
    assert set(rows) == {14}  # the bar's middle row
    assert columns.max() - columns.min() >= 40


def test_pen_redraw_draws_the_shape_again_at_the_pens_width():
    ink = np.zeros((80, 80), np.float32)
    cv2.circle(ink, (40, 40), 25, 1.0, 9)  # a thick ring, as a broad pen writes a 0
    for width in (3, 7):
        drawn = pen_redraw(ink, width)
        strokes = drawn > 0.5
        length = thin(strokes).sum()
        assert strokes.sum() / length == pytest.approx(width, abs=1.0)
        assert cv2.connectedComponents(strokes.astype(np.uint8))[0] == 2  # still one ring
    assert np.array_equal(pen_redraw(np.zeros((8, 8), np.float32), 3), np.zeros((8, 8)))
    with pytest.raises(ValueError, match="pen_width"):
        pen_redraw(ink, 0)


def test_pen_lines_are_thinner_than_the_same_lines_written_by_mnists_pen(mnist):
    (images, labels), _ = mnist
    brush, texts = make_lines(images[:300], labels[:300], 40, seed=3, recipe=LineRecipe(pen_share=0.0))
    pen, pen_texts = make_lines(images[:300], labels[:300], 40, seed=3,
                                recipe=LineRecipe(pen_share=1.0, max_pen_width=0.05))
    again, _ = make_lines(images[:300], labels[:300], 40, seed=3,
                          recipe=LineRecipe(pen_share=1.0, max_pen_width=0.05))
    assert all(np.array_equal(a, b) for a, b in zip(pen, again))  # deterministic in its seed

    def ink_share(lines):
        return np.mean([(line > 128).mean() for line in lines])

    assert ink_share(pen) < 0.7 * ink_share(brush)


def test_the_writers_recipe_widens_the_pen_recipes_changes_of_hand(mnist):
    from digitlab.reader_train import RECIPES

    pen, writers = LineRecipe.pen(), RECIPES["writers"]()
    for wider in ("elastic_share", "elastic_pixels", "max_slant", "max_rotation_degrees", "touching_share"):
        assert getattr(writers, wider) > getattr(pen, wider), wider
    (images, labels), _ = mnist
    lines, texts = make_lines(images[:300], labels[:300], 20, seed=5, recipe=writers)
    again, same_texts = make_lines(images[:300], labels[:300], 20, seed=5, recipe=writers)
    pen_lines, pen_texts = make_lines(images[:300], labels[:300], 20, seed=5, recipe=pen)
    assert texts == same_texts and all(np.array_equal(a, b) for a, b in zip(lines, again))
    assert not all(a.shape == b.shape and np.array_equal(a, b) for a, b in zip(lines, pen_lines))
