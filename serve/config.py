"""Server settings: defaults, DIGITLAB_SERVE_* environment variables, then the command line."""

from __future__ import annotations

import argparse
import os
from collections.abc import Mapping

MIB = 1024 * 1024

# key -> default; every key can be set with DIGITLAB_SERVE_<KEY> (e.g. DIGITLAB_SERVE_HTTP_PORT)
DEFAULTS: dict[str, object] = {
    "HOST": "127.0.0.1",
    "HTTP_PORT": 8000,
    "TCP_PORT": 8001,
    "MODEL": "digits",  # registry name, "digits@3", or a model folder/file
    "TOKEN": None,  # bearer token for write endpoints; generated at start when unset
    "CAMERA_TOKEN": None,  # when set, camera hellos must carry it (legacy streams are refused)
    "MAX_CONTENT_LENGTH": 8 * MIB,
    "MAX_IMAGE_PIXELS": 25_000_000,
    "MAX_DECODED_BYTES": 96 * MIB,  # width x height x channels x bytes per sample: any 8-bit image of 25 MP
    "MAX_FRAME_PIXELS": 4_000_000,  # camera frames: one batch serves every camera, so keep it cheap
    "MAX_IN_FLIGHT": 8,  # concurrent model requests before 503 + Retry-After
    "MAX_VIDEO_FEEDS": 4,
    "MAX_INSTANCES": 256,
    "THREADS": 0,  # waitress workers for short requests; 0: one per CPU core (live feeds add one each)
    "CONNECTION_LIMIT": 1000,  # open HTTP connections (slow ones are cheap: no thread each)
    "HEADER_TIMEOUT": 10.0,  # seconds for a request's line and headers to arrive, from its first byte
    "BODY_TIMEOUT": 60.0,  # seconds for a whole request, body included
    "ALLOWED_HOSTS": "",  # extra Host names the browser-facing routes accept (comma-separated)
    "MAX_CLIENTS": 16,
    "MAX_PENDING_HELLOS": 64,  # camera connections still in hello; the oldest is dropped for a new one
    "HELLO_TIMEOUT": 5.0,  # seconds from connect to a complete hello (or a legacy camera's first JPEG)
    "MESSAGE_TIMEOUT": 10.0,  # seconds from a message's first byte to its last
    "CAMERA_BYTES_PER_SECOND": 8 * MIB,  # each camera connection is read no faster than this
    "FRAME_QUEUE": 2,
    "MAX_FRAME_BYTES": 4 * MIB,
    "MAX_HEADER_JSON": 4 * 1024,
    "IDLE_TIMEOUT": 30.0,
    "LEGACY_CAMERAS": True,
    "SAMPLES_PATH": None,  # the store: a path or postgresql:// URL; None: $DIGITLAB_STORE_URL or data/
    "COLLECT_UNCERTAIN": False,  # store uncertain camera digits, unlabelled, for the review queue
    "COLLECT_PER_HOUR": 120,  # at most this many collected samples per camera per hour
}
# Keys set by code, never from the environment: a ready Predictor (tests, notebooks embed one)
# and what create_app derives (a generated token, the Host names to accept).
INTERNAL_DEFAULTS: dict[str, object] = {"PREDICTOR": None, "TOKEN_GENERATED": False,
                                        "HOST_NAMES": None}
ENV_PREFIX = "DIGITLAB_SERVE_"


def convert(key: str, text: str):
    """Turn an environment string into the type of the key's default."""
    default = DEFAULTS[key]
    if isinstance(default, bool):
        if text.lower() not in ("1", "0", "true", "false", "yes", "no", "on", "off"):
            raise ValueError(f"{ENV_PREFIX}{key} must be true or false, got {text!r}")
        return text.lower() in ("1", "true", "yes", "on")
    try:
        return type(default)(text) if isinstance(default, (int, float)) else text
    except ValueError:
        kind = "an integer" if isinstance(default, int) else "a number"
        raise ValueError(f"{ENV_PREFIX}{key} must be {kind}, got {text!r}") from None


def from_environment(environ: Mapping[str, str] | None = None) -> dict:
    """The defaults with every DIGITLAB_SERVE_* variable applied."""
    environ = os.environ if environ is None else environ
    config = {**DEFAULTS, **INTERNAL_DEFAULTS}
    for key in DEFAULTS:
        if environ.get(ENV_PREFIX + key):
            config[key] = convert(key, environ[ENV_PREFIX + key])
    return config


def build_parser() -> argparse.ArgumentParser:
    """The `digitlab serve` command line."""
    parser = argparse.ArgumentParser(
        prog="digitlab serve", description="HTTP API, monitoring page and TCP camera server.",
        epilog="Every option can also be set as DIGITLAB_SERVE_<OPTION> (e.g. "
               "DIGITLAB_SERVE_HTTP_PORT=9000); the command line wins.")
    parser.add_argument("--host", help="address to bind (default 127.0.0.1: this machine only)")
    parser.add_argument("--http-port", "--port", type=int,
                        help="HTTP port (default 8000; 0 picks one; --port as in digitlab app)")
    parser.add_argument("--tcp-port", type=int, help="camera TCP port (default 8001; 0 picks one)")
    parser.add_argument("--model", help="registry name, name@version or a model path")
    parser.add_argument("--token", help="bearer token for upload, retrain and promote")
    parser.add_argument("--camera-token", help="token that camera clients must send in hello")
    parser.add_argument("--threads", type=int, help="HTTP worker threads (default: one per CPU core, "
                        "plus one per live video feed)")
    parser.add_argument("--max-clients", type=int, help="most cameras at once (default 16)")
    parser.add_argument("--idle-timeout", type=float, help="seconds before a silent camera "
                        "is dropped (default 30)")
    parser.add_argument("--allow-host", action="append", metavar="NAME",
                        help="a Host name browsers may use besides localhost, 127.0.0.1 and "
                             "[::1] (repeat it; needed behind a proxy or with --host 0.0.0.0 "
                             "to refuse other names)")
    parser.add_argument("--collect-uncertain", action="store_true",
                        help="store camera digits the model is unsure about, unlabelled, in the "
                             "served model's sample set, for the app's Review mode")
    parser.add_argument("--collect-per-hour", type=int, metavar="N",
                        help="most samples collected per camera per hour (default 120)")
    parser.add_argument("--store", metavar="URL", help="sample store: a SQLite path or a "
                        "postgresql:// URL (default $DIGITLAB_STORE_URL, else data/samples.sqlite)")
    parser.add_argument("--no-legacy", action="store_true",
                        help="refuse reference-style raw JPEG camera streams")
    return parser


def from_arguments(argv, environ: Mapping[str, str] | None = None) -> dict:
    """Environment settings with the command-line options on top."""
    arguments = build_parser().parse_args(argv)
    config = from_environment(environ)
    for key in ("host", "http_port", "tcp_port", "model", "token", "camera_token", "threads",
                "max_clients", "idle_timeout", "collect_per_hour"):
        value = getattr(arguments, key)
        if value is not None:
            config[key.upper()] = value
    if arguments.allow_host:
        config["ALLOWED_HOSTS"] = ",".join(arguments.allow_host)
    if arguments.store:
        config["SAMPLES_PATH"] = arguments.store
    if arguments.collect_uncertain:
        config["COLLECT_UNCERTAIN"] = True
    if arguments.no_legacy:
        config["LEGACY_CAMERAS"] = False
    return config
