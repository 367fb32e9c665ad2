"""Occlusion saliency against an oracle model whose answer rests on known pixels."""

from __future__ import annotations

import numpy as np
import pytest
from matplotlib.figure import Figure

from digitlab import plots
from digitlab.saliency import occlusion_map


def region_model(batch: np.ndarray) -> np.ndarray:
    """Says 3 with the mean ink of rows/columns 10-15, else 0: it looks at that square only."""
    seen = np.asarray(batch).reshape(-1, 28, 28)[:, 10:16, 10:16].mean(axis=(1, 2))
    probabilities = np.zeros((len(seen), 10), np.float32)
    probabilities[:, 3], probabilities[:, 0] = seen, 1 - seen
    return probabilities


def test_the_map_lights_up_exactly_where_the_model_looks():
    image = np.ones((28, 28), np.float32)
    saliency, digit = occlusion_map(region_model, image)
    assert digit == 3
    assert saliency[10:16, 10:16].min() > 0  # every pixel the model reads matters
    far = np.ones((28, 28), bool)
    far[5:21, 5:21] = False  # no 6-px patch over these pixels touches the square
    assert np.all(saliency[far] == 0)
    assert np.unravel_index(saliency.argmax(), saliency.shape) in \
        {(row, column) for row in range(10, 16) for column in range(10, 16)}


def test_a_real_models_map_rests_on_the_ink(mnist):
    from digitlab.predict import Predictor
    from tests.app.helpers import COMMITTED_MODEL

    predictor = Predictor.load(COMMITTED_MODEL, reader=None, rejector=None)
    (_, _), (x_test, _) = mnist
    for image in x_test[:5]:
        saliency, _ = occlusion_map(predictor.prepared_probabilities, image)
        ink = image > 128
        assert saliency[ink].mean() > saliency[~ink].mean()
    assert isinstance(plots.plot_saliency(predictor.prepared_probabilities, x_test[:3]), Figure)


def test_bad_patches_are_refused():
    with pytest.raises(ValueError, match="patch"):
        occlusion_map(region_model, np.zeros((28, 28)), patch=0)
