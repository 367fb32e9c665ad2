"""Labelled images from outside MNIST, for measuring a model on your own writers.

`load_labelled(source)` reads either a folder laid out as ``<digit>/<name>.<png|jpg|bmp|webp>``
(any size: other sizes go through the one preprocessing path, `preprocess.to_mnist`) or a
sample store set, named ``store:`` (the default pool), ``store:NAME`` or ``store:*`` (every
set). Files that cannot be read, are blank or sit outside a digit folder are skipped and
reported, never guessed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".webp"}
STORE_PREFIX = "store:"
SHOWN_SKIPS = 20  # skipped files listed by name (all are counted)


@dataclass
class LabelledSet:
    """Images as uint8 (N, 28, 28) in MNIST form, their labels, and what was left out."""

    name: str
    images: np.ndarray
    labels: np.ndarray
    skipped: int = 0
    skipped_files: list[str] = field(default_factory=list)


def load_labelled(source: str | Path, store=None) -> LabelledSet:
    """A labelled folder or store set (see the module docstring); ValueError when empty."""
    text = str(source)
    if text.startswith(STORE_PREFIX):
        labelled = from_store(text[len(STORE_PREFIX):] or None, store)
    else:
        labelled = from_folder(Path(source))
    if not len(labelled.labels):
        raise ValueError(f"{labelled.name} holds no labelled images to evaluate on"
                         + (f" ({labelled.skipped} files skipped)" if labelled.skipped else ""))
    return labelled


def from_store(set_name: str | None, store=None) -> LabelledSet:
    """Every labelled sample of a store set (None: the default pool, "*": all sets)."""
    from digitlab.store import SampleStore

    store = store or SampleStore()
    images, labels = store.arrays(set_name=set_name)
    where = "the default pool" if set_name is None else f"set {set_name!r}"
    return LabelledSet(f"{where} of {store}", images, labels.astype(np.int64))


def from_folder(folder: Path) -> LabelledSet:
    """Every image under folder/<digit>/, brought to MNIST form."""
    from digitlab import imagefile
    from digitlab.preprocess import to_mnist

    if not folder.is_dir():
        raise ValueError(f"{folder} is not a folder (lay images out as <digit>/<name>.png) "
                         "and does not start with store:")
    images, labels, skipped = [], [], []
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        relative = path.relative_to(folder)
        try:
            if len(relative.parts) != 2 or relative.parts[0] not in {str(d) for d in range(10)} \
                    or path.suffix.lower() not in IMAGE_SUFFIXES:
                raise ValueError("not laid out as <digit>/<name>.<png|jpg|bmp|webp>")
            image = imagefile.decode_image(path.read_bytes())
            if image.shape == (28, 28):
                image28 = image
            else:
                image28 = np.rint(to_mnist(image) * 255).astype(np.uint8)
        except Exception as error:  # unreadable, blank or misplaced: reported, not fatal
            skipped.append(f"{relative}: {error}")
            continue
        images.append(image28)
        labels.append(int(relative.parts[0]))
    stacked = np.stack(images) if images else np.zeros((0, 28, 28), np.uint8)
    return LabelledSet(str(folder), stacked, np.array(labels, np.int64), len(skipped),
                       skipped[:SHOWN_SKIPS])
