"""Versioned models on disk: models/<name>/<version>/{model.keras, model.tflite, card.json}.

A save writes everything into a hidden temp folder next to the versions and then renames it
to the next version number, so a version folder is either complete or absent, even when the
saving process is killed. Version numbers are allocated under a file lock, so concurrent saves
never collide. Which version is "current" lives in ``models/<name>/labels.json`` (written
atomically); without that file the lowest version (the committed default) is current.
"""

from __future__ import annotations

import fcntl
import json
import os
import re
import shutil
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from digitlab.paths import models_dir
from digitlab.records import TEMP_PREFIX, utc_now, write_json_atomically

LABELS_FILENAME = "labels.json"
LOCK_FILENAME = ".lock"
CARD_FILENAME = "card.json"
MODEL_FILES = ("model.keras", "model.tflite", CARD_FILENAME)
NAME_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")
FILE_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,127}")


class RegistryError(ValueError):
    """Base class for registry errors (bad names, nothing to roll back to)."""


class UnknownModelError(RegistryError, KeyError):
    """Raised when a model name or version is not in the registry."""

    def __str__(self) -> str:  # KeyError would wrap the message in quotes
        return str(self.args[0]) if self.args else ""


def check_name(name: str) -> str:
    """Return the name if it is a safe folder name (no path separators, no ..), else raise."""
    if not isinstance(name, str) or not NAME_PATTERN.fullmatch(name) or ".." in name:
        raise RegistryError(f"invalid model name {name!r}: use letters, digits, '_', '-' and '.', "
                            "starting with a letter or digit, at most 64 characters")
    return name


@dataclass(frozen=True)
class ModelRef:
    """A registry model: a name and, optionally, one version ("digits", "digits@3")."""

    name: str
    version: int | None = None

    @classmethod
    def parse(cls, text: str) -> ModelRef:
        """Read "name" or "name@version"; RegistryError for a bad name or version."""
        name, at, version = str(text).partition("@")
        if at and not (version.isdigit() and version.isascii()):
            raise RegistryError(f"a version must be a positive integer, got {version!r} in {text!r}")
        return cls(check_name(name), check_version(int(version)) if at else None)

    def __str__(self) -> str:
        return self.name if self.version is None else f"{self.name}@{self.version}"


def check_version(version) -> int:
    """Return the version as a positive int, else raise."""
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise RegistryError(f"a version must be a positive integer, got {version!r}")
    return version


