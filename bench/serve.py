"""Benchmark `digitlab serve`: /predict throughput and p99 against a reference-style Flask dev
server that calls model.predict per request, then 4 cameras x 15 fps of 640x480 JPEG frames,
alone and next to a hostile camera (a legacy FF 00 flood, then 25 MP 16-bit PNG frames).

Prints JSON (and writes bench/results/serve.json). Run by hand: `python bench/serve.py`.
The /predict rounds alternate between the two servers and the ratio is the median of the
per-round ratios, so a busy spell on this shared machine hits both sides alike.
Both servers run as their own processes; the load comes from threads in this one.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
RESULTS = ROOT / "bench" / "results" / "serve.json"

from digitlab.cluster import wait_healthy  # noqa: E402
from digitlab.data import load_mnist  # noqa: E402
from digitlab.processes import free_port, stop_process  # noqa: E402
from digitlab.serve.protocol import pack_message, read_message  # noqa: E402
from digitlab.synthetic import canvas_from_mnist, paper_frame  # noqa: E402


def reference_server(port: int, model_file: str) -> None:
    """The reference project's way: Flask dev server, resize to 28x28, model.predict per request."""
    import keras
    from flask import Flask, jsonify, request

    app, model = Flask("reference"), keras.saving.load_model(model_file, compile=False)

    @app.post("/predict")
    def predict():
        data = request.files["image"].read()
        image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_GRAYSCALE)
        image = cv2.resize(image, (28, 28)).astype("float32") / 255.0
        probabilities = model.predict(image.reshape(1, 28, 28, 1), verbose=0)[0]
        return jsonify(digit=int(np.argmax(probabilities)), confidence=float(np.max(probabilities)))

    @app.get("/healthz")
    def healthz():
        return {"status": "ok"}

    app.run(host="127.0.0.1", port=port, threaded=True)


def start_server(command: list, port: int, environment: dict) -> subprocess.Popen:
    """Start a server process and wait until it is healthy (its log goes to stderr if not)."""
    log = tempfile.TemporaryFile()
    process = subprocess.Popen(command, cwd=ROOT, env=environment, stdout=log, stderr=log)
    try:
        wait_healthy(f"http://127.0.0.1:{port}/healthz", process, timeout=180.0)
    except RuntimeError:
        stop_process(process, timeout=30)
        log.seek(0)
        sys.stderr.write(log.read().decode(errors="replace")[-3000:])
        raise
    return process


def combine_rounds(rounds: list[dict]) -> dict:
    """Median req/s over rounds; latency percentiles over every request of every round."""
    latencies = np.concatenate([run.pop("latencies_ms") for run in rounds])
    return {"requests_per_s": round(float(np.median([run["requests_per_s"] for run in rounds])), 1),
            "requests_per_s_per_round": [run["requests_per_s"] for run in rounds],
            "requests": sum(run["requests"] for run in rounds),
            "errors": sum(run["errors"] for run in rounds),
            "p50_ms": round(float(np.percentile(latencies, 50)), 1),
            "p99_ms": round(float(np.percentile(latencies, 99)), 1)}


def multipart(png: bytes) -> tuple[bytes, str]:
    """A multipart/form-data body with the file field 'image'."""
    boundary = uuid.uuid4().hex
    body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"image\"; filename=\"d.png\"\r\n"
            f"Content-Type: image/png\r\n\r\n").encode() + png + f"\r\n--{boundary}--\r\n".encode()
    return body, f"multipart/form-data; boundary={boundary}"


