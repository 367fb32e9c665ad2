"""JSON errors for every failure (the reference client's routes also get "success": false)."""

from __future__ import annotations

import logging

from flask import current_app, jsonify, request
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge

from digitlab.imagefile import InvalidImageError
from digitlab.ink import EmptyImageError

logger = logging.getLogger(__name__)
# The reference server answered these with {"success": ...}; its clients look for the key.
SUCCESS_FLAG_ENDPOINTS = frozenset({"training.upload_training_data", "training.retrain_model"})


def json_error(message: str, status: int, headers=None):
    """A JSON error response {"error": message} (plus "success": false where clients expect it)."""
    body = {"error": message}
    if request and request.endpoint in SUCCESS_FLAG_ENDPOINTS:
        body["success"] = False
    response = jsonify(body)
    response.status_code = status
    for name, value in headers or []:
        if name.lower() != "content-type":
            response.headers[name] = value
    return response


def handle_http_exception(error: HTTPException):
    """Werkzeug's HTTP errors (404, 405, 413, ...) as JSON, keeping headers like Allow."""
    message = error.description or error.name
    if isinstance(error, RequestEntityTooLarge) and message == RequestEntityTooLarge.description:
        limit = current_app.config["MAX_CONTENT_LENGTH"] / 2**20
        message = f"the request body is over {limit:g} MiB: send a smaller image"
    return json_error(message, error.code or 500, error.get_headers())


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
