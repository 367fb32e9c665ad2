"""The sample store on SQLite and PostgreSQL: validation, duplicates, splits, migrations,
concurrency, PNG folders."""

from __future__ import annotations

import multiprocessing
import sqlite3

import numpy as np
import pytest

from digitlab import store as store_module
from digitlab.store import ALL_SETS, SampleNotFoundError, SampleStore, StoreError
from digitlab.store_schema import sqlite_migrations


def random_image(seed: int) -> np.ndarray:
    """A distinct uint8 28x28 image per seed."""
    return np.random.default_rng(seed).integers(0, 256, (28, 28), dtype=np.uint8)


@pytest.fixture
def store(store_location) -> SampleStore:
    return SampleStore(store_location)


def test_default_path_follows_data_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("DIGITLAB_DATA_DIR", str(tmp_path / "data"))
    assert SampleStore().path == tmp_path / "data" / "samples.sqlite"
    assert (tmp_path / "data" / "samples.sqlite").exists()


def test_add_and_get_round_trip(store):
    image = random_image(1)
    sample = store.add(image, 7, "canvas", original_png=b"\x89PNG fake", predicted=1,
                       confidence=0.6, model_version="digits@1")
    assert sample.id > 0 and not sample.duplicate
    assert sample.split in ("train", "holdout") and sample.created.endswith("+00:00")
    loaded = store.get(sample.id)
    np.testing.assert_array_equal(loaded.image, image)
    assert (loaded.label, loaded.source, loaded.predicted, loaded.model_version) == \
        (7, "canvas", 1, "digits@1")
    assert loaded.confidence == pytest.approx(0.6)
    assert loaded.original_png == b"\x89PNG fake"
    assert loaded.to_dict()["label"] == 7 and "image" not in loaded.to_dict()


def test_float_images_are_scaled_to_uint8(store):
    image = np.random.default_rng(0).random((28, 28, 1)).astype(np.float32)
    sample = store.add(image, 3, "upload")
    np.testing.assert_array_equal(sample.image, np.rint(image[..., 0] * 255).astype(np.uint8))


@pytest.mark.parametrize("image, label, source, message", [
    (np.zeros((28, 28), np.uint8), 10, "canvas", "label"),
    (np.zeros((28, 28), np.uint8), -1, "canvas", "label"),
    (np.zeros((28, 28), np.uint8), 2.0, "canvas", "label"),
    (np.zeros((27, 28), np.uint8), 1, "canvas", "28x28"),
    (np.zeros((28, 28), np.float32) + 2.0, 1, "canvas", "float"),
    (np.zeros((28, 28), np.uint8), 1, "webcam", "unknown source"),
])
def test_invalid_input_raises_clear_value_errors(store, image, label, source, message):
    with pytest.raises(ValueError, match=message):
        store.add(image, label, source)
    assert store.total() == 0


def test_invalid_set_names_and_splits(store):
    with pytest.raises(StoreError, match="set name"):
        store.add(random_image(0), 1, "canvas", set_name="")
    with pytest.raises(StoreError, match="set name"):
        store.add(random_image(0), 1, "canvas", set_name=ALL_SETS)
    with pytest.raises(StoreError, match="split"):
        store.counts(split="validation")


def test_duplicates_return_the_stored_sample_and_are_counted_once(store):
    first = store.add(random_image(5), 4, "canvas")
    again = store.add(random_image(5), 9, "correction")
    assert again.duplicate and again.id == first.id and again.label == 4
    assert store.total() == 1 and store.counts()[4] == 1 and store.counts()[9] == 0
    in_a_set = store.add(random_image(5), 4, "canvas", set_name="alice")
    assert not in_a_set.duplicate and in_a_set.id != first.id  # sets are separate pools
    assert store.total() == 2


def test_counts_relabel_delete(store):
    samples = [store.add(random_image(seed), seed % 10, "canvas") for seed in range(30)]
    counts = store.counts()
    assert set(counts) == set(range(10)) and all(value == 3 for value in counts.values())
    store.relabel(samples[0].id, 5)
    counts = store.counts()
    assert counts[0] == 2 and counts[5] == 4 and sum(counts.values()) == 30
    assert store.get(samples[0].id).updated is not None
    assert store.delete(samples[1].id) is True
    assert store.delete(samples[1].id) is False
    assert store.counts()[1] == 2 and store.total() == 29
    with pytest.raises(SampleNotFoundError):
        store.get(samples[1].id)
    with pytest.raises(SampleNotFoundError):
        store.relabel(10_000, 3)
    with pytest.raises(StoreError, match="label"):
        store.relabel(samples[2].id, 11)
    assert [s.id for s in store.recent(3)] == [samples[29].id, samples[28].id, samples[27].id]


def test_split_is_deterministic_and_about_ten_percent(store, tmp_path):
    splits = [store.add(random_image(seed), seed % 10, "canvas").split for seed in range(400)]
    holdout = splits.count("holdout")
    assert 20 <= holdout <= 60
    assert store.total(split="holdout") == holdout
    other = SampleStore(tmp_path / "other.sqlite")  # a SQLite file splits as either backend does
    assert [other.add(random_image(seed), 0, "upload").split for seed in range(400)] == splits


