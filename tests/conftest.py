"""Shared fixtures: real MNIST, isolated data/model/run folders, a small trained registry."""

from __future__ import annotations

import os

import numpy as np
import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from digitlab.data import default_path, load_mnist  # noqa: E402


@pytest.fixture(scope="session")
def mnist():
    """The real MNIST arrays (make test fetches data/mnist.npz before pytest runs)."""
    return load_mnist()


@pytest.fixture
def isolated_dirs(tmp_path, monkeypatch):
    """Point the data, models and runs folders at a temp dir (MNIST linked in, not copied)."""
    data, models, runs = tmp_path / "data", tmp_path / "models", tmp_path / "runs"
    for folder in (data, models, runs):
        folder.mkdir()
    (data / "mnist.npz").symlink_to(default_path().resolve())
    monkeypatch.setenv("DIGITLAB_DATA_DIR", str(data))
    monkeypatch.setenv("DIGITLAB_MODELS_DIR", str(models))
    monkeypatch.setenv("DIGITLAB_RUNS_DIR", str(runs))
    monkeypatch.delenv("DIGITLAB_STORE_URL", raising=False)
    return tmp_path


@pytest.fixture(scope="session")
def postgres_server():
    """A real PostgreSQL on 127.0.0.1 for this test run (scripts/ensure-cluster-tools.sh installs it)."""
    import shutil
    import tempfile

    from digitlab.pg_local import LocalPostgres, PostgresUnavailable

    try:
        import psycopg  # noqa: F401
        server = LocalPostgres(tempfile.mkdtemp(prefix="digitlab-pg-")).start()
    except (ImportError, PostgresUnavailable) as error:
        if os.environ.get("CI"):  # CI installs both: a missing one is a failure there
            pytest.fail(f"PostgreSQL tests cannot run: {error}")
        pytest.skip(f"PostgreSQL tests skipped: {error}")
    yield server
    server.stop()
    shutil.rmtree(server.folder, ignore_errors=True)


@pytest.fixture(params=["sqlite", "postgresql"])
def store_location(request, tmp_path):
    """An empty sample store on each backend: a SQLite file, then a fresh PostgreSQL database."""
    if request.param == "sqlite":
        return str(tmp_path / "samples.sqlite")
    import uuid

    return request.getfixturevalue("postgres_server").create_database(f"test_{uuid.uuid4().hex[:12]}")


@pytest.fixture(scope="session")
def small_trained_model(mnist):
    """A `fast` model trained for one epoch on 8000 images (about 95 % on MNIST test)."""
    from digitlab.train import TrainConfig, train

    config = TrainConfig(arch="fast", epochs=1, train_subset=8000, batch_size=64, augment=False,
                         early_stopping_patience=None, test_subset=2000, verbose=0, seed=1)
    return train(config, mnist=mnist)


def digit_images(mnist, count: int = 200, seed: int = 0):
    """A fixed random sample of MNIST test digits and labels."""
    (_, _), (x_test, y_test) = mnist
    index = np.random.default_rng(seed).choice(len(x_test), size=count, replace=False)
    return x_test[index], y_test[index]
