"""Reader ensembles: one model of several readers, read by the text their members agree on."""

from __future__ import annotations

import json

import numpy as np
import pytest

from digitlab.lineimage import LineInput
from digitlab.reader import LineReader


@pytest.fixture(scope="module")
def two_tiny_readers(mnist, tiny_reader):
    """Two readers trained for one epoch on 400 lines each, on one split (members 0 and 1)."""
    from tests.digitlab.conftest import train_tiny_reader

    result, folder = tiny_reader
    return [(result, json.loads((folder / "card.json").read_text())),
            tuple_of(train_tiny_reader(mnist, member=1))]


def tuple_of(trained):
    """(result, card dict) of a trained reader and its ModelCard."""
    result, card = trained
    return result, card.to_dict()


def line_inputs(lines) -> list[LineInput]:
    """Reader inputs of stored uint8 lines, padded to a multiple of 16 columns."""
    return [LineInput(np.pad(line.astype(np.float32) / 255, ((0, 0), (0, -line.shape[1] % 16))),
                      0, 0, 1.0, line.shape[1]) for line in lines]


def test_members_train_on_their_own_lines_and_share_the_checks(two_tiny_readers):
    (first, _), (second, _) = two_tiny_readers
    assert first.sets["train"][1] != second.sets["train"][1]
    assert first.sets["validation"][1] == second.sets["validation"][1]
    assert first.sets["test"][1] == second.sets["test"][1]


def test_an_ensemble_puts_its_members_side_by_side():
    from digitlab.reader_ensemble import build_reader_ensemble, member_count
    from digitlab.reader_model import build_reader

    readers = [build_reader(width=8, sequence_units=16) for _ in range(2)]
    ensemble = build_reader_ensemble(readers)
    assert member_count(ensemble) == 2 and member_count(readers[0]) == 1
    line = np.random.default_rng(0).uniform(0, 1, (1, 32, 96, 1)).astype(np.float32)
    output = np.asarray(ensemble(line))
    assert output.shape == (1, 24, 22)
    np.testing.assert_allclose(output[..., 11:], np.asarray(readers[1](line)), atol=1e-6)
    with pytest.raises(ValueError, match="2 to 3 readers"):
        build_reader_ensemble(readers[:1])
    with pytest.raises(ValueError, match="itself an ensemble"):
        build_reader_ensemble([ensemble, readers[0]])


def test_a_reader_joined_with_itself_reads_as_it_does_alone_in_litert(two_tiny_readers, tmp_path):
    from digitlab.reader_ensemble import build_reader_ensemble
    from digitlab.registry import Registry

    result, card = two_tiny_readers[0]
    registry = Registry(tmp_path)
    single = registry.path("reader", registry.save(result.model, "reader", card))
    joined = build_reader_ensemble([result.model, result.model])
    both = registry.path("reader", registry.save(joined, "reader", card))
    inputs = line_inputs(result.sets["validation"][0][:15])
    alone = LineReader.load(single, backend="litert").read(inputs)
    together = LineReader.load(both, backend="litert")
    assert together.probabilities(inputs)[0].shape[1] == 22
    for mine, its in zip(together.read(inputs), alone):
        assert [(d.digit, d.start_column, d.stop_column) for d in mine] == \
            [(d.digit, d.start_column, d.stop_column) for d in its]
        np.testing.assert_allclose([d.confidence for d in mine], [d.confidence for d in its], atol=1e-4)


def test_an_ensemble_reads_what_its_members_run_apart_agree_on(two_tiny_readers, tmp_path):
    from digitlab.ctc import agreed_decode
    from digitlab.reader import BLANK, digit_columns
    from digitlab.reader_ensemble import build_reader_ensemble
    from digitlab.registry import Registry

    registry = Registry(tmp_path)
    folders = [registry.path("reader", registry.save(result.model, "reader", card))
               for result, card in two_tiny_readers]
    joined = build_reader_ensemble([result.model for result, _ in two_tiny_readers])
    ensemble = LineReader.load(registry.path("reader", registry.save(joined, "reader",
                                                                     two_tiny_readers[0][1])))
    inputs = line_inputs(two_tiny_readers[0][0].sets["validation"][0][:30])
    apart = [LineReader.load(folder).probabilities(inputs) for folder in folders]
    texts = [["".join(str(d.digit) for d in member.read(inputs)[index])
              for member in map(LineReader.load, folders)] for index in range(len(inputs))]
    assert any(len(set(pair)) > 1 for pair in texts)  # tiny readers disagree: both paths run
    for index, (read, line) in enumerate(zip(ensemble.read(inputs), inputs)):
        expected = digit_columns(agreed_decode([member[index] for member in apart], BLANK),
                                 line.ink_width)
        assert [(d.digit, d.start_column, d.stop_column) for d in read] == \
            [(d.digit, d.start_column, d.stop_column) for d in expected]
        np.testing.assert_allclose([d.confidence for d in read], [d.confidence for d in expected],
                                   atol=1e-3)


def test_the_card_measures_both_recipes_and_calibrates(two_tiny_readers):
    from digitlab.reader_ensemble import build_reader_ensemble, reader_ensemble_card

    models = [result.model for result, _ in two_tiny_readers]
    members = [(f"reader@{index + 1}", card) for index, (_, card) in enumerate(two_tiny_readers)]
    card = reader_ensemble_card(build_reader_ensemble(models), members, lines=20, workers=1).to_dict()
    assert set(card["metrics"]) == {"validation_sequence", "test_sequence",
                                    "validation_handwriting_sequence", "test_handwriting_sequence"}
    assert card["kind"] == "line reader ensemble (2 CRNNs + CTC)"
    assert [member["member"] for member in card["members"]] == [0, 1]
    assert 0.5 <= card["calibration"]["uncertain_threshold"] <= 0.99
    json.dumps(card)  # the registry writes it as JSON


