"""Where the sample store lives: one SQLite file (the default) or a PostgreSQL database.

`open_backend(location)` takes a path, ``sqlite:///path`` or ``postgresql://user@host:port/db``
(psycopg 3; ``pip install -e '.[scale]'``). Both backends run the same SQL: ``?`` placeholders,
``INSERT ... ON CONFLICT DO NOTHING``, rows read by column name or position. Each thread and
process opens its own connection; `transaction()` is all-or-nothing on both.
"""

from __future__ import annotations

import os
import re
import sqlite3
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from digitlab.paths import data_dir
from digitlab.samples import StoreError, StoreVersionError
from digitlab.store_schema import SCHEMA_VERSION, postgres_migrations, sqlite_migrations

STORE_FILENAME = "samples.sqlite"
STORE_URL_VARIABLE = "DIGITLAB_STORE_URL"
BUSY_TIMEOUT_SECONDS = 30.0
MIGRATION_LOCK_KEY = 0x6469676974  # "digit": serialises concurrent first opens on PostgreSQL


def store_location(location: str | Path | None = None) -> str:
    """The store to open: the one given, else $DIGITLAB_STORE_URL, else data_dir()/samples.sqlite."""
    if location is None or str(location) == "":
        location = os.environ.get(STORE_URL_VARIABLE) or data_dir() / STORE_FILENAME
    return str(location)


def is_postgres(location: str) -> bool:
    """True for a postgresql:// (or postgres://) URL."""
    return location.startswith(("postgresql://", "postgres://"))


def redacted(location: str) -> str:
    """The location without a password, fit for logs, cards and error messages."""
    return re.sub(r"(://[^:/@]+):[^@/]*@", r"\1:***@", location)


def open_backend(location: str | Path | None = None):
    """A SqliteBackend or PostgresBackend for the location (see store_location)."""
    location = store_location(location)
    if is_postgres(location):
        return PostgresBackend(location)
    if location.startswith("sqlite://"):
        location = location[len("sqlite://"):]  # sqlite:///abs/path or sqlite://relative/path
    return SqliteBackend(Path(location))


class SqliteBackend:
    """One SQLite file in WAL mode; BEGIN IMMEDIATE takes the write lock up front."""

    dialect = "sqlite"

    def __init__(self, path: Path):
        self.path = path
        self.location = str(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.local = threading.local()

    @contextmanager
    def connect(self) -> Iterator[sqlite3.Connection]:
        """This thread's connection (opened once per thread and process, with a busy timeout)."""
        if getattr(self.local, "pid", None) != os.getpid():  # never reuse one across fork
            connection = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_SECONDS,
                                         isolation_level=None, check_same_thread=False)
            connection.row_factory = sqlite3.Row
            connection.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_SECONDS * 1000)}")
            connection.execute("PRAGMA synchronous = NORMAL")  # durable across crashes in WAL
            self.local.connection, self.local.pid = connection, os.getpid()
        yield self.local.connection

    def close(self) -> None:
        """Close this thread's connection (another call opens a new one)."""
        if getattr(self.local, "pid", None) == os.getpid():
            self.local.connection.close()
        self.local.pid = None

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """A write transaction, rolled back when the block raises."""
        with self.connect() as connection:
            connection.execute("BEGIN IMMEDIATE")
            try:
                yield connection
            except BaseException:
                connection.execute("ROLLBACK")
                raise
            connection.execute("COMMIT")

    def query(self, sql: str, parameters: Sequence = ()) -> list:
        """Run one read-only statement and return all rows."""
        with self.connect() as connection:
            return connection.execute(sql, tuple(parameters)).fetchall()

    def schema_version(self) -> int:
        """The database's PRAGMA user_version."""
        return self.query("PRAGMA user_version")[0][0]

    def migrate(self) -> int:
        """Switch to WAL and apply pending migrations in one transaction; return the version."""
        with self.connect() as connection:
            for attempt in range(100):  # a concurrent first open may hold the lock briefly
                try:
                    connection.execute("PRAGMA journal_mode = WAL")
                    break
                except sqlite3.OperationalError:
                    if attempt == 99:
                        raise
                    time.sleep(0.05)
        with self.transaction() as connection:
            version = connection.execute("PRAGMA user_version").fetchone()[0]
            check_version(version, self.location)
            migrations = sqlite_migrations()
            for number in range(version, SCHEMA_VERSION):
                for statement in migrations[number]:
                    connection.execute(statement)
                connection.execute(f"PRAGMA user_version = {number + 1}")
        return SCHEMA_VERSION


