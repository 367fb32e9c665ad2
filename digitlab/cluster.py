"""`digitlab cluster start|stop|status`: N serve replicas behind nginx, on one PostgreSQL store.

A try-out of the multi-machine layout on loopback: each replica is a plain `digitlab serve`
on its own ports, sharing the registry folder (promotions reach every replica through its
registry poll), the runs folder and one PostgreSQL store ($DIGITLAB_STORE_URL, or a local
server started in the run folder). nginx (``deploy/nginx.conf``) balances HTTP with
``least_conn`` and retries a dead replica once; its ``stream`` module balances the camera port.
The run folder keeps ``cluster.json`` (ports, pids, the shared write token) and every log.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import signal
import subprocess
import sys
import time
import urllib.request
from dataclasses import asdict, dataclass, field
from pathlib import Path

from digitlab.paths import PROJECT_ROOT, models_dir, runs_dir
from digitlab.processes import free_port
from digitlab.samples import StoreError
from digitlab.store import SampleStore
from digitlab.store_backends import redacted

NGINX_TEMPLATE = PROJECT_ROOT / "deploy" / "nginx.conf"
STREAM_MODULE = "/usr/lib/nginx/modules/ngx_stream_module.so"
STATE_FILE = "cluster.json"
READY_TIMEOUT_SECONDS = 60


@dataclass
class ClusterSpec:
    """Where the cluster listens and what its replicas share."""

    replicas: int = 2
    listen: str = "127.0.0.1"
    http_port: int = 8000  # nginx, for HTTP clients and browsers
    tcp_port: int = 8001  # nginx, for cameras
    replica_ports: list[tuple[int, int]] = field(default_factory=list)  # (http, tcp) each
    store_url: str | None = None  # None: $DIGITLAB_STORE_URL, else a local PostgreSQL
    models_root: str | None = None
    token: str | None = None
    model: str = "digits"

    def __post_init__(self):
        if self.replicas < 1:
            raise ValueError(f"a cluster needs at least one replica, got {self.replicas}")
        if not self.replica_ports:  # free loopback ports: two clusters never share a replica
            self.replica_ports = [(free_port(), free_port()) for _ in range(self.replicas)]
        if len(self.replica_ports) != self.replicas:
            raise ValueError("replica_ports needs one (http, tcp) pair per replica")
        self.token = self.token or secrets.token_urlsafe(24)


def healthy(url: str) -> bool:
    """True when GET url answers 200."""
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.status == 200
    except OSError:
        return False


def wait_healthy(url: str, process: subprocess.Popen | None = None, log: Path | None = None,
                 timeout: float = READY_TIMEOUT_SECONDS) -> None:
    """Poll url until it answers (from `process`, which must still run), or raise with the
    process's log when it exited or took too long."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            tail = log.read_text(errors="replace")[-1500:].strip() if log and log.exists() else ""
            raise RuntimeError(f"the server exited with code {process.returncode} before "
                               f"{url} answered; its log ({log}) ends:\n{tail}")
        if healthy(url) and (process is None or process.poll() is None):
            return
        time.sleep(0.2)
    raise RuntimeError(f"{url} did not become healthy within {timeout:g} s")


def alive(pid: int) -> bool:
    """True while a process with this pid exists (and is not a zombie of ours)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    status = Path(f"/proc/{pid}/stat")
    return not (status.exists() and status.read_text().split(") ")[-1].startswith("Z"))


def render_nginx(spec: ClusterSpec, run: Path) -> Path:
    """Write run/nginx.conf from the deploy template for this cluster's ports."""
    upstream = "        server 127.0.0.1:{} max_fails=1 fail_timeout=5s;"
    text = NGINX_TEMPLATE.read_text().format(
        stream_module=STREAM_MODULE, run=run, listen=spec.listen, http_port=spec.http_port,
        tcp_port=spec.tcp_port,
        http_servers="\n".join(upstream.format(http) for http, _ in spec.replica_ports),
        tcp_servers="\n".join(upstream.format(tcp) for _, tcp in spec.replica_ports))
    path = run / "nginx.conf"
    path.write_text(text)
    return path


