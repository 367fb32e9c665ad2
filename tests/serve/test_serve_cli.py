"""`digitlab serve` and `digitlab camera` as commands: start, stream, reconnect, configure."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
import urllib.request

import cv2
import pytest

from digitlab.serve import camera, config
from digitlab.serve.server import ServeServer
from tests.serve.helpers import make_app, wait_for


@pytest.fixture
def digit_folder(tmp_path, digits):
    """A folder of five digit images, the way a user points --source at one."""
    folder = tmp_path / "frames"
    folder.mkdir()
    for index, image in enumerate(digits[0][:5]):
        cv2.imwrite(str(folder / f"{index}.png"), image)
    return folder


def test_python_m_serve_starts_answers_and_stops_on_sigterm(serve_env, digit_folder, capsys):
    process = subprocess.Popen(
        [sys.executable, "-m", "digitlab.serve", "--http-port", "0", "--tcp-port", "0"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        env={**os.environ, "DIGITLAB_SERVE_TOKEN": ""}, cwd=str(serve_env))
    try:
        lines = []
        while not any(line.startswith("write token") for line in lines):
            lines.append(process.stdout.readline())
            assert lines[-1], "".join(lines)
        text = "".join(lines)
        http_port = int(re.search(r"http://127\.0\.0\.1:(\d+)/", text).group(1))
        tcp_port = int(re.search(r"cameras  127\.0\.0\.1:(\d+)", text).group(1))
        with urllib.request.urlopen(f"http://127.0.0.1:{http_port}/healthz", timeout=10) as answer:
            assert json.loads(answer.read()) == {"status": "ok", "model": "digits@1"}
        assert camera.main(["--server", f"127.0.0.1:{tcp_port}", "--source", str(digit_folder),
                            "--fps", "20", "--max-frames", "5", "--client-id", "cli"]) == 0
        printed = capsys.readouterr().out
        assert "connected as cli; server model digits@1" in printed
        assert re.findall(r"^#(\d): (?:\d|skipped)", printed, re.M) == list("01234")
    finally:
        process.send_signal(signal.SIGTERM)
        output, _ = process.communicate(timeout=30)
    assert process.returncode == 0 and "stopping" in output


def test_camera_reconnects_after_a_server_restart(predictor, tmp_path, digit_folder):
    first = ServeServer(make_app(predictor, tmp_path, HOST="127.0.0.1", HTTP_PORT=0,
                                 TCP_PORT=0)).start()
    port, codes = first.tcp_port, []
    arguments = ["--server", f"127.0.0.1:{port}", "--source", str(digit_folder), "--loop",
                 "--fps", "20", "--max-frames", "100", "--client-id", "roamer", "--quiet"]
    streaming = threading.Thread(target=lambda: codes.append(camera.main(arguments)))
    streaming.start()
    second = None
    try:
        wait_for(lambda: first.state.hub.stats())
        first.stop()
        second = ServeServer(make_app(predictor, tmp_path, HOST="127.0.0.1", HTTP_PORT=0,
                                      TCP_PORT=port)).start()
        stats = wait_for(lambda: [s for s in second.state.hub.stats()
                                  if s["frames"]["processed"] > 0], timeout=20)
        assert stats[0]["client_id"] == "roamer" and stats[0]["protocol"] == "v1"
    finally:
        streaming.join(timeout=30)
        if second is not None:
            second.stop()
    assert codes == [0]


def test_camera_legacy_mode_streams_raw_jpegs(live_server, digit_folder):
    arguments = ["--server", f"127.0.0.1:{live_server.tcp_port}", "--source", str(digit_folder),
                 "--fps", "30", "--max-frames", "5", "--legacy"]
    streaming = threading.Thread(target=camera.main, args=(arguments,))
    streaming.start()
    stats = wait_for(lambda: live_server.state.hub.stats())
    assert stats[0]["protocol"] == "legacy"
    streaming.join(timeout=20)


def test_configuration_from_environment_and_command_line():
    defaults = config.from_arguments([], environ={})
    assert (defaults["HOST"], defaults["HTTP_PORT"], defaults["TCP_PORT"]) == ("127.0.0.1", 8000, 8001)
    environ = {"DIGITLAB_SERVE_HTTP_PORT": "9000", "DIGITLAB_SERVE_TOKEN": "t",
               "DIGITLAB_SERVE_LEGACY_CAMERAS": "off"}
    chosen = config.from_arguments(["--tcp-port", "9001", "--host", "0.0.0.0"], environ=environ)
    assert (chosen["HTTP_PORT"], chosen["TCP_PORT"], chosen["HOST"]) == (9000, 9001, "0.0.0.0")
    assert chosen["TOKEN"] == "t" and chosen["LEGACY_CAMERAS"] is False
    assert defaults["SAMPLES_PATH"] is None  # SampleStore() then reads $DIGITLAB_STORE_URL
    stored = config.from_arguments(["--store", "postgresql://lab@db/digits"], environ={})
    assert stored["SAMPLES_PATH"] == "postgresql://lab@db/digits"
    with pytest.raises(ValueError, match="DIGITLAB_SERVE_HTTP_PORT must be an integer"):
        config.from_environment({"DIGITLAB_SERVE_HTTP_PORT": "eighty"})
    assert camera.main(["--server", "nowhere", "--source", "."]) == 2
