"""The model registry: atomic versioned saves, labels, promote/rollback, change tokens, safety."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest

from digitlab import export
from digitlab.registry import Registry, RegistryError, UnknownModelError


class FakeModel:
    """Stands in for a Keras model where only the registry's file handling is under test."""

    def __init__(self, fail: bool = False):
        self.fail = fail

    def save(self, path):
        Path(path).write_bytes(b"half a model")
        if self.fail:
            raise OSError("disk full (simulated)")
        Path(path).write_bytes(b"fake keras model")


@pytest.fixture
def fake_tflite(monkeypatch):
    """Skip the real TFLite conversion for tests that use FakeModel."""
    monkeypatch.setattr(export, "write_tflite", lambda model, path, quantize=None: Path(path).write_bytes(b"tfl"))


@pytest.fixture
def registry(tmp_path) -> Registry:
    return Registry(tmp_path / "models")


def folder_entries(registry: Registry, name: str) -> list[str]:
    return sorted(entry.name for entry in (registry.root / name).iterdir())


def test_default_root_follows_models_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("DIGITLAB_MODELS_DIR", str(tmp_path / "elsewhere"))
    assert Registry().root == tmp_path / "elsewhere"
    assert Registry().names() == []


def test_real_model_round_trip(registry):
    from digitlab.models import build_model

    model = build_model("fast")
    version = registry.save(model, "digits", {"arch": "fast", "metrics": {"accuracy": 0.1}},
                            files={"notes.txt": b"hello"})
    assert version == 1
    folder = registry.path("digits")
    assert sorted(p.name for p in folder.iterdir()) == \
        ["card.json", "model.keras", "model.tflite", "notes.txt"]
    card = registry.card("digits", 1)
    assert card["name"] == "digits" and card["version"] == 1 and card["parent"] is None
    assert card["arch"] == "fast" and card["created"].endswith("+00:00")
    images = np.random.default_rng(0).random((4, 28, 28, 1)).astype(np.float32)
    loaded = registry.load("digits")
    np.testing.assert_allclose(loaded.predict(images, verbose=0), model.predict(images, verbose=0),
                               atol=1e-6)
    assert (folder / "model.tflite").stat().st_size > 1000


def test_versions_increment_and_cards_carry_parent(registry, fake_tflite):
    assert registry.save(FakeModel(), "digits", {"arch": "fast"}) == 1
    assert registry.save(FakeModel(), "digits", {"arch": "fast"}, parent=1) == 2
    assert registry.save(FakeModel(), "digits", {"parent": 2}) == 3
    assert registry.versions("digits") == [1, 2, 3]
    assert [registry.card("digits", v)["parent"] for v in (1, 2, 3)] == [None, 1, 2]
    assert registry.save(FakeModel(), "other", {}) == 1
    assert registry.names() == ["digits", "other"]
    rows = registry.list()
    assert [(row["name"], row["version"], row["current"]) for row in rows] == [
        ("digits", 1, True), ("digits", 2, False), ("digits", 3, False), ("other", 1, True)]
    assert rows[1]["card"]["version"] == 2


def test_extra_files_are_copied_and_checked(registry, fake_tflite, tmp_path):
    plot = tmp_path / "plot.png"
    plot.write_bytes(b"png bytes")
    version = registry.save(FakeModel(), "digits", {}, files={"confusion.png": plot})
    assert (registry.path("digits", version) / "confusion.png").read_bytes() == b"png bytes"
    for bad in ("../escape.txt", "card.json", "a/b.png", ".hidden"):
        with pytest.raises(RegistryError, match="file name"):
            registry.save(FakeModel(), "digits", {}, files={bad: b"x"})
    assert registry.versions("digits") == [1]


@pytest.mark.parametrize("where", ["model", "tflite", "extra file"])
def test_failed_save_leaves_no_partial_version(registry, fake_tflite, monkeypatch, where):
    registry.save(FakeModel(), "digits", {})
    model = FakeModel(fail=where == "model")
    if where == "tflite":
        def broken_tflite(model, path, quantize=None):
            Path(path).write_bytes(b"half")
            raise RuntimeError("converter crashed (simulated)")
        monkeypatch.setattr(export, "write_tflite", broken_tflite)
    files = {"missing.png": Path("/nonexistent/plot.png")} if where == "extra file" else None
    with pytest.raises((OSError, RuntimeError)):
        registry.save(model, "digits", {}, files=files)
    assert folder_entries(registry, "digits") == [".lock", "1"]
    assert registry.versions("digits") == [1] and registry.current("digits") == 1
    monkeypatch.setattr(export, "write_tflite", lambda model, path, quantize=None: Path(path).write_bytes(b"tfl"))
    assert registry.save(FakeModel(), "digits", {}) == 2


