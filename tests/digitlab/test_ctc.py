"""CTC decoding against hand-worked answers and a brute-force sum over every alignment."""

import itertools

import numpy as np
import pytest

from digitlab.ctc import DecodedDigit, agreed_decode, beam_decode, greedy_decode, log_likelihood

BLANK = 3  # three digit classes (0, 1, 2) and a blank in these small examples


def one_hot_steps(classes, sure=0.9):
    """Probabilities whose likeliest class per step is the given one."""
    steps = np.full((len(classes), 4), (1 - sure) / 3)
    for step, label in enumerate(classes):
        steps[step, label] = sure
    return steps


def test_greedy_merges_repeats_drops_blanks_and_keeps_spans():
    steps = one_hot_steps([1, 1, BLANK, 1, 2, 2, BLANK])
    steps[1, 1] = 0.95  # the highest probability on a digit's steps is its confidence
    assert greedy_decode(steps, BLANK) == [
        DecodedDigit(1, 0.95, 0, 2), DecodedDigit(1, 0.9, 3, 4), DecodedDigit(2, 0.9, 4, 6)]


def test_greedy_reads_all_blank_as_nothing():
    assert greedy_decode(one_hot_steps([BLANK] * 5), BLANK) == []


def test_greedy_rejects_a_flat_array():
    with pytest.raises(ValueError, match="time steps, classes"):
        greedy_decode(np.zeros(5), BLANK)


def brute_force(probabilities):
    """The likeliest text and its probability, every alignment summed: the exact CTC answer."""
    return max(every_text_probability(probabilities).items(), key=lambda item: item[1])


def every_text_probability(probabilities):
    """Every text's probability, summed over its alignments by brute force."""
    totals = {}
    for path in itertools.product(range(probabilities.shape[1]), repeat=len(probabilities)):
        text = "".join(str(label) for index, label in enumerate(path)
                       if label != BLANK and (index == 0 or label != path[index - 1]))
        totals[text] = totals.get(text, 0.0) + float(
            np.prod([probabilities[t, label] for t, label in enumerate(path)]))
    return totals


@pytest.mark.parametrize("seed", range(6))
def test_beam_search_finds_the_exact_likeliest_text(seed):
    rng = np.random.default_rng(seed)
    probabilities = rng.dirichlet(np.ones(4) * 0.6, size=5)
    text, probability = beam_decode(probabilities, BLANK, beam_width=64)
    expected_text, expected_probability = brute_force(probabilities)
    assert text == expected_text
    assert probability == pytest.approx(expected_probability, rel=1e-9)


def test_beam_search_beats_best_path_where_alignments_add_up():
    # Best path reads blank, blank ("" at 0.36), but "1" sums three alignments to 0.52.
    probabilities = np.array([[0.0, 0.4, 0.0, 0.6], [0.0, 0.4, 0.0, 0.6]])
    assert greedy_decode(probabilities, BLANK) == []
    text, probability = beam_decode(probabilities, BLANK)
    assert text == "1" and probability == pytest.approx(0.4 * 0.4 + 0.4 * 0.6 + 0.6 * 0.4)


@pytest.mark.parametrize("seed", range(4))
def test_log_likelihood_sums_every_alignment_of_a_text(seed):
    rng = np.random.default_rng(seed)
    probabilities = rng.dirichlet(np.ones(4) * 0.6, size=5)
    for text, probability in every_text_probability(probabilities).items():
        assert np.exp(log_likelihood(probabilities, text, BLANK)) == pytest.approx(probability, rel=1e-6)


def test_log_likelihood_of_a_text_too_long_for_its_steps_is_nil():
    assert log_likelihood(one_hot_steps([1, 1]), "11", BLANK) < -20  # "11" needs a blank between


def test_agreeing_readers_read_as_one():
    steps = one_hot_steps([1, BLANK, 2, BLANK])
    assert agreed_decode([steps, steps], BLANK) == greedy_decode(steps, BLANK)


def test_disagreeing_readers_take_the_text_they_find_likeliest_together_and_are_less_sure():
    sure_12 = one_hot_steps([1, BLANK, 2, BLANK], sure=0.97)
    # The second reader's best path reads "10", but it still gives "12" a fair share.
    unsure = one_hot_steps([1, BLANK, 0, BLANK], sure=0.5)
    unsure[2] = [0.5, 0.0, 0.45, 0.05]
    decoded = agreed_decode([sure_12, unsure], BLANK)
    assert [digit.digit for digit in decoded] == [1, 2]
    assert decoded[1].confidence == pytest.approx(0.97 / 2)  # one of two readers read it
    assert decoded[0].start == 0 and decoded[1].start == 2
