"""Fixtures for the serve tests: a tiny registry, a predictor, apps, clients, live servers."""

from __future__ import annotations

import shutil

import pytest

from tests.serve.helpers import make_app, point_env_at, start_server


@pytest.fixture(scope="session")
def serve_root(small_trained_model, tmp_path_factory):
    """data/ (MNIST linked in), models/ (the small model as digits@1) and runs/, made once."""
    from digitlab.data import default_path
    from digitlab.registry import Registry

    root = tmp_path_factory.mktemp("serve")
    for folder in ("data", "models", "runs"):
        (root / folder).mkdir()
    (root / "data" / "mnist.npz").symlink_to(default_path().resolve())
    Registry(root / "models").save(small_trained_model.model, "digits", small_trained_model.card())
    return root


@pytest.fixture(scope="module")
def serve_env(serve_root):
    """The shared folders as digitlab's folders, for one test module."""
    with pytest.MonkeyPatch.context() as monkeypatch:
        point_env_at(monkeypatch, serve_root)
        yield serve_root


@pytest.fixture
def private_registry(serve_root, tmp_path, monkeypatch):
    """A copy of the registry (and fresh runs/) for tests that add or promote versions."""
    shutil.copytree(serve_root / "models", tmp_path / "models")
    (tmp_path / "runs").mkdir()
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "mnist.npz").symlink_to((serve_root / "data" / "mnist.npz").resolve())
    point_env_at(monkeypatch, tmp_path)
    return tmp_path


@pytest.fixture(scope="module")
def predictor(serve_env):
    """The registry's current model, loaded once per module."""
    from digitlab.predict import Predictor

    return Predictor.load("digits")


@pytest.fixture
def app(predictor, tmp_path):
    """A fresh app (flaskr style)."""
    app = make_app(predictor, tmp_path)
    yield app
    app.extensions["digitlab"].close()


@pytest.fixture
def client(app):
    """Flask's test client for the app."""
    return app.test_client()


@pytest.fixture
def live_server(app):
    """The app served for real; stopped after the test."""
    server = start_server(app)
    yield server
    server.stop()


@pytest.fixture(scope="module")
def digits(mnist):
    """A few MNIST test digits (uint8 28x28, ink bright) and their labels."""
    (_, _), (x_test, y_test) = mnist
    return x_test[:200], y_test[:200]
