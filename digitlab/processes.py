"""Small helpers for local servers in tests and benchmarks: ports, waiting, a clean stop."""

from __future__ import annotations

import socket
import subprocess
import time


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as probe:
        probe.bind((host, 0))
        return probe.getsockname()[1]


def stop_process(process: subprocess.Popen, timeout: float = 20.0) -> None:
    """Ask a server process to stop (SIGTERM), and kill it if it is still there after timeout."""
    process.terminate()
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def wait_until(condition, timeout: float = 10.0, what: str = "condition", interval: float = 0.1):
    """Poll until condition() is truthy and return its value; TimeoutError naming `what` if not."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(interval)


def port_listening(port: int, host: str = "127.0.0.1") -> bool:
    """True when something accepts TCP connections on the port (without sending a request)."""
    try:
        with socket.create_connection((host, port), timeout=2):
            return True
    except OSError:
        return False
