"""User samples (drawn digits, corrections, uploads) in one SQLite file, safe for many processes.

Each sample keeps its 28x28 image as a PNG, its label, its source and what the model said at
the time. A content hash (image bytes + set name) makes adding the same image twice a no-op and
picks the split: about one in ten samples goes to the "holdout" split that retraining never
trains on. ``set_name`` groups samples into a "train your own model" set; in queries
``set_name=None`` means the default pool (no set) and ``ALL_SETS`` ("*") means every sample.
A sample may wait for its label (``label=None``: a camera crop or a drawing put aside, see
`digitlab.review`); every query for training, counting or export sees labelled samples only.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from digitlab.records import utc_now
from digitlab.samples import (  # noqa: F401 (re-exported: the store's public names)
    ALL_SETS,
    HOLDOUT_PERCENT,
    MAX_SET_NAME_LENGTH,
    SOURCES,
    SPLITS,
    ImportReport,
    Sample,
    SampleNotFoundError,
    StoreError,
    StoreVersionError,
    check_label,
    check_set_name,
    check_source,
    content_hash,
    decode_png,
    encode_png,
    sample_from_row,
    split_for,
    to_uint8_image,
)
from digitlab.store_backends import (  # noqa: F401 (re-exported)
    STORE_FILENAME,
    open_backend,
    redacted,
    store_location,
)
from digitlab.store_schema import COLUMNS, SCHEMA_VERSION  # noqa: F401 (re-exported)

DIGIT_FOLDERS = {str(digit) for digit in range(10)}


def set_clause(set_name: str | None) -> tuple[str | None, list]:
    """The condition (and its parameter) that selects one sample set: None is the default pool
    (set_name IS NULL); ALL_SETS selects every set, so no condition."""
    set_name = check_set_name(set_name, allow_all=True)
    if set_name is None:
        return "set_name IS NULL", []
    return (None, []) if set_name == ALL_SETS else ("set_name = ?", [set_name])


class SampleStore:
    """The sample database; each thread and process uses its own connection, so all may share it.

    location: a path or ``sqlite:///path`` (default: $DIGITLAB_STORE_URL, else
    data_dir()/samples.sqlite) or a ``postgresql://`` URL (see `digitlab.store_backends`).
    """

    def __init__(self, location: str | Path | None = None):
        self.backend = open_backend(location)
        self.path = self.backend.path  # the SQLite file; None on PostgreSQL
        self.location = self.backend.location  # what another process opens the same store by
        self.migrate()

    def __repr__(self) -> str:
        return f"SampleStore({redacted(self.location)!r})"

    @property
    def dialect(self) -> str:
        """sqlite or postgresql."""
        return self.backend.dialect

    def close(self) -> None:
        """Close this thread's connection (another call opens a new one)."""
        self.backend.close()

    def connect(self):
        """This thread's connection (a context manager)."""
        return self.backend.connect()

    def transaction(self):
        """A write transaction (a context manager), rolled back when its block raises."""
        return self.backend.transaction()

    def query(self, sql: str, parameters: Sequence = ()) -> list:
        """Run one read-only statement and return all rows."""
        return self.backend.query(sql, parameters)

    def migrate(self) -> int:
        """Apply pending schema migrations in one transaction; return the version."""
        return self.backend.migrate()

    def schema_version(self) -> int:
        """The database's schema version."""
        return self.backend.schema_version()

    def add(self, image28, label: int | None, source: str, original_png: bytes | None = None,
            predicted: int | None = None, confidence: float | None = None,
            model_version: str | None = None, set_name: str | None = None,
            camera: str | None = None, frame_id: int | None = None) -> Sample:
        """Store a sample (label None: it waits for review); the same image in the same set
        returns the stored one (duplicate)."""
        image, source = to_uint8_image(image28), check_source(source)
        label = None if label is None else check_label(label)
        set_name = check_set_name(set_name)
        predicted = None if predicted is None else check_label(predicted)
        confidence = None if confidence is None else float(confidence)
        if original_png is not None and not isinstance(original_png, (bytes, bytearray)):
            raise StoreError("original_png must be bytes (the encoded original image)")
        if camera is not None and (not isinstance(camera, str) or not camera.strip()):
            raise StoreError(f"a camera is named by a non-empty string, got {camera!r}")
        hash_hex = content_hash(image, set_name)
        select = f"SELECT {COLUMNS} FROM samples WHERE content_hash = ?"
        with self.transaction() as connection:
            row = connection.execute(select, (hash_hex,)).fetchone()
            if row is not None:
                return sample_from_row(row, duplicate=True)
            # another writer may add the same image meanwhile (PostgreSQL): then it is a duplicate
            inserted = connection.execute(
                "INSERT INTO samples (image, original, label, source, predicted, confidence, "
                "model_version, created, content_hash, split, set_name, camera, frame_id) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (content_hash) DO NOTHING",
                (encode_png(image), None if original_png is None else bytes(original_png), label,
                 source, predicted, confidence, model_version, utc_now(), hash_hex,
                 split_for(hash_hex), set_name, camera,
                 None if frame_id is None else int(frame_id))).rowcount
            return sample_from_row(connection.execute(select, (hash_hex,)).fetchone(),
                                   duplicate=inserted == 0)

    def get(self, sample_id: int) -> Sample:
        """The sample with this id, or SampleNotFoundError."""
        rows = self.query(f"SELECT {COLUMNS} FROM samples WHERE id = ?", (int(sample_id),))
        if not rows:
            raise SampleNotFoundError(f"no sample with id {sample_id} in {self}")
        return sample_from_row(rows[0])

    def delete(self, sample_id: int) -> bool:
        """Delete a sample; False when there was none with this id."""
        with self.transaction() as connection:
            return connection.execute("DELETE FROM samples WHERE id = ?",
                                      (int(sample_id),)).rowcount > 0

    def relabel(self, sample_id: int, label: int | None, not_digit: bool = False) -> Sample:
        """Change a sample's label (its count moves with it) and return the updated sample.

        label None puts it back in the review queue; not_digit=True (with label None) marks
        it "not a digit", so it is neither trained on nor asked about again."""
        label = None if label is None else check_label(label)
        if not_digit and label is not None:
            raise StoreError("a sample marked not a digit has no label")
        with self.transaction() as connection:
            if connection.execute(
                    "UPDATE samples SET label = ?, not_digit = ?, updated = ? WHERE id = ?",
                    (label, int(bool(not_digit)), utc_now(), int(sample_id))).rowcount == 0:
                raise SampleNotFoundError(f"no sample with id {sample_id} in {self}")
        return self.get(sample_id)

    def filter_clause(self, set_name: str | None, split: str | None = None,
                      sources: Sequence[str] | None = None) -> tuple[str, list]:
        """The WHERE clause and its parameters for a set / split / sources selection (labelled
        samples only)."""
        clauses, parameters = ["label IS NOT NULL"], []
        clause, chosen = set_clause(set_name)
        if clause is not None:
            clauses.append(clause)
            parameters.extend(chosen)
        if split is not None:
            if split not in SPLITS:
                raise StoreError(f"unknown split {split!r}; use one of: {', '.join(SPLITS)}")
            clauses.append("split = ?")
            parameters.append(split)
        if sources is not None:
            sources = [sources] if isinstance(sources, str) else sources
            sources = [check_source(source) for source in sources]
            clauses.append(f"source IN ({', '.join('?' * len(sources))})" if sources else "1 = 0")
            parameters.extend(sources)
        return " WHERE " + " AND ".join(clauses), parameters

    def recent(self, limit: int = 20, set_name: str | None = ALL_SETS) -> list[Sample]:
        """The newest samples first (from every set unless set_name is given)."""
        where, parameters = self.filter_clause(set_name)
        rows = self.query(f"SELECT {COLUMNS} FROM samples{where} ORDER BY id DESC LIMIT ?",
                          [*parameters, int(limit)])
        return [sample_from_row(row) for row in rows]

    def counts(self, set_name: str | None = None, split: str | None = None,
               sources: Sequence[str] | None = None) -> dict[int, int]:
        """Samples per digit, all ten keys present."""
        where, parameters = self.filter_clause(set_name, split, sources)
        rows = self.query(f"SELECT label, COUNT(*) FROM samples{where} GROUP BY label", parameters)
        return {**dict.fromkeys(range(10), 0), **{int(label): int(n) for label, n in rows}}

    def total(self, set_name: str | None = ALL_SETS, split: str | None = None) -> int:
        """How many samples there are (in every set unless set_name is given)."""
        where, parameters = self.filter_clause(set_name, split)
        return self.query(f"SELECT COUNT(*) FROM samples{where}", parameters)[0][0]

    def arrays(self, set_name: str | None = None, split: str | None = None,
               sources: Sequence[str] | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Images uint8 (N, 28, 28) and labels uint8 (N,), in the order they were added."""
        where, parameters = self.filter_clause(set_name, split, sources)
        rows = self.query(f"SELECT image, label FROM samples{where} ORDER BY id", parameters)
        images = np.zeros((len(rows), 28, 28), np.uint8)
        for index, row in enumerate(rows):
            images[index] = decode_png(row["image"])
        return images, np.array([row["label"] for row in rows], dtype=np.uint8)

    def fingerprint(self, set_name: str | None = None, split: str | None = None,
                    sources: Sequence[str] | None = None) -> str:
        """sha256 over the sorted (id, label, content hash) of the selected samples."""
        where, parameters = self.filter_clause(set_name, split, sources)
        rows = self.query(f"SELECT id, label, content_hash FROM samples{where} ORDER BY id",
                          parameters)
        text = "".join(f"{sample_id}:{label}:{hash_hex}\n" for sample_id, label, hash_hex in rows)
        return hashlib.sha256(text.encode()).hexdigest()

    def set_names(self) -> list[str]:
        """The named sets, sorted (the default pool is not one of them)."""
        rows = self.query("SELECT DISTINCT set_name FROM samples WHERE set_name IS NOT NULL "
                          "ORDER BY set_name")
        return [row[0] for row in rows]

    def export_pngs(self, folder: str | Path, set_name: str | None = None,
                    split: str | None = None) -> int:
        """Write the selected samples as <folder>/<label>/<id>-<hash>.png; return how many."""
        where, parameters = self.filter_clause(set_name, split)
        rows = self.query(f"SELECT id, image, label, content_hash FROM samples{where} ORDER BY id",
                          parameters)
        for row in rows:
            target = Path(folder) / str(row["label"]) / f"{row['id']:06d}-{row[3][:12]}.png"
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(row["image"])
        return len(rows)

    def import_pngs(self, folder: str | Path, source: str = "upload",
                    set_name: str | None = None) -> ImportReport:
        """Add every <folder>/<digit>/*.png (other sizes go through to_mnist); skip bad files."""
        folder, report = Path(folder), ImportReport()
        check_source(source)
        check_set_name(set_name)
        if not folder.is_dir():
            raise StoreError(f"{folder} is not a folder")
        for path in sorted(p for p in folder.rglob("*") if p.is_file()):
            relative = path.relative_to(folder)
            try:
                if len(relative.parts) != 2 or relative.parts[0] not in DIGIT_FOLDERS \
                        or path.suffix.lower() != ".png":
                    raise StoreError("not laid out as <digit>/<name>.png")
                data = path.read_bytes()
                image, converted = self.image_from_png(data)
            except Exception as error:  # unreadable or blank files are reported, not fatal
                report.skipped += 1
                report.skipped_files.append(f"{relative}: {error}")
                continue
            sample = self.add(image, int(relative.parts[0]), source, set_name=set_name,
                              original_png=data if converted else None)
            report.duplicates += sample.duplicate
            report.added += not sample.duplicate
        return report

    @staticmethod
    def image_from_png(data: bytes) -> tuple[np.ndarray, bool]:
        """(28x28 uint8 image, converted): as is when 28x28, else through preprocess.to_mnist."""
        image = decode_png(data)
        if image.shape == (28, 28):
            return image, False
        from digitlab.preprocess import to_mnist

        return to_uint8_image(to_mnist(image)), True
