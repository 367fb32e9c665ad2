"""Guards on requests: the Host header, the write token and the number of requests in flight."""

from __future__ import annotations

import functools
import hmac
import ipaddress

from flask import current_app, request
from werkzeug.datastructures import WWWAuthenticate
from werkzeug.exceptions import Forbidden, ServiceUnavailable, Unauthorized

from digitlab.serve.state import state

RETRY_AFTER_SECONDS = 1
LOOPBACK_NAMES = frozenset({"localhost", "127.0.0.1", "::1"})


def is_loopback(host: str) -> bool:
    """True for an address or name that only this machine can reach."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def allowed_hosts(config) -> frozenset[str] | None:
    """Host names requests may carry, or None for any (bound beyond loopback, no list given)."""
    extra = frozenset(name.strip().lower().strip("[]")
                      for name in str(config["ALLOWED_HOSTS"] or "").split(",")
                      if name.strip())
    if is_loopback(str(config["HOST"])) or extra:
        return LOOPBACK_NAMES | extra
    return None


def host_name(header: str) -> str:
    """The name in a Host header, without its port or IPv6 brackets, lower-cased."""
    header = header.strip().lower()
    if header.startswith("["):
        return header[1:header.find("]")] if "]" in header else header
    return header.rpartition(":")[0] if header.count(":") == 1 else header


def check_host() -> None:
    """Refuse a Host this server was not told about (a DNS-rebinding page could read it)."""
    allowed = current_app.config["HOST_NAMES"]
    if allowed is None:
        return
    name = host_name(request.headers.get("Host", ""))
    if name not in allowed:
        raise Forbidden(f"Host {name!r} is not allowed: this server answers to "
                        f"{', '.join(sorted(allowed))}; start it with --allow-host {name or 'NAME'} "
                        "to accept that name")


def write_access(view):
    """Require `Authorization: Bearer <token>` (401 when missing, 403 when wrong)."""

    @functools.wraps(view)
    def wrapped(*args, **kwargs):
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise Unauthorized("this endpoint needs the header 'Authorization: Bearer <token>' "
                               "(the token is printed when the server starts)",
                               www_authenticate=WWWAuthenticate("Bearer", {"realm": "digitlab"}))
        expected = current_app.config["TOKEN"].encode("utf-8")
        if not hmac.compare_digest(token.strip().encode("utf-8"), expected):
            raise Forbidden("wrong token")
        return view(*args, **kwargs)

    return wrapped


def limited(view):
    """Refuse with 503 + Retry-After when MAX_IN_FLIGHT model requests are already running."""

    @functools.wraps(view)
    def wrapped(*args, **kwargs):
        gate = state().requests
        if not gate.try_enter():
            raise ServiceUnavailable(f"busy: {gate.limit} requests in flight; retry shortly",
                                     retry_after=RETRY_AFTER_SECONDS)
        try:
            return view(*args, **kwargs)
        finally:
            gate.leave()

    return wrapped
