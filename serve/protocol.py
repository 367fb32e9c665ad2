"""Camera protocol v1 framing (see PROTOCOL.md) and the legacy raw-JPEG stream splitter."""

from __future__ import annotations

import hmac
import json
import re
import socket
import struct
import time

HEADER = struct.Struct("!II")
PROTOCOL_VERSION = 1
MAX_JSON_BYTES = 4 * 1024
MAX_BODY_BYTES = 4 * 1024 * 1024
CLIENT_ID = re.compile(r"[A-Za-z0-9_.:@-]{1,64}")


class ProtocolError(ValueError):
    """A message that breaks protocol v1; the connection is closed with this message."""


class ConnectionClosed(EOFError):
    """The peer closed the connection; ``partial`` is True when it left a message unfinished."""

    def __init__(self, message: str, partial: bool = False):
        super().__init__(message)
        self.partial = partial


def pack_message(message: dict, body: bytes = b"") -> bytes:
    """Frame one message: the 8-byte header, the UTF-8 JSON, then the binary body."""
    text = json.dumps(message, separators=(",", ":")).encode("utf-8")
    return HEADER.pack(len(text), len(body)) + text + bytes(body)


class MessageTimeout(TimeoutError):
    """A message did not arrive whole before its deadline (a trickling or stalled client)."""


def receive_exactly(connection: socket.socket, size: int, prefix: bytes = b"",
                    deadline: float | None = None) -> bytes:
    """Read exactly size bytes (counting prefix, bytes already read); ConnectionClosed on EOF.

    With a deadline (time.monotonic()), the whole read must finish by then, however the bytes
    are spread out: MessageTimeout otherwise. Without one, the socket's own timeout applies
    to each recv.
    """
    buffer = bytearray(prefix)
    while len(buffer) < size:
        if deadline is not None:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise MessageTimeout(f"only {len(buffer)} of {size} bytes arrived in time")
            connection.settimeout(remaining)
        try:
            chunk = connection.recv(min(size - len(buffer), 1 << 20))
        except TimeoutError:
            if deadline is None:
                raise
            raise MessageTimeout(f"only {len(buffer)} of {size} bytes arrived in time") from None
        if not chunk:
            raise ConnectionClosed(f"connection closed after {len(buffer)} of {size} bytes",
                                   partial=bool(buffer))
        buffer += chunk
    return bytes(buffer)


def parse_header(header: bytes, max_json: int = MAX_JSON_BYTES,
                 max_body: int = MAX_BODY_BYTES) -> tuple[int, int]:
    """Check the two lengths in a header and return them."""
    json_length, body_length = HEADER.unpack(header)
    if not 1 <= json_length <= max_json:
        raise ProtocolError(f"header JSON length {json_length} is not between 1 and {max_json}")
    if body_length > max_body:
        raise ProtocolError(f"body length {body_length} is more than the limit of {max_body} bytes")
    return json_length, body_length


def parse_json(data: bytes) -> dict:
    """Decode a message's JSON part, which must be an object with a string "type"."""
    try:
        message = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ProtocolError(f"message JSON is not valid UTF-8 JSON: {error}") from error
    if not isinstance(message, dict) or not isinstance(message.get("type"), str):
        raise ProtocolError('a message must be a JSON object with a string "type"')
    return message


def read_message(connection: socket.socket, prefix: bytes = b"", max_json: int = MAX_JSON_BYTES,
                 max_body: int = MAX_BODY_BYTES,
                 deadline: float | None = None) -> tuple[dict, bytes]:
    """Read one framed message; ConnectionClosed on a clean EOF, ProtocolError when malformed.

    A deadline (time.monotonic()) bounds the whole message, not each read (MessageTimeout).
    """
    header = receive_exactly(connection, HEADER.size, prefix, deadline)
    json_length, body_length = parse_header(header, max_json, max_body)
    try:
        message = parse_json(receive_exactly(connection, json_length, deadline=deadline))
        body = receive_exactly(connection, body_length, deadline=deadline) if body_length else b""
    except ConnectionClosed as error:
        raise ConnectionClosed(str(error), partial=True) from None
    return message, body


def check_hello(hello: dict, token: str | None = None) -> str:
    """Validate a hello message (and its token when one is required); return the client id."""
    if hello.get("type") != "hello":
        raise ProtocolError(f'the first message must be "hello", not {hello.get("type")!r}')
    if hello.get("protocol") != PROTOCOL_VERSION:
        raise ProtocolError(f"unsupported protocol {hello.get('protocol')!r}; "
                            f"this server speaks protocol {PROTOCOL_VERSION}")
    client_id = hello.get("client_id")
    if not isinstance(client_id, str) or not CLIENT_ID.fullmatch(client_id):
        raise ProtocolError("client_id must be 1-64 characters of A-Z a-z 0-9 _ . : @ -")
    if token is not None:
        given = hello.get("token")
        if not isinstance(given, str) or not hmac.compare_digest(given.encode("utf-8"),
                                                                 token.encode("utf-8")):
            raise ProtocolError("missing or wrong token")
    return client_id


def check_frame(message: dict, body: bytes) -> tuple[int, bytes]:
    """Validate a frame message; return (seq, image bytes)."""
    if message.get("type") != "frame":
        raise ProtocolError(f'expected a "frame" message, not {message.get("type")!r}')
    seq = message.get("seq")
    if not isinstance(seq, int) or isinstance(seq, bool) or not 0 <= seq < 2**63:
        raise ProtocolError("a frame needs an integer seq >= 0")
    timestamp = message.get("ts", 0.0)
    if isinstance(timestamp, bool) or not isinstance(timestamp, (int, float)):
        raise ProtocolError("ts must be a number (seconds)")
    if not body:
        raise ProtocolError(f"frame {seq} has no image body")
    return seq, body
