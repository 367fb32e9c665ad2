"""Fixtures the digitlab tests share."""

from __future__ import annotations

import pytest

TINY_READER_SIZES = {"train_lines": 400, "validation_lines": 60, "test_lines": 60, "epochs": 1,
                     "workers": 1, "use_store": False}


def train_tiny_reader(mnist, **options):
    """A reader trained for one epoch on 400 lines, and its card."""
    from digitlab.reader_card import reader_card
    from digitlab.reader_train import ReaderConfig, train_reader

    result = train_reader(ReaderConfig(**TINY_READER_SIZES, **options), mnist=mnist)
    return result, reader_card(result)


@pytest.fixture(scope="session")
def tiny_reader(mnist, tmp_path_factory):
    """A reader trained for one epoch on 400 lines and saved in a temp registry."""
    from digitlab.registry import Registry

    result, card = train_tiny_reader(mnist)
    registry = Registry(tmp_path_factory.mktemp("models"))
    version = registry.save(result.model, "reader", card)
    return result, registry.path("reader", version)
