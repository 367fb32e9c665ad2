"""The reader's line sets and batches: lines made in worker processes, batched by width.

Training lines come from MNIST train minus a validation part (the split the digit model holds
out), validation lines from that part, and test lines, measured once for the card, from MNIST
test; lines people saved in the sample store join the training lines. Chunk k of a set is drawn
with seed (seed, k), so a set is the same whatever the number of workers.
"""

from __future__ import annotations

from concurrent.futures import ProcessPoolExecutor
from typing import TYPE_CHECKING

import numpy as np

from digitlab.data import validation_split_indices
from digitlab.linesynth import LineRecipe, make_lines

if TYPE_CHECKING:
    from digitlab.reader_train import ReaderConfig

CHUNK_LINES = 2000
WORKER_DIGITS: dict = {}  # a worker's digits, sent once when it starts


def keep_digits(images, labels, recipe) -> None:
    """Worker start-up: remember the digits and recipe every chunk is drawn from."""
    WORKER_DIGITS.update(images=images, labels=labels, recipe=recipe)


def make_chunk(arguments) -> tuple[list[np.ndarray], list[str]]:
    """One chunk of lines (a worker's job): (count, seed)."""
    count, seed = arguments
    return make_lines(WORKER_DIGITS["images"], WORKER_DIGITS["labels"], count, seed,
                      WORKER_DIGITS["recipe"])


def make_line_set(images, labels, count: int, seed: int, recipe: LineRecipe, workers: int):
    """`count` lines in chunks of CHUNK_LINES, chunk k drawn with seed (seed, k)."""
    jobs = [(min(CHUNK_LINES, count - start), [seed, start // CHUNK_LINES])
            for start in range(0, count, CHUNK_LINES)]
    if workers <= 1 or len(jobs) == 1:
        keep_digits(images, labels, recipe)
        results = [make_chunk(job) for job in jobs]
    else:
        with ProcessPoolExecutor(workers, initializer=keep_digits,
                                 initargs=(images, labels, recipe)) as pool:
            results = list(pool.map(make_chunk, jobs))
    return [line for chunk, _ in results for line in chunk], [text for _, chunk in results for text in chunk]


def batches(inputs: list[np.ndarray], batch_size: int, rng=None):
    """Index batches of similar widths (little padding), in random order when rng is given."""
    widths = np.array([line.shape[1] for line in inputs], np.float64)
    if rng is not None:
        widths = widths + rng.uniform(0, 24, len(widths))  # vary which lines share a batch
    order = np.argsort(widths, kind="stable")
    groups = [order[start:start + batch_size] for start in range(0, len(order), batch_size)]
    if rng is not None:
        rng.shuffle(groups)
    return groups


def stack_lines(inputs: list[np.ndarray], chosen) -> np.ndarray:
    """A float32 (N, 32, W, 1) batch padded with background to the widest line (W of 16)."""
    from digitlab.lineimage import LINE_HEIGHT, padded_width

    width = padded_width(max(inputs[index].shape[1] for index in chosen))
    batch = np.zeros((len(chosen), LINE_HEIGHT, width, 1), np.float32)
    for row, index in enumerate(chosen):
        line = inputs[index]
        batch[row, :, :line.shape[1], 0] = line.astype(np.float32) * np.float32(1 / 255)
    return batch


def encode_texts(texts: list[str], chosen) -> tuple[np.ndarray, np.ndarray]:
    """Digit labels padded with 0 (ignored past each length) and the lengths."""
    lengths = np.array([len(texts[index]) for index in chosen], np.int32)
    labels = np.zeros((len(chosen), max(1, int(lengths.max()))), np.int32)
    for row, index in enumerate(chosen):
        labels[row, :lengths[row]] = [int(character) for character in texts[index]]
    return labels, lengths


def make_sets(config: ReaderConfig, mnist, progress) -> dict:
    """Training, validation and test lines: (inputs, texts) each."""
    (x_train, y_train), (x_test, y_test) = mnist
    fit, held_out = validation_split_indices(len(x_train), config.seed, config.validation_split)
    made = {}
    for name, images, labels, count, seed in (
            ("train", x_train[fit], y_train[fit], config.train_lines, config.training_seed * 10 + 1),
            ("validation", x_train[held_out], y_train[held_out], config.validation_lines, config.seed * 10 + 2),
            ("test", x_test, y_test, config.test_lines, config.seed * 10 + 3)):
        progress(0.0, f"making {count} {name} lines")
        made[name] = make_line_set(images, labels, count, seed, config.recipe, config.workers)
    if config.use_store:
        for split, name in (("train", "train"), ("holdout", "store_holdout")):
            inputs, texts = store_lines(split)
            if texts and name == "train":
                progress(0.0, f"adding {len(texts)} saved lines x {config.store_repeat}")
                made["train"] = (made["train"][0] + inputs * config.store_repeat,
                                 made["train"][1] + texts * config.store_repeat)
            elif texts:
                made[name] = (inputs, texts)
    return made


def store_lines(split: str) -> tuple[list[np.ndarray], list[str]]:
    """The lines people saved in the default sample store (none when it does not exist)."""
    from digitlab.line_samples import LineSamples
    from digitlab.paths import data_dir
    from digitlab.store import STORE_FILENAME, SampleStore

    path = data_dir() / STORE_FILENAME
    if not path.exists():
        return [], []
    return LineSamples(SampleStore(path)).lines(split)