def test_arrays_filter_by_set_split_and_source(store):
    store.add(random_image(1), 1, "canvas")
    store.add(random_image(2), 2, "correction")
    store.add(random_image(3), 3, "canvas", set_name="alice")
    x, y = store.arrays()
    assert x.dtype == np.uint8 and x.shape == (2, 28, 28) and y.dtype == np.uint8
    assert y.tolist() == [1, 2]
    np.testing.assert_array_equal(x[0], random_image(1))
    assert store.arrays(sources=["correction"])[1].tolist() == [2]
    assert store.arrays(set_name="alice")[1].tolist() == [3]
    assert store.arrays(set_name=ALL_SETS)[1].tolist() == [1, 2, 3]
    assert store.arrays(sources=[])[0].shape == (0, 28, 28)
    train = store.arrays(set_name=ALL_SETS, split="train")[1].tolist()
    holdout = store.arrays(set_name=ALL_SETS, split="holdout")[1].tolist()
    assert sorted(train + holdout) == [1, 2, 3]
    assert store.set_names() == ["alice"]


def test_fingerprint_changes_with_content_and_labels(store):
    empty = store.fingerprint()
    sample = store.add(random_image(1), 1, "canvas")
    with_one = store.fingerprint()
    assert with_one != empty
    assert store.fingerprint(set_name="alice") == empty
    store.relabel(sample.id, 2)
    assert store.fingerprint() not in (empty, with_one)


def test_sql_injection_in_a_set_name_is_just_a_name(store):
    name = "x'); DROP TABLE samples; --"
    sample = store.add(random_image(1), 1, "canvas", set_name=name)
    assert store.get(sample.id).set_name == name
    assert store.set_names() == [name]
    assert store.counts(set_name=name)[1] == 1
    assert store.arrays(set_name=name)[1].tolist() == [1]
    assert store.total() == 1  # the table survived


def test_migrates_a_version_one_database_and_keeps_its_data(tmp_path):
    path = tmp_path / "old.sqlite"
    connection = sqlite3.connect(path)
    for statement in sqlite_migrations()[0]:
        connection.execute(statement)
    connection.execute("PRAGMA user_version = 1")
    image = random_image(9)
    connection.execute(
        "INSERT INTO samples (image, label, source, created, content_hash, split) "
        "VALUES (?, 6, 'canvas', '2024-01-01T00:00:00+00:00', ?, 'train')",
        (store_module.encode_png(image), store_module.content_hash(image, None)))
    connection.commit()
    connection.close()

    store = SampleStore(path)
    assert store.schema_version() == store_module.SCHEMA_VERSION >= 2
    (sample,) = store.recent()
    assert sample.label == 6 and sample.updated is None
    np.testing.assert_array_equal(sample.image, image)
    assert store.add(image, 6, "canvas").duplicate
    assert store.relabel(sample.id, 8).updated is not None  # the v2 column works


def test_version_four_keeps_ids_and_never_hands_out_a_deleted_one_again(tmp_path):
    path = tmp_path / "v3.sqlite"
    connection = sqlite3.connect(path, isolation_level=None)
    for number in range(3):
        for statement in sqlite_migrations()[number]:
            connection.execute(statement)
    connection.execute("PRAGMA user_version = 3")
    for index in range(1, 4):
        image = random_image(100 + index)
        connection.execute(
            "INSERT INTO samples (image, label, source, created, content_hash, split, set_name) "
            "VALUES (?, ?, 'canvas', '2024-01-01T00:00:00+00:00', ?, 'train', ?)",
            (store_module.encode_png(image), index, store_module.content_hash(image, "bob"),
             "bob"))
    connection.execute("DELETE FROM samples WHERE id = 3")  # the highest id, deleted
    connection.close()

    store = SampleStore(path)
    assert store.schema_version() == store_module.SCHEMA_VERSION == 4
    assert [(sample.id, sample.label, sample.set_name) for sample in store.recent()] == \
        [(2, 2, "bob"), (1, 1, "bob")]
    assert store.add(random_image(200), 5, "upload").id == 4  # not 3: that one was deleted
    waiting = store.add(random_image(201), None, "camera", camera="cam-1", frame_id=17)
    assert (waiting.label, waiting.camera, waiting.frame_id, waiting.not_digit) == \
        (None, "cam-1", 17, False)


def test_unlabelled_samples_wait_outside_every_training_query(store):
    store.add(random_image(1), 4, "canvas")
    waiting = store.add(random_image(2), None, "camera", predicted=9, confidence=0.4)
    assert store.total() == 1 and sum(store.counts().values()) == 1
    assert store.arrays()[1].tolist() == [4] and len(store.recent()) == 1
    before = store.fingerprint()
    labelled = store.relabel(waiting.id, 9)
    assert labelled.label == 9 and store.total() == 2 and store.fingerprint() != before
    marked = store.relabel(waiting.id, None, not_digit=True)
    assert marked.not_digit and marked.label is None and store.total() == 1
    with pytest.raises(StoreError, match="no label"):
        store.relabel(waiting.id, 3, not_digit=True)
    with pytest.raises(StoreError, match="camera"):
        store.add(random_image(3), None, "camera", camera="  ")


