"""JSON errors for every failure, and the guards on views: write token and requests in flight."""

from __future__ import annotations

import functools
import hmac
import logging

from flask import current_app, jsonify, request
from werkzeug.datastructures import WWWAuthenticate
from werkzeug.exceptions import Forbidden, HTTPException, ServiceUnavailable, Unauthorized

from digitlab.preprocess import EmptyImageError, InvalidImageError

logger = logging.getLogger(__name__)
RETRY_AFTER_SECONDS = 1


def json_error(message: str, status: int, headers=None):
    """A JSON error response {"error": message}."""
    response = jsonify(error=message)
    response.status_code = status
    for name, value in headers or []:
        if name.lower() != "content-type":
            response.headers[name] = value
    return response


def handle_http_exception(error: HTTPException):
    """Werkzeug's HTTP errors (404, 405, 413, ...) as JSON, keeping headers like Allow."""
    return json_error(error.description or error.name, error.code or 500, error.get_headers())


def handle_invalid_image(error: InvalidImageError):
    """An image that cannot be decoded (or is too large to): 400."""
    return json_error(str(error), 400)


def handle_empty_image(error: EmptyImageError):
    """A blank canvas has no digit to read: 422."""
    return json_error(str(error), 422)


def handle_unexpected(error: Exception):
    """Anything else is a bug: log it and answer 500 without internals."""
    logger.exception("unhandled error in %s %s", request.method, request.path)
    return json_error("internal server error", 500)


def register_error_handlers(app) -> None:
    """Answer every error with JSON."""
    app.register_error_handler(HTTPException, handle_http_exception)
    app.register_error_handler(InvalidImageError, handle_invalid_image)
    app.register_error_handler(EmptyImageError, handle_empty_image)
    app.register_error_handler(Exception, handle_unexpected)


def state():
    """The running app's ServeState."""
    return current_app.extensions["digitlab"]


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
