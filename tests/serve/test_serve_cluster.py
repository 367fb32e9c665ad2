"""Two serve replicas behind nginx on one PostgreSQL store: promotion reaches both, and a replica
killed with SIGKILL under load loses no answer, no camera for long, and no acknowledged upload."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import threading
import time

import cv2
import numpy as np
import pytest
import requests

from digitlab.cluster import Cluster, ClusterSpec
from digitlab.paths import PROJECT_ROOT
from digitlab.processes import free_port
from digitlab.store import SampleStore
from tests.conftest import digit_images
from tests.serve.helpers import encode, photo_of, scene, wait_for

LOAD_SECONDS_BEFORE_KILL, LOAD_SECONDS_AFTER_KILL = 3.0, 7.0
CAMERA_RECONNECT_SECONDS = 5.0


def nginx_or_skip() -> None:
    """Skip without nginx and its stream module (a failure in CI, which installs them)."""
    missing = shutil.which("nginx") is None or not os.path.exists(
        "/usr/lib/nginx/modules/ngx_stream_module.so")
    if missing:
        message = "nginx with its stream module is not installed (scripts/ensure-cluster-tools.sh)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)


@pytest.fixture
def cluster(tmp_path, postgres_server):
    """2 replicas of digits@1 (a copy of the committed registry) + nginx, on free ports."""
    nginx_or_skip()
    models = tmp_path / "models"
    shutil.copytree(PROJECT_ROOT / "models" / "digits" / "1", models / "digits" / "1")
    ports = [(free_port(), free_port()) for _ in range(2)]
    spec = ClusterSpec(replicas=2, http_port=free_port(), tcp_port=free_port(),
                       replica_ports=ports, models_root=str(models),
                       store_url=postgres_server.create_database("cluster_test"))
    running = Cluster(tmp_path / "cluster")
    running.start(spec)
    yield running, spec
    running.stop()


class Load:
    """HTTP clients that retry a failed request once, and an uploader that notes every ack."""

    def __init__(self, base: str, token: str, png: bytes):
        self.base, self.token, self.png = base, token, png
        self.answers, self.retries, self.failures, self.acknowledged = 0, 0, [], []
        self.stop = threading.Event()
        self.lock = threading.Lock()

    def post(self, path: str, expected: int, **parts) -> requests.Response | None:
        """POST, once more when the first try fails; None (and a failure noted) when both do."""
        for attempt in range(2):
            try:
                response = requests.post(self.base + path, timeout=10, **parts)
                if response.status_code == expected:
                    with self.lock:
                        self.retries += attempt
                    return response
                error = f"{response.status_code} {response.text[:200]}"
            except requests.RequestException as failure:
                error = repr(failure)
        with self.lock:
            self.failures.append(f"{path}: {error}")
        return None

    def predicting(self) -> None:
        while not self.stop.is_set():
            if self.post("/predict", 200, files={"image": ("d.png", self.png)}) is not None:
                with self.lock:
                    self.answers += 1

    def uploading(self) -> None:
        rng, count = np.random.default_rng(7), 0
        while not self.stop.is_set():
            image = rng.integers(0, 256, (28, 28), dtype=np.uint8)  # a new image every time
            image[:4] = 0  # (not blank)
            response = self.post("/upload_training_data", 201, data={"digit": str(count % 10)},
                                 files={"images": ("u.png", encode(image))},
                                 headers={"Authorization": f"Bearer {self.token}"})
            if response is not None:
                with self.lock:
                    self.acknowledged.extend(item["id"] for item in response.json()["stored"])
            count += 1
            time.sleep(0.05)


def start_camera(port: int, client_id: str, folder) -> tuple[subprocess.Popen, list]:
    """`digitlab camera` on a looping folder; its result lines, time-stamped, in a list."""
    process = subprocess.Popen(
        [sys.executable, "-m", "digitlab", "camera", "--server", f"127.0.0.1:{port}", "--source",
         str(folder), "--loop", "--fps", "10", "--client-id", client_id],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    lines: list[tuple[float, str]] = []

    def collect():
        for line in process.stdout:
            lines.append((time.monotonic(), line.strip()))

    threading.Thread(target=collect, daemon=True).start()
    return process, lines


def result_times(lines) -> list[float]:
    """When the camera printed a reading."""
    return [moment for moment, text in lines if text.startswith("#") and "skipped" not in text]


def test_promotion_reaches_every_replica_and_a_killed_replica_loses_nothing(cluster, mnist, tmp_path):
    running, spec = cluster
    base = f"http://127.0.0.1:{spec.http_port}"
    replica_urls = [f"http://127.0.0.1:{http}" for http, _ in spec.replica_ports]

    # a promotion made through nginx (one replica) is served by both within the registry poll
    shutil.copytree(os.path.join(spec.models_root, "digits", "1"),
                    os.path.join(spec.models_root, "digits", "2"))
    promoted = requests.post(base + "/promote", json={"name": "digits", "version": 2},
                             headers={"Authorization": f"Bearer {spec.token}"}, timeout=10)
    assert promoted.status_code == 200, promoted.text
    for url in replica_urls:
        wait_for(lambda url=url: requests.get(url + "/healthz", timeout=2).json()["model"]
                 == "digits@2", timeout=5)

    images, labels = digit_images(mnist, 12)
    frames = tmp_path / "frames"
    frames.mkdir()
    for index in range(3):
        cv2.imwrite(str(frames / f"{index}.png"), scene(images[index * 4:index * 4 + 4])[0])
    cameras = [start_camera(spec.tcp_port, f"cam-{name}", frames) for name in "ab"]
    load = Load(base, spec.token, encode(photo_of(images[0])))
    workers = [threading.Thread(target=load.predicting) for _ in range(2)]
    workers.append(threading.Thread(target=load.uploading))
    try:
        wait_for(lambda: all(result_times(lines) for _, lines in cameras), timeout=20)
        for worker in workers:
            worker.start()
        time.sleep(LOAD_SECONDS_BEFORE_KILL)
        answers_before = load.answers
        killed_at = time.monotonic()
        os.kill(running.state()["replicas"][0], signal.SIGKILL)
        time.sleep(LOAD_SECONDS_AFTER_KILL)
    finally:
        load.stop.set()
        for worker in workers:
            worker.join(timeout=20)
        for process, _ in cameras:
            process.terminate()
            process.wait(timeout=10)

    assert load.failures == [], load.failures[:5]
    print(f"answers {load.answers}, retried {load.retries}, uploads {len(load.acknowledged)}")
    assert answers_before > 0 and load.answers > answers_before + 10  # the survivor kept answering
    moved = [name for name, (_, lines) in zip("ab", cameras)
             if any("connection lost" in text for moment, text in lines if moment >= killed_at)]
    assert len(moved) == 1, [lines[-6:] for _, lines in cameras]  # least_conn: one per replica
    for name, (_, lines) in zip("ab", cameras):
        times = [moment for moment in result_times(lines) if moment >= killed_at - 1.0]
        gaps = np.diff(times) if len(times) > 1 else [np.inf]
        assert times and times[-1] > killed_at + 1.0, (name, lines[-10:])
        assert max(gaps) <= CAMERA_RECONNECT_SECONDS, (name, max(gaps), lines[-10:])
    store = SampleStore(spec.store_url)
    stored = {row[0] for row in store.query("SELECT id FROM samples")}
    assert load.acknowledged and set(load.acknowledged) <= stored  # every acked upload is kept
    survivor = requests.get(replica_urls[1] + "/healthz", timeout=5)
    assert survivor.status_code == 200 and survivor.json()["model"] == "digits@2"


def test_a_replica_that_cannot_start_stops_the_start_with_its_reason(tmp_path, postgres_server):
    nginx_or_skip()
    spec = ClusterSpec(replicas=1, http_port=free_port(), tcp_port=free_port(), model="nosuch",
                       models_root=str(PROJECT_ROOT / "models"),
                       store_url=postgres_server.create_database("cluster_bad_model"))
    failing = Cluster(tmp_path / "cluster")
    with pytest.raises(RuntimeError, match=r"exited with code 1(.|\n)*no model 'nosuch'"):
        failing.start(spec)
    assert failing.state() is None and not any(process.poll() is None
                                               for process in failing.processes.values())
    with pytest.raises(Exception, match="cannot reach the PostgreSQL store"):
        Cluster(tmp_path / "other").start(ClusterSpec(store_url=f"postgresql://x@127.0.0.1:{free_port()}/x"))