def check_version(version: int, location: str) -> None:
    """StoreVersionError when the database is newer than this digitlab."""
    if version > SCHEMA_VERSION:
        raise StoreVersionError(f"{redacted(location)} has schema version {version}, newer than "
                                f"this digitlab knows ({SCHEMA_VERSION}); update digitlab")


class Row:
    """A PostgreSQL row read like sqlite3.Row: by column name or by position."""

    __slots__ = ("values", "index")

    def __init__(self, values: Sequence, index: dict[str, int]):
        self.values, self.index = tuple(values), index

    def __getitem__(self, key):
        return self.values[self.index[key] if isinstance(key, str) else key]

    def __iter__(self):
        return iter(self.values)

    def __len__(self) -> int:
        return len(self.values)

    def keys(self) -> list[str]:
        return list(self.index)


def row_factory(cursor):
    """psycopg row factory giving Row objects."""
    names = [column.name for column in cursor.description or ()]
    index = {name: position for position, name in enumerate(names)}
    return lambda values: Row(values, index)


class PostgresConnection:
    """A psycopg connection that takes the SQLite-style ``?`` placeholders digitlab writes."""

    def __init__(self, connection):
        self.connection = connection

    def execute(self, sql: str, parameters: Sequence = ()):
        return self.connection.execute(sql.replace("%", "%%").replace("?", "%s"), tuple(parameters))


class PostgresBackend:
    """A PostgreSQL database through psycopg 3; an advisory lock serialises migrations."""

    dialect = "postgresql"

    def __init__(self, url: str):
        try:
            import psycopg
        except ImportError:
            raise StoreError("a postgresql:// store needs psycopg 3: pip install -e '.[scale]' "
                             "(or pip install 'psycopg[binary]')") from None
        self.psycopg, self.path, self.location = psycopg, None, url
        self.local = threading.local()

    @contextmanager
    def connect(self) -> Iterator[PostgresConnection]:
        """This thread's connection (autocommit outside transaction())."""
        if getattr(self.local, "pid", None) != os.getpid() or self.local.connection.closed:
            try:
                connection = self.psycopg.connect(self.location, autocommit=True,
                                                  row_factory=row_factory, connect_timeout=10)
            except self.psycopg.OperationalError as error:
                raise StoreError(f"cannot reach the PostgreSQL store {redacted(self.location)}: "
                                 f"{str(error).strip()}") from None
            self.local.connection, self.local.pid = connection, os.getpid()
        yield PostgresConnection(self.local.connection)

    def close(self) -> None:
        """Close this thread's connection (another call opens a new one)."""
        if getattr(self.local, "pid", None) == os.getpid():
            self.local.connection.close()
        self.local.pid = None

    @contextmanager
    def transaction(self) -> Iterator[PostgresConnection]:
        """A transaction, rolled back when the block raises."""
        with self.connect() as connection, connection.connection.transaction():
            yield connection

    def query(self, sql: str, parameters: Sequence = ()) -> list:
        """Run one read-only statement and return all rows."""
        with self.connect() as connection:
            return connection.execute(sql, parameters).fetchall()

    def schema_version(self) -> int:
        """The version recorded in digitlab_schema (0 for an empty database)."""
        rows = self.query("SELECT to_regclass('digitlab_schema') IS NOT NULL")
        if not rows[0][0]:
            return 0
        return self.query("SELECT version FROM digitlab_schema")[0][0]

    def migrate(self) -> int:
        """Apply pending migrations in one transaction (others wait on the lock); the version."""
        with self.transaction() as connection:
            connection.execute("SELECT pg_advisory_xact_lock(?)", (MIGRATION_LOCK_KEY,))
            connection.execute("CREATE TABLE IF NOT EXISTS digitlab_schema (version INTEGER NOT NULL)")
            row = connection.execute("SELECT version FROM digitlab_schema").fetchone()
            version = 0 if row is None else row[0]
            check_version(version, self.location)
            if row is None:
                connection.execute("INSERT INTO digitlab_schema (version) VALUES (0)")
            for number, statements in postgres_migrations().items():
                if number >= version:
                    for statement in statements:
                        connection.execute(statement)
            connection.execute("UPDATE digitlab_schema SET version = ?", (SCHEMA_VERSION,))
        return SCHEMA_VERSION