def test_readers_on_different_splits_are_refused(two_tiny_readers):
    from digitlab.reader_ensemble import build_reader_ensemble, reader_ensemble_card

    (result, card), (other, other_card) = two_tiny_readers
    moved = {**other_card, "config": {**other_card["config"], "seed": 7}}
    joined = build_reader_ensemble([result.model, other.model])
    with pytest.raises(ValueError, match="different validation lines"):
        reader_ensemble_card(joined, [("a", card), ("b", moved)], lines=10, workers=1)
    with pytest.raises(ValueError, match="b has no card"):
        reader_ensemble_card(joined, [("a", card), ("b", {})], lines=10, workers=1)


def test_an_ensemble_fine_tunes_every_member(two_tiny_readers, mnist, tmp_path):
    from digitlab.reader_card import reader_card
    from digitlab.reader_ensemble import build_reader_ensemble, reader_ensemble_card
    from digitlab.reader_train import ReaderConfig, train_reader

    models = [result.model for result, _ in two_tiny_readers]
    path = tmp_path / "ensemble.keras"
    ensemble = build_reader_ensemble(models)
    ensemble.save(path)
    members = [(f"reader@{index + 1}", card) for index, (_, card) in enumerate(two_tiny_readers)]
    joined_card = reader_ensemble_card(ensemble, members, lines=10, workers=1).to_dict()
    (tmp_path / "card.json").write_text(json.dumps(joined_card))
    before = [model.get_layer("probabilities").get_weights()[0].copy() for model in models]
    config = ReaderConfig.fine_tune(str(path), train_lines=64, validation_lines=10, test_lines=10,
                                    workers=1, use_store=False)
    tuned = train_reader(config, mnist=mnist)
    assert np.isfinite(tuned.history["loss"][0]) and tuned.model.output_shape[-1] == 22
    for index, start in enumerate(before):
        member = tuned.model.get_layer(f"member_{index + 1}").get_layer("probabilities")
        assert not np.allclose(member.get_weights()[0], start)  # both members learned
    card = reader_card(tuned).to_dict()  # the fine-tuned card still names the readers it holds
    assert card["fine_tuned_from"] == "ensemble" and card["members"] == joined_card["members"]


def test_a_member_spec_names_one_reader_of_an_ensemble():
    from digitlab.reader_members import split_member

    assert split_member("reader@5:member_3") == ("reader@5", 3)
    assert split_member("reader@2") == ("reader@2", None)
    assert split_member("models/reader/2/model.keras") == ("models/reader/2/model.keras", None)
    for wrong in ("reader@5:member_0", "reader@5:member_x", "reader@5:member_"):
        with pytest.raises(ValueError, match="READER:member_N"):
            split_member(wrong)


def test_a_member_of_an_ensemble_is_fine_tuned_and_joined_again(two_tiny_readers, mnist, isolated_dirs):
    from digitlab.reader_card import reader_card
    from digitlab.reader_ensemble import build_reader_ensemble, reader_ensemble_card
    from digitlab.reader_members import load_reader_model, resolve_reader
    from digitlab.reader_train import ReaderConfig, train_reader
    from digitlab.registry import Registry

    models = [result.model for result, _ in two_tiny_readers]
    joined = build_reader_ensemble(models)
    members = [(f"tiny@{index + 1}", card) for index, (_, card) in enumerate(two_tiny_readers)]
    Registry().save(joined, "reader", reader_ensemble_card(joined, members, lines=10, workers=1))
    line = np.random.default_rng(1).uniform(0, 1, (2, 32, 96, 1)).astype(np.float32)
    second = load_reader_model("reader@1:member_2")
    assert second.output_shape[-1] == 11
    np.testing.assert_allclose(np.asarray(second(line)), np.asarray(models[1](line)), atol=1e-6)
    _, model_id, card = resolve_reader("reader@1:member_2")
    assert model_id == "reader@1:member_2 = tiny@2" and card["config"]["member"] == 1
    assert card["config"]["seed"] == two_tiny_readers[1][1]["config"]["seed"]
    for wrong in (load_reader_model, resolve_reader):
        with pytest.raises(ValueError, match="no member_3"):
            wrong("reader@1:member_3")

    config = ReaderConfig.fine_tune("reader@1:member_2", train_lines=64, validation_lines=10,
                                    test_lines=10, workers=1, use_store=False)
    tuned = reader_card(train_reader(config, mnist=mnist)).to_dict()
    assert tuned["fine_tuned_from"] == model_id and "members" not in tuned

    resolved = [resolve_reader(f"reader@1:member_{number}") for number in (1, 2)]
    again = build_reader_ensemble([load_reader_model(f"reader@1:member_{number}") for number in (1, 2)])
    np.testing.assert_allclose(np.asarray(again(line)), np.asarray(joined(line)), atol=1e-6)
    card = reader_ensemble_card(again, [(model_id, card) for _, model_id, card in resolved],
                                lines=10, workers=1).to_dict()
    assert [member["member"] for member in card["members"]] == [0, 1]
    assert card["members"][0]["model"] == "reader@1:member_1 = tiny@1"
