"""Peers a user might pick instead of digitlab to read numbers: Tesseract 5 and RapidOCR.

Imported by bench/read.py from the main venv; needs neither peer to import. Tesseract runs as a
subprocess; RapidOCR runs bench/peer_rapidocr.py in its own venv, bench/.venv-peers (it needs
opencv-python, which clashes with the main venv's headless cv2). `bash scripts/ensure-bench-peers.sh`
installs both.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np

BENCH = Path(__file__).resolve().parent
PEERS_PYTHON = BENCH / ".venv-peers" / "bin" / "python"
RAPIDOCR_SCRIPT = BENCH / "peer_rapidocr.py"
INSTALL_HINT = "bash scripts/ensure-bench-peers.sh"


def digits_only(text: str) -> str:
    """The ASCII digits of text, in order."""
    return "".join(character for character in text if character in "0123456789")


class Peer:
    """A number reader to compare with: a name, whether it is installed, and a batch read."""

    name = "peer"

    def available(self) -> tuple[bool, str]:
        """Whether the peer can run here, and the reason when it cannot."""
        raise NotImplementedError

    def read_many(self, images: list[np.ndarray]) -> list[tuple[str, float]]:
        """Each image's digits-only text and the seconds reading it took."""
        raise NotImplementedError


class TesseractPeer(Peer):
    """Debian's Tesseract 5 on one text line (--psm 7) with a digits whitelist, per image."""

    name = "tesseract"

    def __init__(self, timeout_seconds: float = 30.0):
        self.timeout_seconds = timeout_seconds
        self.version = ""

    def available(self) -> tuple[bool, str]:
        """Whether the tesseract binary runs, and the reason when it does not."""
        if shutil.which("tesseract") is None:
            return False, f"tesseract is not installed; run `{INSTALL_HINT}`"
        try:
            done = subprocess.run(["tesseract", "--version"], capture_output=True, text=True,
                                  timeout=self.timeout_seconds)
        except (OSError, subprocess.TimeoutExpired) as error:
            return False, f"tesseract --version failed: {error}"
        self.version = (done.stdout or done.stderr).splitlines()[0] if done.returncode == 0 else ""
        return (True, "") if self.version else (False, "tesseract --version failed")

    def read_many(self, images: list[np.ndarray]) -> list[tuple[str, float]]:
        """Write each image as PNG and time one tesseract process on it."""
        readings = []
        with tempfile.TemporaryDirectory(prefix="digitlab-tesseract-") as folder:
            for index, image in enumerate(images):
                path = Path(folder) / f"image_{index}.png"
                cv2.imwrite(str(path), image)
                command = ["tesseract", str(path), "stdout", "--psm", "7",
                           "-c", "tessedit_char_whitelist=0123456789"]
                started = time.perf_counter()
                try:
                    done = subprocess.run(command, capture_output=True, text=True,
                                          timeout=self.timeout_seconds)
                    text = digits_only(done.stdout) if done.returncode == 0 else ""
                except subprocess.TimeoutExpired:
                    text = ""
                readings.append((text, time.perf_counter() - started))
        return readings


class RapidOCRPeer(Peer):
    """RapidOCR (PaddleOCR models on ONNX Runtime) in bench/.venv-peers, one process per batch."""

    name = "rapidocr"

    def __init__(self, timeout_seconds: float = 600.0):
        self.timeout_seconds = timeout_seconds
        self.version = ""

    def available(self) -> tuple[bool, str]:
        """Whether the peers venv imports rapidocr_onnxruntime, and the reason when it does not."""
        if not PEERS_PYTHON.exists():
            return False, f"{PEERS_PYTHON.parent.parent} is missing; run `{INSTALL_HINT}`"
        try:
            done = subprocess.run([str(PEERS_PYTHON), "-c", "import rapidocr_onnxruntime"],
                                  capture_output=True, text=True, timeout=120)
        except (OSError, subprocess.TimeoutExpired) as error:
            return False, f"the peers venv did not start: {error}"
        if done.returncode != 0:
            last = (done.stderr.strip().splitlines() or ["no output"])[-1]
            return False, f"rapidocr_onnxruntime does not import ({last}); run `{INSTALL_HINT}`"
        return True, ""

    def read_many(self, images: list[np.ndarray]) -> list[tuple[str, float]]:
        """Save the batch as an npz and read it with one run of bench/peer_rapidocr.py."""
        with tempfile.TemporaryDirectory(prefix="digitlab-rapidocr-") as folder:
            path = Path(folder) / "images.npz"
            np.savez(path, **{f"image_{index}": np.asarray(image, np.uint8)
                              for index, image in enumerate(images)})
            done = subprocess.run([str(PEERS_PYTHON), str(RAPIDOCR_SCRIPT), str(path)],
                                  capture_output=True, text=True, timeout=self.timeout_seconds)
        if done.returncode != 0:
            raise RuntimeError(f"peer_rapidocr.py failed: {done.stderr.strip()[-500:]}")
        report = json.loads(done.stdout.strip().splitlines()[-1])
        self.version = report["engine"]
        return [(entry["text"], float(entry["seconds"])) for entry in report["results"]]


def available_peers() -> list[Peer]:
    """Every peer bench/read.py compares against, installed or not (ask each `available()`)."""
    return [TesseractPeer(), RapidOCRPeer()]


def peer_report(peer: Peer, images: list[np.ndarray], truths: list[str]) -> dict:
    """Share of images read exactly, median ms per image and each text, or why the peer did not run."""
    ready, reason = peer.available()
    if not ready:
        return {"available": False, "reason": reason, "install": INSTALL_HINT}
    try:
        readings = peer.read_many(images)
    except (OSError, RuntimeError, ValueError, KeyError, IndexError,
            subprocess.TimeoutExpired) as error:
        return {"available": False, "reason": f"{peer.name} failed: {error}",
                "install": INSTALL_HINT}
    exact = sum(text == truth for (text, _), truth in zip(readings, truths))
    median = float(np.median([seconds for _, seconds in readings])) if readings else 0.0
    return {"available": True, "engine": getattr(peer, "version", "") or peer.name,
            "photos": len(readings), "text_right": round(exact / max(1, len(readings)), 3),
            "read_p50_ms": round(median * 1000, 1), "texts": [text for text, _ in readings]}