def load_predict(port: int, bodies: list, clients: int, seconds: float) -> dict:
    """N threads POST /predict over keep-alive connections for a while: req/s and latency."""
    latencies, errors, stop = [], [0], threading.Event()

    def worker(offset: int):
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        index = offset
        while not stop.is_set():
            body, content_type = bodies[index % len(bodies)]
            started = time.perf_counter()
            try:
                connection.request("POST", "/predict", body=body,
                                   headers={"Content-Type": content_type})
                response = connection.getresponse()
                response.read()
                ok = response.status == 200
            except (OSError, http.client.HTTPException):
                ok = False
                connection.close()
                connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
            elapsed = time.perf_counter() - started
            if ok and not stop.is_set():
                latencies.append(elapsed * 1000)
            elif not ok:
                errors[0] += 1
            index += 1

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(clients)]
    for thread in threads:
        thread.start()
    time.sleep(1.0)  # warm-up, not counted
    latencies.clear()
    started = time.perf_counter()
    time.sleep(seconds)
    stop.set()
    elapsed = time.perf_counter() - started
    count = len(latencies)
    for thread in threads:
        thread.join()
    values = np.asarray(latencies[:count] or [float("nan")])
    return {"requests_per_s": round(count / elapsed, 1), "requests": count, "errors": errors[0],
            "latencies_ms": values}


def run_cameras(port: int, frames: list, cameras: int, fps: float, seconds: float) -> dict:
    """Each camera sends 640x480 JPEGs at fps over protocol v1 and times frame -> result."""
    latencies, counts, correct = [], {"sent": 0, "processed": 0, "skipped": 0, "errors": 0}, [0]
    lock = threading.Lock()

    def camera(number: int):
        connection = socket.create_connection(("127.0.0.1", port), timeout=30)
        connection.sendall(pack_message({"type": "hello", "protocol": 1,
                                         "client_id": f"bench-{number}"}))
        read_message(connection)
        sent_at, total = {}, int(seconds * fps)

        def receive():
            for _ in range(total):
                message, _ = read_message(connection)
                now = time.perf_counter()
                with lock:
                    if message.get("skipped"):
                        counts["skipped"] += 1
                    elif "error" in message:
                        counts["errors"] += 1
                    else:
                        counts["processed"] += 1
                        latencies.append((now - sent_at[message["seq"]]) * 1000)
                        correct[0] += message["text"] == frames[message["seq"] % len(frames)][1]

        receiver = threading.Thread(target=receive)
        receiver.start()
        next_time = time.perf_counter() + number / (fps * cameras)  # spread the cameras out
        for seq in range(total):
            time.sleep(max(0.0, next_time - time.perf_counter()))
            sent_at[seq] = time.perf_counter()
            connection.sendall(pack_message({"type": "frame", "seq": seq, "ts": time.time()},
                                            frames[seq % len(frames)][0]))
            with lock:
                counts["sent"] += 1
            next_time += 1.0 / fps
        receiver.join()
        connection.close()

    threads = [threading.Thread(target=camera, args=(i,)) for i in range(cameras)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    values = np.asarray(latencies or [float("nan")])
    return {"cameras": cameras, "fps_each": fps, "seconds": seconds, **counts,
            "processed_fraction": round(counts["processed"] / max(1, counts["sent"]), 3),
            "text_correct_fraction": round(correct[0] / max(1, counts["processed"]), 3),
            "latency_p50_ms": round(float(np.percentile(values, 50)), 1),
            "latency_p95_ms": round(float(np.percentile(values, 95)), 1)}


def hostile_neighbour(port: int, seconds: float, stop: threading.Event) -> dict:
    """A hostile camera: a legacy stream of FF 00 pairs for half the time, then 25 MP PNG frames."""
    counts = {"legacy_connections": 0, "legacy_bytes": 0, "png_frames": 0, "png_refused": 0}
    huge = np.zeros((5000, 5000, 4), np.uint16)
    huge[::97] = 65535
    png = cv2.imencode(".png", huge, [cv2.IMWRITE_PNG_COMPRESSION, 9])[1].tobytes()
    flood, started = b"\xff\x00" * 32768, time.perf_counter()
    while not stop.is_set() and time.perf_counter() - started < seconds / 2:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=5) as connection:
                counts["legacy_connections"] += 1
                connection.sendall(b"\xff\xd8\xff\xda\x00\x02")
                while not stop.is_set() and time.perf_counter() - started < seconds / 2:
                    connection.sendall(flood)
                    counts["legacy_bytes"] += len(flood)
        except OSError:
            continue
    with socket.create_connection(("127.0.0.1", port), timeout=30) as connection:
        connection.sendall(pack_message({"type": "hello", "protocol": 1, "client_id": "hostile"}))
        read_message(connection)
        while not stop.is_set():
            connection.sendall(pack_message({"type": "frame", "seq": counts["png_frames"]}, png))
            counts["png_frames"] += 1
            counts["png_refused"] += "error" in read_message(connection)[0]
    counts["png_bytes_each"] = len(png)
    return counts


