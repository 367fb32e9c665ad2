"""A throwaway local PostgreSQL (Debian's ``postgresql`` package) for tests and `make cluster`.

`LocalPostgres(folder).start()` runs ``initdb`` and ``pg_ctl`` on a free port of 127.0.0.1,
with its socket in the folder and trust authentication for the loopback user ``digitlab``
only; nothing listens beyond this machine. PostgreSQL refuses to run as root, so as root the
server runs as the ``postgres`` system user (the folder is handed to it).
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import subprocess
import tempfile
from pathlib import Path

from digitlab.processes import free_port

USER = "digitlab"
START_TIMEOUT_SECONDS = 60


class PostgresUnavailable(RuntimeError):
    """PostgreSQL's server programs are not installed here."""


def server_programs() -> Path:
    """The folder holding initdb and pg_ctl (the newest Debian version first)."""
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"),
                        key=lambda path: int(Path(path).parts[-3]), reverse=True)
    found = shutil.which("initdb")
    for candidate in [*candidates, *([found] if found else [])]:
        if Path(candidate).with_name("pg_ctl").exists():
            return Path(candidate).parent
    raise PostgresUnavailable("PostgreSQL is not installed: run scripts/ensure-cluster-tools.sh "
                              "(apt-get install postgresql)")


def reachable(path: Path, user: str) -> bool:
    """True when `user` may walk down to path (every existing folder above it lets them pass)."""
    account = pwd.getpwnam(user)
    groups = {account.pw_gid, *os.getgrouplist(user, account.pw_gid)}
    for folder in [*reversed(path.parents)]:
        if not folder.exists():
            break
        mode = folder.stat()
        if not (mode.st_mode & 0o001 or (mode.st_uid == account.pw_uid and mode.st_mode & 0o100)
                or (mode.st_gid in groups and mode.st_mode & 0o010)):
            return False
    return True


class LocalPostgres:
    """One PostgreSQL cluster in `folder`, started and stopped by this object.

    As root the server runs as the postgres user; when that user cannot reach `folder` (a
    private temp folder), the cluster goes into a fresh folder under the system temp instead,
    and `folder` says where."""

    def __init__(self, folder: str | Path, port: int | None = None, durable: bool = False):
        self.run_as = "postgres" if os.geteuid() == 0 else None
        self.folder = Path(folder).resolve()
        if self.run_as and not reachable(self.folder, self.run_as):
            self.folder = Path(tempfile.mkdtemp(prefix="digitlab-pg-"))
        self.data = self.folder / "data"
        self.port = port or free_port()
        self.durable = durable  # fsync off unless durable: tests need speed, not crash safety
        self.programs = server_programs()

    def url(self, database: str = "postgres") -> str:
        """The psycopg URL of one database on this server."""
        return f"postgresql://{USER}@127.0.0.1:{self.port}/{database}"

    def command(self, program: str, *arguments: str) -> list[str]:
        """A server program's command line, run as the postgres user when we are root."""
        line = [str(self.programs / program), *arguments]
        return ["runuser", "-u", self.run_as, "--", *line] if self.run_as else line

    def start(self) -> LocalPostgres:
        """initdb (first time only) and start the server; wait until it takes connections."""
        self.folder.mkdir(parents=True, exist_ok=True)
        if self.run_as:
            account = pwd.getpwnam(self.run_as)
            os.chown(self.folder, account.pw_uid, account.pw_gid)
        if not (self.data / "PG_VERSION").exists():
            subprocess.run(self.command("initdb", "-D", str(self.data), "-U", USER,
                                        "--auth=trust", "--encoding=UTF8", "--no-locale"),
                           check=True, capture_output=True, timeout=START_TIMEOUT_SECONDS)
        options = (f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1 "
                   f"-c max_connections=200" + ("" if self.durable else
                                                " -c fsync=off -c synchronous_commit=off"))
        subprocess.run(self.command("pg_ctl", "-D", str(self.data), "-l",
                                    str(self.folder / "server.log"), "-o", options, "-w",
                                    "-t", str(START_TIMEOUT_SECONDS), "start"),
                       check=True, capture_output=True, timeout=START_TIMEOUT_SECONDS + 10)
        return self

    def create_database(self, name: str) -> str:
        """Create an empty database and return its URL."""
        import psycopg

        with psycopg.connect(self.url(), autocommit=True) as connection:
            connection.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def stop(self) -> None:
        """Stop the server at once (fast shutdown)."""
        subprocess.run(self.command("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "stop"),
                       capture_output=True, timeout=START_TIMEOUT_SECONDS)

    def __enter__(self) -> LocalPostgres:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
