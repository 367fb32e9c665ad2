"""Getting images out of requests: multipart files, raw image bodies, base64 JSON, TF instances."""

from __future__ import annotations

import base64
import binascii

import numpy as np
from flask import current_app, request
from werkzeug.exceptions import BadRequest, RequestEntityTooLarge, UnsupportedMediaType

from digitlab.imagefile import PNG_SIGNATURE, decode_image

JPEG_SIGNATURE = b"\xff\xd8\xff"


def decode_base64(text, what: str = "image") -> bytes:
    """Bytes from a base64 string or a data URL (data:image/png;base64,...)."""
    if not isinstance(text, str) or not text.strip():
        raise BadRequest(f"{what} must be a non-empty base64 string or data URL")
    if text.startswith("data:"):
        header, comma, text = text.partition(",")
        if not comma or ";base64" not in header:
            raise BadRequest(f"{what} is a data URL without ';base64,' data")
    try:
        return base64.b64decode("".join(text.split()), validate=True)
    except (binascii.Error, ValueError) as error:
        raise BadRequest(f"{what} is not valid base64: {error}") from error


def request_json(force: bool = False):
    """The request's JSON body, or None when it is missing or not valid JSON."""
    try:
        return request.get_json(force=force, silent=True)
    except RecursionError:  # absurdly deep nesting
        raise BadRequest("the JSON body is nested too deeply") from None


def request_image_bytes() -> bytes:
    """The encoded image a /predict or /read request carries, in any of the accepted forms."""
    mimetype = request.mimetype
    if mimetype == "multipart/form-data":
        if "image" in request.files:
            data = request.files["image"].read()
        elif "image" in request.form:
            data = decode_base64(request.form["image"])
        else:
            raise BadRequest("a multipart request needs a file field named 'image'")
    elif mimetype == "application/json":
        payload = request_json()
        if not isinstance(payload, dict) or "image" not in payload:
            raise BadRequest('a JSON request needs an object {"image": "<base64 or data URL>"}')
        data = decode_base64(payload["image"])
    elif mimetype.startswith("image/") or mimetype == "application/octet-stream":
        data = request.get_data(cache=False)
    else:
        raise UnsupportedMediaType(
            f"send the image as multipart field 'image', a raw image/* body or JSON "
            f'{{"image": "<base64>"}}; got Content-Type {mimetype or "(none)"!r}')
    if not data:
        raise BadRequest("the image is empty (0 bytes)")
    return data


def decode(data: bytes):
    """Decode image bytes within the server's pixel and decode-cost limits (InvalidImageError -> 400)."""
    return decode_image(data, max_pixels=current_app.config["MAX_IMAGE_PIXELS"],
                        max_decoded_bytes=current_app.config["MAX_DECODED_BYTES"])


def request_image():
    """The decoded image of a /predict or /read request."""
    return decode(request_image_bytes())


def check_upload_type(name: str, data: bytes) -> None:
    """Training uploads must be PNG or JPEG files (415 otherwise)."""
    if not (data.startswith(PNG_SIGNATURE) or data.startswith(JPEG_SIGNATURE)):
        raise UnsupportedMediaType(f"{name}: only PNG and JPEG files can be uploaded")


def instance_image(instance, index: int):
    """One TF-Serving instance: a 28x28 array (0-1 or 0-255, ink bright) or {"b64": image}."""
    if isinstance(instance, dict):
        if set(instance) != {"b64"}:
            raise BadRequest(f'instance {index}: an object instance must be {{"b64": "<image>"}}')
        return decode(decode_base64(instance["b64"], f"instance {index}"))
    try:  # as objects first: numpy would quietly turn "7" and True into numbers
        leaves = np.asarray(instance, dtype=object)
    except (TypeError, ValueError):
        raise BadRequest(f"instance {index}: not a numeric array") from None
    kinds = {type(value) for value in leaves.flat}
    if not kinds <= {int, float}:
        names = ", ".join(sorted(kind.__name__ for kind in kinds - {int, float}))
        raise BadRequest(f"instance {index}: pixels must be numbers, not {names}")
    try:
        array = leaves.astype(np.float64)
    except (TypeError, ValueError, OverflowError):
        raise BadRequest(f"instance {index}: not a numeric array") from None
    if array.size != 784 or array.shape not in ((28, 28), (28, 28, 1), (784,)):
        raise BadRequest(f"instance {index}: expected a 28x28 array, got shape {array.shape}")
    if not np.isfinite(array).all() or array.min() < 0 or array.max() > 255:
        raise BadRequest(f"instance {index}: values must be finite, in [0, 1] or [0, 255]")
    return (array / 255.0 if array.max() > 1.0 else array).reshape(28, 28).astype(np.float32)


def request_instances() -> list:
    """The images of a TF-Serving-style {"instances": [...]} request."""
    payload = request_json(force=True)
    if not isinstance(payload, dict) or not isinstance(payload.get("instances"), list):
        raise BadRequest('the body must be JSON {"instances": [...]}')
    instances = payload["instances"]
    if not instances:
        raise BadRequest("instances is empty")
    if len(instances) > current_app.config["MAX_INSTANCES"]:
        raise RequestEntityTooLarge(f"at most {current_app.config['MAX_INSTANCES']} instances "
                                    "per request")
    return [instance_image(instance, index) for index, instance in enumerate(instances)]
