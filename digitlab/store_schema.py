"""The sample store's schema: its migrations, in order, and the columns a Sample is read from.

Migration i is a list of statements; applying it sets PRAGMA user_version to i + 1. A migration
never edits an earlier one: a database of any older version is brought up to date in one
transaction by `SampleStore.migrate`.
"""

from __future__ import annotations

SAMPLES_V1 = """CREATE TABLE samples (
    id INTEGER PRIMARY KEY AUTOINCREMENT, image BLOB NOT NULL, original BLOB,
    label INTEGER NOT NULL CHECK (label BETWEEN 0 AND 9), source TEXT NOT NULL,
    predicted INTEGER, confidence REAL, model_version TEXT, created TEXT NOT NULL,
    content_hash TEXT NOT NULL UNIQUE, split TEXT NOT NULL, set_name TEXT)"""

# Version 4 lets a sample wait for its label (a camera crop or a drawing put aside for the
# review queue) or be marked "not a digit", and records the camera and frame it came from.
# SQLite cannot change a column's constraint, so the table is rebuilt; ids and the
# AUTOINCREMENT high-water mark carry over (a deleted id is never handed out again).
SAMPLES_V4 = """CREATE TABLE samples_v4 (
    id INTEGER PRIMARY KEY AUTOINCREMENT, image BLOB NOT NULL, original BLOB,
    label INTEGER CHECK (label IS NULL OR label BETWEEN 0 AND 9), source TEXT NOT NULL,
    predicted INTEGER, confidence REAL, model_version TEXT, created TEXT NOT NULL,
    content_hash TEXT NOT NULL UNIQUE, split TEXT NOT NULL, set_name TEXT, updated TEXT,
    not_digit INTEGER NOT NULL DEFAULT 0 CHECK (not_digit IN (0, 1)), camera TEXT,
    frame_id INTEGER, CHECK (NOT (not_digit = 1 AND label IS NOT NULL)))"""
V3_COLUMNS = ("id, image, original, label, source, predicted, confidence, model_version, "
              "created, content_hash, split, set_name, updated")

MIGRATIONS: list[list[str]] = [
    [SAMPLES_V1],
    ["ALTER TABLE samples ADD COLUMN updated TEXT",
     "CREATE INDEX samples_by_set ON samples (set_name, split, label)"],
    # lines of digits for the line reader (digitlab.line_samples): the reader input as a PNG
    ["""CREATE TABLE line_samples (
        id INTEGER PRIMARY KEY AUTOINCREMENT, image BLOB NOT NULL, original BLOB,
        text TEXT NOT NULL CHECK (length(text) BETWEEN 1 AND 40 AND text NOT GLOB '*[^0-9]*'),
        source TEXT NOT NULL, predicted TEXT, confidence REAL, model_version TEXT,
        created TEXT NOT NULL, content_hash TEXT NOT NULL UNIQUE, split TEXT NOT NULL,
        set_name TEXT)""",
     "CREATE INDEX line_samples_by_set ON line_samples (set_name, split)"],
    [SAMPLES_V4,
     f"INSERT INTO samples_v4 ({V3_COLUMNS}) SELECT {V3_COLUMNS} FROM samples",
     "INSERT INTO sqlite_sequence (name, seq) SELECT 'samples_v4', seq FROM sqlite_sequence "
     "WHERE name = 'samples' AND NOT EXISTS "
     "(SELECT 1 FROM sqlite_sequence WHERE name = 'samples_v4')",
     "UPDATE sqlite_sequence SET seq = (SELECT MAX(seq) FROM sqlite_sequence "
     "WHERE name IN ('samples', 'samples_v4')) WHERE name = 'samples_v4'",
     "DROP TABLE samples",
     "ALTER TABLE samples_v4 RENAME TO samples",
     "CREATE INDEX samples_by_set ON samples (set_name, split, label)",
     "CREATE INDEX samples_to_review ON samples (set_name, id) "
     "WHERE label IS NULL AND not_digit = 0",
     "CREATE INDEX samples_by_camera ON samples (camera, created) WHERE camera IS NOT NULL"],
]
SCHEMA_VERSION = len(MIGRATIONS)
COLUMNS = f"{V3_COLUMNS}, not_digit, camera, frame_id"
