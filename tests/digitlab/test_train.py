"""Training: config checks, the split, augmentation and schedule oracles, determinism, a real run."""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf

from digitlab.augment import AugmentConfig, augment_batch
from digitlab.models import ARCHITECTURES, build_model
from digitlab.train import OneCycle, TrainConfig, split_training_data, train


@pytest.mark.parametrize("name", sorted(ARCHITECTURES))
def test_architectures_map_digits_to_ten_probabilities(name):
    model = build_model(name)
    output = model(np.zeros((2, 28, 28, 1), np.float32)).numpy()
    assert output.shape == (2, 10)
    assert np.allclose(output.sum(axis=1), 1.0, atol=1e-5)


def test_unknown_architecture_names_the_choices():
    with pytest.raises(ValueError, match="baseline, default, fast"):
        build_model("resnet")


@pytest.mark.parametrize("options", [{"epochs": 0}, {"schedule": "step"}, {"validation_split": 0.7},
                                     {"extra_x": np.zeros((1, 28, 28))},
                                     {"held_out_split": {"seed": 0, "validation_split": 0.0}}])
def test_bad_configs_are_refused(options):
    with pytest.raises(ValueError):
        TrainConfig(**options)


def test_validation_comes_from_training_data_and_extra_samples_are_mixed_in(mnist):
    extra_x = np.full((5, 28, 28), 0.5, np.float32)
    extra_y = np.arange(5)
    config = TrainConfig(train_subset=1000, validation_split=0.1, extra_x=extra_x, extra_y=extra_y,
                         extra_repeat=3)
    (x_fit, y_fit), (x_val, y_val) = split_training_data(config, mnist)
    assert len(x_val) == 100 and len(x_fit) == 900 + 15
    (x_train, _), (x_test, _) = mnist
    train_rows = {row.tobytes() for row in x_train}
    assert all(image.tobytes() in train_rows for image in x_val)
    fit_rows = {row.tobytes() for row in x_fit[:900]}
    assert not any(image.tobytes() in fit_rows for image in x_val)
    assert (x_fit[-15:] == 128).all() and list(y_fit[-5:]) == [0, 1, 2, 3, 4]


def test_augmentation_with_nothing_to_do_is_the_identity(mnist):
    images = mnist[1][0][:8, ..., None].astype(np.float32) / 255
    still = AugmentConfig(rotation_degrees=0, zoom_fraction=0, shift_fraction=0, stroke_change_probability=0)
    assert np.abs(augment_batch(tf.constant(images), still).numpy() - images).max() < 1e-5


def test_augmentation_keeps_the_digit_mostly_in_frame(mnist):
    images = mnist[1][0][:64, ..., None].astype(np.float32) / 255
    augmented = augment_batch(tf.constant(images)).numpy()
    assert augmented.shape == images.shape and augmented.min() >= 0 and augmented.max() <= 1
    ink_kept = augmented.sum(axis=(1, 2, 3)) / images.sum(axis=(1, 2, 3))
    assert np.median(ink_kept) > 0.7 and np.abs(augmented - images).mean() > 0.01


def test_one_cycle_rises_to_the_peak_then_falls_to_nearly_zero():
    schedule = OneCycle(peak_rate=0.01, total_steps=100, warmup_fraction=0.25)
    rates = [float(schedule(step)) for step in range(101)]
    assert rates[0] < 0.002 and abs(max(rates) - 0.01) < 1e-3 and rates[-1] < 1e-4
    assert int(np.argmax(rates)) in range(23, 28)