def run_noisy_neighbour(port: int, frames: list, cameras: int, fps: float, seconds: float) -> dict:
    """The camera round again, with one hostile camera (hostile_neighbour) beside the others."""
    stop, hostile = threading.Event(), {}
    neighbour = threading.Thread(target=lambda: hostile.update(hostile_neighbour(port, seconds,
                                                                                 stop)))
    neighbour.start()
    time.sleep(3.0)  # the neighbour encodes its PNG first (its flood then runs half the round)
    try:
        report = run_cameras(port, frames, cameras, fps, seconds)
    finally:
        stop.set()
        neighbour.join(timeout=60)
    return {**report, "hostile": hostile}


def run_cluster(arguments, environment: dict, bodies: list, frames: list) -> dict:
    """The same /predict load and cameras through nginx in front of N replicas (one store)."""
    from digitlab.cluster import Cluster, ClusterSpec

    spec = ClusterSpec(replicas=arguments.replicas, http_port=free_port(), tcp_port=free_port(),
                       replica_ports=[(free_port(), free_port()) for _ in range(arguments.replicas)],
                       models_root=environment.get("DIGITLAB_MODELS_DIR"))
    with tempfile.TemporaryDirectory() as folder:
        cluster = Cluster(folder)
        cluster.start(spec)
        try:
            rounds = [load_predict(spec.http_port, bodies, arguments.clients, arguments.seconds)
                      for _ in range(arguments.rounds)]
            cameras = run_cameras(spec.tcp_port, frames, arguments.cameras, arguments.fps,
                                  arguments.camera_seconds)
        finally:
            cluster.stop()
    return {"replicas": arguments.replicas, "through": "nginx (least_conn) + PostgreSQL store",
            "predict": combine_rounds(rounds), "cameras": cameras}


def tiny_registry(folder: Path) -> None:
    """Train the `fast` model for one epoch on 3000 images into folder/models (no default model)."""
    from digitlab.registry import Registry
    from digitlab.train import TrainConfig, train

    result = train(TrainConfig(arch="fast", epochs=1, train_subset=3000, augment=False,
                               verbose=0))
    Registry(folder / "models").save(result.model, "digits", result.card())