class Cluster:
    """Start, inspect and stop one cluster whose files live in `run`."""

    def __init__(self, run: str | Path | None = None):
        self.run = Path(run) if run is not None else runs_dir() / "cluster"
        self.state_path = self.run / STATE_FILE
        self.processes: dict[int, subprocess.Popen] = {}  # the replicas this object started

    def state(self) -> dict | None:
        """What `start` recorded, or None when no cluster was started here."""
        return json.loads(self.state_path.read_text()) if self.state_path.exists() else None

    def replica_environment(self, spec: ClusterSpec) -> dict:
        """The environment every replica shares: store, registry, runs folder."""
        return {**os.environ, "DIGITLAB_STORE_URL": spec.store_url,
                "DIGITLAB_MODELS_DIR": spec.models_root, "DIGITLAB_RUNS_DIR": str(self.run / "runs")}

    def start_replica(self, spec: ClusterSpec, index: int) -> subprocess.Popen:
        """One `digitlab serve` on the replica's ports (its log: run/replica-<index>.log)."""
        http, tcp = spec.replica_ports[index]
        log = self.run / f"replica-{index}.log"
        process = subprocess.Popen(
            [sys.executable, "-m", "digitlab", "serve", "--host", "127.0.0.1", "--http-port",
             str(http), "--tcp-port", str(tcp), "--model", spec.model],
            env={**self.replica_environment(spec), "DIGITLAB_SERVE_TOKEN": spec.token},  # not ps
            stdout=log.open("ab"), stderr=subprocess.STDOUT, start_new_session=True)
        self.processes[process.pid] = process
        wait_healthy(f"http://127.0.0.1:{http}/healthz", process, log)
        return process

    def start(self, spec: ClusterSpec) -> dict:
        """Start the store (if local), the replicas and nginx; return the recorded state.

        When any part fails to start, what did start is stopped again before the error rises."""
        if self.state() is not None:
            raise RuntimeError(f"a cluster is already recorded in {self.state_path}; "
                               "stop it first (digitlab cluster stop)")
        try:
            return self.start_parts(spec)
        except BaseException:
            self.stop()
            raise

    def start_parts(self, spec: ClusterSpec) -> dict:
        """start's steps, each recorded in cluster.json as soon as it is running."""
        self.run.mkdir(parents=True, exist_ok=True)
        state = {"spec": None, "replicas": [], "postgres": None}
        spec.models_root = str(Path(spec.models_root or models_dir()).resolve())
        spec.store_url = spec.store_url or os.environ.get("DIGITLAB_STORE_URL")
        if not spec.store_url:
            spec.store_url, state["postgres"] = self.start_postgres()
        SampleStore(spec.store_url).close()  # a store the replicas cannot open fails here, clearly
        state["spec"] = asdict(spec)
        self.state_path.write_text(json.dumps(state, indent=2))  # stop() can clean up from here
        for index in range(spec.replicas):
            state["replicas"].append(self.start_replica(spec, index).pid)
            self.state_path.write_text(json.dumps(state, indent=2))
        config = render_nginx(spec, self.run)
        subprocess.run(["nginx", "-p", str(self.run), "-c", str(config), "-e",
                        str(self.run / "nginx-error.log")], check=True, capture_output=True)
        state["nginx_pid_file"] = str(self.run / "nginx.pid")
        self.state_path.write_text(json.dumps(state, indent=2))
        wait_healthy(f"http://127.0.0.1:{spec.http_port}/healthz")
        return state

    def start_postgres(self) -> tuple[str, str]:
        """A durable local PostgreSQL in run/postgres with a database "digitlab"; (URL, folder)."""
        from digitlab.pg_local import LocalPostgres

        server = LocalPostgres(self.run / "postgres", durable=True).start()
        try:
            url = server.create_database("digitlab")
        except Exception:  # noqa: BLE001 (already there from an earlier try-out)
            url = server.url("digitlab")
        return url, str(server.folder)

    def stop(self) -> bool:
        """Stop nginx, the replicas and a local store; False when nothing was recorded."""
        state = self.state()
        if state is None:
            return False
        pid_file = Path(state.get("nginx_pid_file") or self.run / "nginx.pid")
        if pid_file.exists():
            stop_pid(int(pid_file.read_text().strip()))
        for pid in state["replicas"]:
            if self.processes.get(pid) is not None or is_replica(pid):  # never a reused pid
                stop_pid(pid, self.processes.get(pid))
        if state.get("postgres"):
            from digitlab.pg_local import LocalPostgres

            LocalPostgres(state["postgres"], port=1).stop()
        self.state_path.unlink()
        return True