def test_training_is_deterministic_with_a_seed(mnist):
    config = TrainConfig(arch="fast", epochs=1, train_subset=600, batch_size=64, test_subset=100,
                         early_stopping_patience=None, verbose=0, seed=7)
    first = train(config, mnist=mnist)
    second = train(config, mnist=mnist)
    for a, b in zip(first.model.get_weights(), second.model.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_a_short_real_run_learns_and_reports_progress(small_trained_model):
    result = small_trained_model
    assert result.test_accuracy > 0.9, result.test_accuracy
    assert result.val_accuracy > 0.9
    card = result.card()
    assert card["arch"] == "fast" and card["data"]["mnist_sha256"] == result.data_checksum
    assert card["metrics"]["mnist_test_accuracy"] == result.test_accuracy


def test_progress_is_reported_per_epoch(mnist):
    reports = []
    config = TrainConfig(arch="fast", epochs=2, train_subset=300, test_subset=50, verbose=0,
                         early_stopping_patience=None)
    train(config, mnist=mnist, progress=lambda fraction, message: reports.append((fraction, message)))
    assert [fraction for fraction, _ in reports] == [0.5, 1.0]
    assert reports[-1][1].startswith("epoch 2/2")


def test_register_calibrates_on_the_validation_split_and_the_card_can_rebuild_it(
        small_trained_model, mnist, tmp_path):
    import json

    from digitlab.evaluate import card_validation_set, evaluate
    from digitlab.train import register

    register(small_trained_model, "digits", out=tmp_path)
    card = json.loads((tmp_path / "card.json").read_text())
    assert card["calibration"]["measured_on"] == "validation split (800 images)"
    assert {"confusion_matrix.png", "reliability.png"} <= {p.name for p in tmp_path.glob("*.png")}
    # the card alone gives back the very images training held out, so the test set stays unused
    _, (x_val, y_val) = split_training_data(small_trained_model.config, mnist)
    x_card, y_card = card_validation_set(card, mnist)
    assert np.array_equal(x_card, x_val) and np.array_equal(y_card, y_val)
    threshold = evaluate(small_trained_model.model, x_val, y_val).uncertain_threshold()
    assert card["calibration"]["uncertain_threshold"] == threshold


def test_command_line_defaults_come_from_train_config():
    from dataclasses import fields

    from digitlab.train import COMMAND_LINE_FIELDS, TrainConfig, build_parser

    parsed = vars(build_parser().parse_args([]))
    defaults = {item.name: item.default for item in fields(TrainConfig)}
    assert {name: parsed[name] for name in COMMAND_LINE_FIELDS} == \
        {name: defaults[name] for name in COMMAND_LINE_FIELDS}
    chosen = vars(build_parser().parse_args(["--no-augment", "--patience", "0", "--epochs", "2"]))
    assert chosen["augment"] is False and chosen["early_stopping_patience"] == 0
    assert chosen["epochs"] == 2


def test_fine_tune_preset_keeps_replay_images_for_training_whatever_the_split():
    from digitlab.train import TrainConfig

    for split in (0.0, 0.1, 0.2):
        config = TrainConfig.fine_tune("model.keras", 1000, None, None, validation_split=split)
        assert round(config.train_subset * (1 - split)) >= 1000 > (config.train_subset - 1) * (1 - split)


def index_coded_mnist(count: int = 3000):
    """Fake MNIST whose training image i carries i in its first two pixels."""
    index = np.arange(count)
    images = np.zeros((count, 28, 28), np.uint8)
    images[:, 0, 0], images[:, 0, 1] = index // 256, index % 256
    labels = (index % 10).astype(np.uint8)
    return (images, labels), (images[:10], labels[:10])


def indices_of(images) -> set[int]:
    """The training-set indices that index_coded_mnist images carry."""
    return set((images[:, 0, 0].astype(int) * 256 + images[:, 0, 1]).tolist())


@pytest.mark.parametrize("seed", [0, 5])
def test_a_held_out_split_never_reaches_the_replay_or_the_fine_tunes_validation(seed):
    from digitlab.data import split_validation_indices
    from digitlab.evaluate import card_validation_set

    mnist = index_coded_mnist()
    base = {"seed": 0, "validation_split": 0.1, "train_subset": None}  # the base model's split
    reserved = set(split_validation_indices(3000, base).tolist())
    samples_x, samples_y = np.zeros((4, 28, 28), np.uint8), np.arange(4)
    replay = 600

    def drawn(config):
        (x_fit, _), (x_val, _) = split_training_data(config, mnist)
        return indices_of(x_fit[:-len(samples_y)]), indices_of(x_val), x_val

    unguarded = TrainConfig.fine_tune("base.keras", replay, samples_x, samples_y, seed=seed)
    fit, validation, _ = drawn(unguarded)
    assert fit & reserved or validation & reserved  # without the option the replay draws them
    config = TrainConfig.fine_tune("base.keras", replay, samples_x, samples_y, seed=seed,
                                   held_out_split=base)
    fit, validation, x_val = drawn(config)
    assert len(fit) >= replay and len(validation) > 0 and not fit & validation
    assert not fit & reserved and not validation & reserved
    # the fine-tune's card records the split it kept out, so its own validation can be rebuilt
    card = {"config": config.describe()}
    assert card["config"]["held_out_split"] == base
    assert np.array_equal(card_validation_set(card, mnist)[0], x_val)