def process_alive(pid: int) -> bool:
    """True when a process with this id exists."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class Registry:
    """The model registry rooted at a folder (default ``models_dir()``)."""

    def __init__(self, root: str | Path | None = None):
        self.root = Path(root) if root is not None else models_dir()

    def __repr__(self) -> str:
        return f"Registry({str(self.root)!r})"

    def folder(self, name: str) -> Path:
        """The folder of a model name (checked to be a safe name)."""
        return self.root / check_name(name)

    @contextmanager
    def locked(self, name: str) -> Iterator[Path]:
        """Hold the model's lock file (fcntl.flock) for version allocation and label changes."""
        folder = self.folder(name)
        folder.mkdir(parents=True, exist_ok=True)
        with open(folder / LOCK_FILENAME, "a") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield folder
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def names(self) -> list[str]:
        """Model names that have at least one version, sorted."""
        if not self.root.is_dir():
            return []
        return sorted(entry.name for entry in self.root.iterdir()
                      if entry.is_dir() and NAME_PATTERN.fullmatch(entry.name)
                      and self.versions(entry.name))

    def version_numbers(self, name: str) -> list[int]:
        """Every numbered folder of a name, complete or not (used to allocate the next number)."""
        folder = self.folder(name)
        if not folder.is_dir():
            return []
        return sorted(int(entry.name) for entry in folder.iterdir()
                      if entry.name.isdigit() and entry.is_dir())

    def versions(self, name: str) -> list[int]:
        """The complete versions (with a card.json) of a name, ascending."""
        folder = self.folder(name)
        return [version for version in self.version_numbers(name)
                if (folder / str(version) / CARD_FILENAME).is_file()]

    def require(self, name: str, version: int | None = None) -> int:
        """The given version (or the current one), checked to exist."""
        available = self.versions(name)
        if not available:
            known = ", ".join(self.names()) or "none"
            raise UnknownModelError(f"no model named {name!r} in {self.root} (models: {known})")
        if version is None:
            return self.current(name)
        if check_version(version) not in available:
            raise UnknownModelError(f"{name!r} has no version {version}; versions: {available}")
        return version

    def labels(self, name: str) -> dict:
        """The labels file's content: {"current": int | None, "previous": [...]}."""
        path = self.folder(name) / LABELS_FILENAME
        try:
            labels = json.loads(path.read_text())
        except (FileNotFoundError, json.JSONDecodeError):
            labels = {}
        return {"current": labels.get("current"), "previous": list(labels.get("previous", []))}

    def current(self, name: str) -> int:
        """The promoted version, or the lowest version when none was promoted."""
        available = self.versions(name)
        if not available:
            self.require(name)
        promoted = self.labels(name)["current"]
        return promoted if promoted in available else available[0]

    def path(self, name: str, version: int | None = None) -> Path:
        """The folder of a version (default: the current one)."""
        return self.folder(name) / str(self.require(name, version))

    def card(self, name: str, version: int | None = None) -> dict:
        """The card.json of a version (default: the current one)."""
        return json.loads((self.path(name, version) / CARD_FILENAME).read_text())

    def list(self) -> list[dict]:
        """One dict per version of every name: name, version, current, labels, path, card."""
        rows = []
        for name in self.names():
            current, previous = self.current(name), self.labels(name)["previous"]
            for version in self.versions(name):
                labels = ["current"] * (version == current) + ["previous"] * (version in previous)
                rows.append({"name": name, "version": version, "current": version == current,
                             "labels": labels, "path": str(self.folder(name) / str(version)),
                             "card": self.card(name, version)})
        return rows

    def save(self, model, name: str, card, files: Mapping[str, Path | bytes] | None = None,
             parent: int | None = None) -> int:
        """Write the model, its TFLite twin, card and extra files as the next version (atomic).

        card is a digitlab.card.ModelCard (or the dict of one); the registry adds the name,
        version, parent and creation time, and writes it once, with the model.
        """
        card = card.to_dict() if hasattr(card, "to_dict") else dict(card)
        folder = self.folder(name)
        folder.mkdir(parents=True, exist_ok=True)
        self.remove_stale_temp_folders(name)
        for filename in files or {}:
            if not FILE_PATTERN.fullmatch(filename) or filename in MODEL_FILES:
                raise RegistryError(f"invalid extra file name {filename!r}")
        temp = Path(tempfile.mkdtemp(prefix=f"{TEMP_PREFIX}{os.getpid()}-", dir=folder))
        try:
            from digitlab.export import write_tflite

            model.save(temp / "model.keras")
            write_tflite(model, temp / "model.tflite", card.get("litert", {}).get("quantize"))
            for filename, content in (files or {}).items():
                if isinstance(content, (bytes, bytearray)):
                    (temp / filename).write_bytes(content)
                else:
                    shutil.copyfile(content, temp / filename)
            with self.locked(name):
                version = max(self.version_numbers(name), default=0) + 1
                parent = parent if parent is not None else card.get("parent")
                record = {**card, "name": name, "version": version, "parent": parent,
                          "created": utc_now("seconds")}
                (temp / CARD_FILENAME).write_text(json.dumps(record, indent=2, default=str) + "\n")
                os.chmod(temp, 0o755)  # mkdtemp makes it private
                os.rename(temp, folder / str(version))
        except BaseException:
            shutil.rmtree(temp, ignore_errors=True)
            raise
        return version

    def remove_stale_temp_folders(self, name: str) -> None:
        """Delete temp folders and files left by saves whose process died (killed mid-save)."""
        for entry in self.folder(name).glob(f"{TEMP_PREFIX}*"):
            pid_text = entry.name[len(TEMP_PREFIX):].split("-")[0]
            if pid_text.isdigit() and not process_alive(int(pid_text)):
                if entry.is_dir():
                    shutil.rmtree(entry, ignore_errors=True)
                else:
                    entry.unlink(missing_ok=True)

    def promote(self, name: str, version: int) -> None:
        """Make a version current, remembering the one before for rollback()."""
        with self.locked(name) as folder:
            version = self.require(name, check_version(version))
            labels, current = self.labels(name), self.current(name)
            if version != current:
                labels["previous"].append(current)
            labels["current"] = version
            write_json_atomically(folder / LABELS_FILENAME, labels)

    def rollback(self, name: str) -> int:
        """Make the previously promoted version current again and return it."""
        with self.locked(name) as folder:
            labels, available = self.labels(name), self.versions(name)
            while labels["previous"]:
                version = labels["previous"].pop()
                if version in available and version != self.current(name):
                    labels["current"] = version
                    write_json_atomically(folder / LABELS_FILENAME, labels)
                    return version
            raise RegistryError(f"{name!r} has no previously promoted version to roll back to")

    def load(self, name: str, version: int | None = None):
        """Load a version's Keras model (default: the current one)."""
        import keras

        return keras.saving.load_model(self.path(name, version) / "model.keras", compile=False)

    def change_token(self, name: str) -> str:
        """A cheap string that changes whenever a version is promoted, rolled back or added."""
        folder = self.folder(name)
        try:
            stat = (folder / LABELS_FILENAME).stat()
            labels_part = f"{stat.st_ino}:{stat.st_mtime_ns}:{stat.st_size}"
        except FileNotFoundError:
            labels_part = "none"
        return f"{labels_part}:{max(self.version_numbers(name), default=0)}"