def main(argv=None) -> int:
    """Run both benchmarks and print the JSON report."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--clients", type=int, default=8, help="concurrent /predict clients")
    parser.add_argument("--seconds", type=float, default=5.0, help="seconds per /predict round")
    parser.add_argument("--rounds", type=int, default=3,
                        help="rounds alternating between the two servers (the ratio is the median)")
    parser.add_argument("--camera-seconds", type=float, default=20.0)
    parser.add_argument("--cameras", type=int, default=4)
    parser.add_argument("--fps", type=float, default=15.0)
    parser.add_argument("--replicas", type=int, default=0,
                        help="also measure N replicas behind nginx on PostgreSQL (digitlab cluster)")
    parser.add_argument("--out", default=str(RESULTS), help="JSON file to write ('' for none)")
    parser.add_argument("--reference-server", nargs=2, metavar=("PORT", "MODEL_FILE"),
                        help=argparse.SUPPRESS)  # internal: run the baseline server
    arguments = parser.parse_args(argv)
    if arguments.reference_server:
        reference_server(int(arguments.reference_server[0]), arguments.reference_server[1])
        return 0

    environment, note = dict(os.environ), "the committed default model (models/digits)"
    temporary = tempfile.TemporaryDirectory()
    if not (ROOT / "models" / "digits" / "1" / "card.json").exists():
        note = "no default model yet: a `fast` model trained 1 epoch on 3000 images"
        tiny_registry(Path(temporary.name))
        environment["DIGITLAB_MODELS_DIR"] = str(Path(temporary.name) / "models")
    from digitlab.registry import Registry

    registry = Registry(environment.get("DIGITLAB_MODELS_DIR"))
    model_file = registry.path("digits") / "model.keras"

    (_, _), (x_test, y_test) = load_mnist()
    rng = np.random.default_rng(0)
    canvases = [cv2.imencode(".png", 255 - canvas_from_mnist(image, size=280))[1].tobytes()
                for image in x_test[:32]]
    bodies = [multipart(png) for png in canvases]
    frames = []
    for index in range(8):
        chosen = rng.choice(len(x_test), 4, replace=False)
        frame, _ = paper_frame(list(x_test[chosen]), rng=index)
        frames.append((cv2.imencode(".jpg", frame, [cv2.IMWRITE_JPEG_QUALITY, 85])[1].tobytes(),
                       "".join(str(y_test[i]) for i in chosen)))

    report = {"model": f"digits@{registry.current('digits')}", "model_note": note,
              "cpu_count": os.cpu_count(), "load_average_at_start": os.getloadavg()[0],
              "predict": {"clients": arguments.clients, "seconds_per_round": arguments.seconds,
                          "rounds": arguments.rounds,
                          "body": "280x280 PNG canvas, multipart field 'image'"}}
    http_port, tcp_port, reference_port = free_port(), free_port(), free_port()
    servers = {
        "digitlab": ([sys.executable, "-m", "digitlab.serve", "--http-port", str(http_port),
                      "--tcp-port", str(tcp_port)], http_port),
        "reference": ([sys.executable, __file__, "--reference-server", str(reference_port),
                       str(model_file)], reference_port),
    }
    processes = {}
    try:
        for name, (command, port) in servers.items():
            processes[name] = start_server(command, port, environment)
        # Rounds alternate between the servers, so both see the same (shared, noisy) machine.
        rounds = {name: [] for name in servers}
        for _ in range(arguments.rounds):
            for name, (_, port) in servers.items():
                rounds[name].append(load_predict(port, bodies, arguments.clients, arguments.seconds))
        for name in servers:
            report["predict"][name] = combine_rounds(rounds[name])
        ratios = [ours["requests_per_s"] / max(theirs["requests_per_s"], 1e-9)
                  for ours, theirs in zip(rounds["digitlab"], rounds["reference"])]
        report["predict"]["throughput_ratio_per_round"] = [round(ratio, 2) for ratio in ratios]
        report["predict"]["throughput_ratio"] = round(float(np.median(ratios)), 2)
        ours, theirs = report["predict"]["digitlab"], report["predict"]["reference"]
        report["predict"]["p99_ratio_reference_over_digitlab"] = round(
            theirs["p99_ms"] / max(ours["p99_ms"], 1e-9), 2)
        stop_process(processes.pop("reference"), timeout=30)
        report["cameras"] = run_cameras(tcp_port, frames, arguments.cameras, arguments.fps,
                                        arguments.camera_seconds)
        report["cameras_with_noisy_neighbour"] = run_noisy_neighbour(
            tcp_port, frames, arguments.cameras, arguments.fps, arguments.camera_seconds)
    finally:
        for process in processes.values():
            stop_process(process, timeout=30)
    if arguments.replicas:
        report["cluster"] = run_cluster(arguments, environment, bodies, frames)
    temporary.cleanup()
    text = json.dumps(report, indent=2)
    print(text)
    if arguments.out:
        Path(arguments.out).parent.mkdir(parents=True, exist_ok=True)
        Path(arguments.out).write_text(text + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