def test_stale_temp_folder_of_a_dead_process_is_cleaned(registry, fake_tflite):
    registry.save(FakeModel(), "digits", {})
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    stale = registry.root / "digits" / f".tmp-{dead.pid}-abc"
    stale.mkdir()
    (stale / "model.keras").write_bytes(b"half")
    assert registry.versions("digits") == [1]  # never visible as a version
    registry.save(FakeModel(), "digits", {})
    assert not stale.exists()


def test_concurrent_saves_get_distinct_versions(registry, fake_tflite):
    results, errors = [], []

    def save():
        try:
            results.append(registry.save(FakeModel(), "digits", {}))
        except Exception as error:  # collected and asserted below
            errors.append(error)

    threads = [threading.Thread(target=save) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == [] and sorted(results) == list(range(1, 9))
    assert registry.versions("digits") == list(range(1, 9))


def test_current_promote_rollback_and_labels(registry, fake_tflite):
    for _ in range(3):
        registry.save(FakeModel(), "digits", {})
    labels_path = registry.root / "digits" / "labels.json"
    assert not labels_path.exists() and registry.current("digits") == 1
    assert registry.path("digits") == registry.root / "digits" / "1"
    registry.promote("digits", 3)
    assert registry.current("digits") == 3
    assert json.loads(labels_path.read_text()) == {"current": 3, "previous": [1]}
    assert [row["labels"] for row in registry.list()] == [["previous"], [], ["current"]]
    registry.promote("digits", 2)
    registry.promote("digits", 2)  # promoting the current version changes nothing
    assert json.loads(labels_path.read_text()) == {"current": 2, "previous": [1, 3]}
    assert registry.rollback("digits") == 3 and registry.current("digits") == 3
    assert registry.rollback("digits") == 1 and registry.current("digits") == 1
    with pytest.raises(RegistryError, match="roll back"):
        registry.rollback("digits")
    assert [p.name for p in labels_path.parent.glob(".tmp-*")] == []  # atomic writes cleaned up


def test_change_token_changes_on_promote_and_save(registry, fake_tflite):
    registry.save(FakeModel(), "digits", {})
    registry.save(FakeModel(), "digits", {})
    token = registry.change_token("digits")
    assert registry.change_token("digits") == token
    registry.promote("digits", 2)
    promoted = registry.change_token("digits")
    assert promoted != token
    registry.rollback("digits")
    assert registry.change_token("digits") not in (token, promoted)
    before_save = registry.change_token("digits")
    registry.save(FakeModel(), "digits", {})
    assert registry.change_token("digits") != before_save


def test_unknown_names_and_versions_give_clear_errors(registry, fake_tflite):
    with pytest.raises(UnknownModelError, match="no model named 'digits'"):
        registry.current("digits")
    registry.save(FakeModel(), "digits", {})
    with pytest.raises(UnknownModelError, match="no version 7"):
        registry.path("digits", 7)
    with pytest.raises(UnknownModelError):
        registry.promote("digits", 7)
    with pytest.raises(RegistryError, match="positive integer"):
        registry.card("digits", 0)
    error = UnknownModelError("message")
    assert isinstance(error, KeyError) and isinstance(error, ValueError) and str(error) == "message"


@pytest.mark.parametrize("name", ["../x", "a/b", "..", ".hidden", "", "a\\b", "x" * 65, "a..b"])
def test_path_traversal_names_are_rejected(registry, fake_tflite, name):
    with pytest.raises(ValueError, match="invalid model name"):
        registry.save(FakeModel(), name, {})
    with pytest.raises(ValueError, match="invalid model name"):
        registry.path(name)
    assert not (registry.root.parent / "x").exists()


def test_model_ref_parses_names_and_versions():
    from digitlab.registry import ModelRef, RegistryError

    assert ModelRef.parse("digits") == ModelRef("digits", None)
    assert ModelRef.parse("digits@3") == ModelRef("digits", 3)
    assert str(ModelRef.parse("my-set@12")) == "my-set@12" and str(ModelRef("digits")) == "digits"
    for bad in ("digits@", "digits@x", "digits@0", "digits@-1", "digits@٣", "../x@1", "@2"):
        with pytest.raises(RegistryError):
            ModelRef.parse(bad)
