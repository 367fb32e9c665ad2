"""Where digitlab keeps data and models; each can be moved with an environment variable."""

from __future__ import annotations

import os
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def data_dir() -> Path:
    """The data folder (MNIST cache, sample store): $DIGITLAB_DATA_DIR or ./data."""
    return Path(os.environ.get("DIGITLAB_DATA_DIR", PROJECT_ROOT / "data"))


def models_dir() -> Path:
    """The model registry root: $DIGITLAB_MODELS_DIR or ./models."""
    return Path(os.environ.get("DIGITLAB_MODELS_DIR", PROJECT_ROOT / "models"))


def runs_dir() -> Path:
    """Training logs (CSV, TensorBoard) and job folders: $DIGITLAB_RUNS_DIR or ./runs."""
    return Path(os.environ.get("DIGITLAB_RUNS_DIR", PROJECT_ROOT / "runs"))
