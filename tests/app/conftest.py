"""The app fixture of the widget tests: a DrawingApp on temp folders and stand-ins."""

from __future__ import annotations

import pytest

from digitlab.app.session import DrawingSession
from digitlab.app.widgets import DrawingApp
from digitlab.store import SampleStore
from tests.app.fakes import FakeJobs, FakeRegistry
from tests.app.helpers import COMMITTED_MODEL, FakePredictor, registry_with_model


@pytest.fixture(scope="module")
def voila_app(tmp_path_factory, request):
    """One Voila server per browser test module (preheated kernel) on a temp registry with a
    real model and a temp store."""
    from tests.app.browser import served_app, trained_model_unless_committed

    folder = tmp_path_factory.mktemp(request.module.__name__.rsplit(".", 1)[-1])
    with served_app(folder, trained_model_unless_committed(request)) as app:
        yield app


@pytest.fixture
def app(tmp_path):
    """A DrawingApp on a temp store whose predictor always answers 7."""
    fake = FakePredictor(digit=7)
    registry = FakeRegistry(tmp_path / "models")
    session = DrawingSession(SampleStore(tmp_path / "samples.sqlite"), registry,
                             load_predictor=lambda spec: fake)
    return DrawingApp(session=session, jobs=FakeJobs())


@pytest.fixture
def real_model(isolated_dirs, request):
    """The committed default model (or, before it exists, conftest's small trained one)."""
    if (COMMITTED_MODEL / "model.tflite").exists():
        return registry_with_model(isolated_dirs / "models")
    return registry_with_model(isolated_dirs / "models",
                               request.getfixturevalue("small_trained_model"))