def is_replica(pid: int) -> bool:
    """True when pid runs `digitlab serve` (so a recorded pid that was reused is left alone)."""
    try:
        command = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return False
    return b"digitlab" in command and b"serve" in command


def stop_pid(pid: int, process: subprocess.Popen | None = None, timeout: float = 10.0) -> None:
    """SIGTERM, then SIGKILL after timeout seconds; a process already gone is fine."""
    try:
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if process is not None and process.poll() is not None:
                return  # our own child: reaped, not left a zombie
            os.kill(pid, 0)
            time.sleep(0.1)
        os.kill(pid, signal.SIGKILL)
        if process is not None:
            process.wait(timeout)
    except ProcessLookupError:
        return


def status(cluster: Cluster) -> dict:
    """Health of nginx and of each replica, from the recorded state."""
    state = cluster.state()
    if state is None:
        return {"running": False, "run": str(cluster.run)}
    spec = state["spec"]
    return {"running": True, "run": str(cluster.run),
            "http": f"http://{spec['listen']}:{spec['http_port']}",
            "cameras": f"{spec['listen']}:{spec['tcp_port']}",
            "nginx_healthy": healthy(f"http://127.0.0.1:{spec['http_port']}/healthz"),
            "replicas": [{"pid": pid, "http_port": http, "tcp_port": tcp,
                          "healthy": alive(pid) and healthy(f"http://127.0.0.1:{http}/healthz")}
                         for pid, (http, tcp) in zip(state["replicas"], spec["replica_ports"])],
            "store": redacted(spec["store_url"]), "token": spec["token"]}


def build_parser() -> argparse.ArgumentParser:
    """`digitlab cluster start|stop|status` options."""
    parser = argparse.ArgumentParser(prog="digitlab cluster", description=__doc__.splitlines()[0])
    parser.add_argument("action", choices=("start", "stop", "status"))
    parser.add_argument("--replicas", type=int, default=2, help="serve processes (default 2)")
    parser.add_argument("--http-port", type=int, default=8000, help="nginx HTTP port (8000)")
    parser.add_argument("--tcp-port", type=int, default=8001, help="nginx camera port (8001)")
    parser.add_argument("--store", help="postgresql:// URL (default: $DIGITLAB_STORE_URL, else "
                                        "a local PostgreSQL in the run folder)")
    parser.add_argument("--model", default="digits", help="the model every replica serves")
    parser.add_argument("--run", type=Path, help="run folder (default runs/cluster)")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Command line: start prints where to connect; stop ends everything start began."""
    arguments = build_parser().parse_args(argv)
    cluster = Cluster(arguments.run)
    if arguments.action == "start":
        try:
            cluster.start(ClusterSpec(replicas=arguments.replicas, http_port=arguments.http_port,
                                      tcp_port=arguments.tcp_port, store_url=arguments.store,
                                      model=arguments.model))
        except subprocess.CalledProcessError as error:  # nginx: its own first line says why
            lines = (error.stderr or b"").decode(errors="replace").strip().splitlines()
            print(f"digitlab cluster: nginx did not start: {lines[0] if lines else error}",
                  file=sys.stderr)
            return 1
        except (RuntimeError, OSError, ValueError, StoreError) as error:
            print(f"digitlab cluster: {error}", file=sys.stderr)
            return 1
    elif arguments.action == "stop":
        print("stopped" if cluster.stop() else f"no cluster recorded in {cluster.run}")
        return 0
    print(json.dumps(status(cluster), indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