def test_refuses_a_newer_schema(tmp_path):
    path = tmp_path / "future.sqlite"
    SampleStore(path)
    connection = sqlite3.connect(path)
    connection.execute(f"PRAGMA user_version = {store_module.SCHEMA_VERSION + 1}")
    connection.commit()
    connection.close()
    with pytest.raises(store_module.StoreVersionError, match="newer"):
        SampleStore(path)


def test_wal_mode_is_on(tmp_path):
    assert SampleStore(tmp_path / "wal.sqlite").query("PRAGMA journal_mode")[0][0] == "wal"


def add_many(path: str, worker: int, count: int, barrier) -> None:
    """Worker process: add `count` distinct samples plus one image every worker also adds."""
    store = SampleStore(path)  # the first open races with the other workers' (migration)
    barrier.wait(timeout=30)
    for index in range(count):
        store.add(random_image(1000 * (worker + 1) + index), index % 10, "canvas")
        if index == count // 2:
            store.add(random_image(0), 0, "canvas")


def test_concurrent_processes_add_exact_counts(store_location):
    path = store_location
    # PostgreSQL takes the 4 x 500; SQLite (one writer at a time, fsync each) 4 x 40
    workers, per_worker = 4, 500 if store_location.startswith("postgresql") else 40
    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(workers)
    processes = [context.Process(target=add_many, args=(path, w, per_worker, barrier))
                 for w in range(workers)]
    for process in processes:
        process.start()
    for process in processes:
        process.join(timeout=50)
    assert [process.exitcode for process in processes] == [0] * workers
    store = SampleStore(path)
    assert store.total() == workers * per_worker + 1  # the shared image is stored once
    counts = store.counts()
    assert counts[0] == workers * per_worker // 10 + 1
    assert all(counts[digit] == workers * per_worker // 10 for digit in range(1, 10))
    ids = [row[0] for row in store.query("SELECT id FROM samples")]
    assert len(ids) == len(set(ids)) == workers * per_worker + 1  # no id handed out twice


def test_export_then_import_round_trips(store, tmp_path):
    originals = {seed: store.add(random_image(seed), seed % 10, "canvas") for seed in range(25)}
    folder = tmp_path / "export"
    assert store.export_pngs(folder) == 25
    assert sorted(p.name for p in folder.iterdir()) == [str(d) for d in range(10)]

    (folder / "3" / "notes.txt").write_text("not an image")
    (folder / "4" / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n garbage")
    (folder / "loose.png").write_bytes((next(iter((folder / "1").iterdir()))).read_bytes())

    fresh = SampleStore(tmp_path / "fresh.sqlite")
    report = fresh.import_pngs(folder, source="upload")
    assert (report.added, report.duplicates, report.skipped) == (25, 0, 3)
    assert len(report.skipped_files) == 3
    assert fresh.counts() == store.counts()
    imported = {s.content_hash: s for s in fresh.recent(100)}
    for sample in originals.values():
        twin = imported[sample.content_hash]
        assert twin.label == sample.label and twin.source == "upload"
        np.testing.assert_array_equal(twin.image, sample.image)
    again = fresh.import_pngs(folder, source="upload")
    assert (again.added, again.duplicates) == (0, 25)
    in_set = fresh.import_pngs(folder, source="upload", set_name="bob")
    assert in_set.added == 25 and fresh.counts(set_name="bob") == store.counts()


def test_import_rejects_a_missing_folder(store, tmp_path):
    with pytest.raises(StoreError, match="not a folder"):
        store.import_pngs(tmp_path / "missing")


def test_postgres_refuses_a_newer_schema_and_hides_the_password(postgres_server):
    url = postgres_server.create_database("future_schema")
    with SampleStore(url).transaction() as connection:
        connection.execute("UPDATE digitlab_schema SET version = 99")
    with pytest.raises(store_module.StoreVersionError, match="newer"):
        SampleStore(url)
    assert store_module.redacted("postgresql://ann:secret@db:5432/lab") == \
        "postgresql://ann:***@db:5432/lab"


def test_an_unreachable_postgres_is_a_clear_error_without_the_password():
    from digitlab.processes import free_port

    with pytest.raises(StoreError, match="cannot reach the PostgreSQL store") as caught:
        SampleStore(f"postgresql://ann:secret@127.0.0.1:{free_port()}/lab")
    assert "secret" not in str(caught.value)


def test_the_store_url_variable_picks_the_backend(tmp_path, monkeypatch):
    monkeypatch.setenv("DIGITLAB_STORE_URL", f"sqlite://{tmp_path}/chosen.sqlite")
    assert SampleStore().path == tmp_path / "chosen.sqlite"
    assert SampleStore(tmp_path / "given.sqlite").path == tmp_path / "given.sqlite"  # given wins
