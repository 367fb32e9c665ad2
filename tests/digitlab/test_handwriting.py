"""The line reader's handwriting changes: each does what it says, and none runs when its share is 0."""

from __future__ import annotations

import numpy as np
import pytest

from digitlab.handwriting import break_stroke, coarse_scan, elastic_wobble, faint_ink, handwrite
from digitlab.linesynth import LineRecipe, make_lines


@pytest.fixture
def digit(mnist):
    """One MNIST training digit as float ink in [0, 1]."""
    (images, _), _ = mnist
    return images[0].astype(np.float32) / 255.0


def test_a_recipe_without_handwriting_draws_no_random_numbers(mnist):
    (images, _), _ = mnist
    rng = np.random.default_rng(3)
    state = rng.bit_generator.state
    digit = images[0]
    assert handwrite(digit, LineRecipe(), rng) is digit
    assert rng.bit_generator.state == state  # so the default lines stay what they were


def test_the_elastic_wobble_moves_ink_a_little_and_keeps_it(digit):
    rng = np.random.default_rng(0)
    wobbled = elastic_wobble(digit, 1.6, rng)
    assert not np.allclose(wobbled, digit)
    assert abs(wobbled.sum() - digit.sum()) < 0.15 * digit.sum()  # ink moved, not lost
    ys, xs = np.nonzero(digit > 0.5)
    moved_ys, moved_xs = np.nonzero(wobbled > 0.5)
    assert abs(moved_ys.mean() - ys.mean()) < 2 and abs(moved_xs.mean() - xs.mean()) < 2


def test_a_broken_stroke_removes_a_thin_band_of_ink(digit):
    broken = break_stroke(digit, np.random.default_rng(1))
    assert np.all(broken <= digit + 1e-6)
    lost = (digit > 0.5).sum() - (broken > 0.5).sum()
    assert 0 < lost < 0.3 * (digit > 0.5).sum()


def test_a_coarse_scan_blurs_and_faint_ink_lowers_the_peak(digit):
    rng = np.random.default_rng(2)
    coarse = coarse_scan(digit, rng)
    assert coarse.shape == digit.shape and np.abs(coarse - digit).mean() > 0.01
    faint = faint_ink(digit, np.random.default_rng(4))
    assert faint.max() < digit.max() and np.all((faint > 0) == (digit > 0))


def test_handwriting_lines_differ_from_the_default_and_stay_deterministic(mnist):
    (images, labels), _ = mnist
    recipe = LineRecipe.handwriting()
    plain, texts = make_lines(images[:300], labels[:300], 20, seed=5)
    written, written_texts = make_lines(images[:300], labels[:300], 20, seed=5, recipe=recipe)
    again, _ = make_lines(images[:300], labels[:300], 20, seed=5, recipe=recipe)
    assert all(np.array_equal(a, b) for a, b in zip(written, again))
    assert any(a.shape != b.shape or not np.array_equal(a, b) for a, b in zip(plain, written))
    assert all(text.isdigit() for text in written_texts)


def test_the_reader_command_takes_the_handwriting_recipe(monkeypatch):
    from digitlab import reader_train

    seen = {}

    def stop(config, progress=None):
        seen["config"] = config
        raise SystemExit(0)

    monkeypatch.setattr(reader_train, "train_reader", stop)
    with pytest.raises(SystemExit):
        reader_train.main(["--recipe", "handwriting", "--train-lines", "10"])
    assert seen["config"].recipe == LineRecipe.handwriting()
    assert seen["config"].to_dict()["recipe"]["elastic_share"] == 0.5
