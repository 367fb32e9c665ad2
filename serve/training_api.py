"""Training data and model management: upload, stats, retrain jobs, promote, model download."""

from __future__ import annotations

import cv2
from flask import Blueprint, request, send_file, url_for
from werkzeug.exceptions import BadRequest, Conflict, NotFound

from digitlab.ink import EmptyImageError
from digitlab.preprocess import to_mnist
from digitlab.registry import RegistryError, UnknownModelError
from digitlab.serve.auth import limited, write_access
from digitlab.serve.images import PNG_SIGNATURE, check_upload_type, decode, request_json
from digitlab.serve.state import state

bp = Blueprint("training", __name__)


def form_digit() -> int:
    """The 'digit' form field as an int: one ASCII 0-9 (not '³', '٣' or '３')."""
    text = request.form.get("digit", "").strip()
    if len(text) != 1 or text not in "0123456789":
        raise BadRequest(f"the form field 'digit' must be one of the ASCII digits 0-9, got {text!r}")
    return int(text)


@bp.post("/upload_training_data")
@write_access
@limited
def upload_training_data():
    """Store uploaded PNG/JPEG digits (multipart 'digit' and 'images') as samples."""
    if request.mimetype != "multipart/form-data":
        raise BadRequest("send multipart/form-data with a field 'digit' and files 'images'")
    digit, files = form_digit(), request.files.getlist("images")
    if not files:
        raise BadRequest("no files in the multipart field 'images'")
    prepared = []  # check every file before storing any, so a bad file stores nothing
    for index, upload in enumerate(files):
        name, data = upload.filename or f"file {index}", upload.read()
        check_upload_type(name, data)
        image = decode(data)
        try:
            image28 = to_mnist(image)
        except EmptyImageError as error:
            raise EmptyImageError(f"{name}: {error}") from None
        original = data if data.startswith(PNG_SIGNATURE) else cv2.imencode(".png", image)[1].tobytes()
        prepared.append((name, image28, original))
    store = state().store
    stored = []
    for name, image28, original in prepared:
        sample = store.add(image28, digit, "upload", original_png=original)
        stored.append({"file": name, "id": sample.id, "duplicate": sample.duplicate})
    return {"success": True, "digit": digit, "count": len(stored), "stored": stored,
            "counts": string_keys(store.counts())}, 201


def string_keys(counts: dict) -> dict:
    """{0: n, ...} with string keys, the way JSON writes them."""
    return {str(digit): count for digit, count in sorted(counts.items())}


@bp.get("/training_stats")
def training_stats():
    """Per-digit sample counts (the default pool), by split and for uploads, and the total."""
    store = state().store
    return {"counts": string_keys(store.counts()),
            "train": string_keys(store.counts(split="train")),
            "holdout": string_keys(store.counts(split="holdout")),
            "uploads": string_keys(store.counts(sources=["upload"])),
            "total": store.total()}


@bp.post("/retrain_model")
@write_access
def retrain_model():
    """Start a background retrain job: 202 with its id, 409 when one runs or it cannot succeed.

    Unlike the reference server, the training runs in a job process, not in this request:
    the answer comes at once and GET status_url follows the job to its end.
    """
    from digitlab.jobs import JobAlreadyRunningError
    from digitlab.retrain import RetrainOptions, require_samples

    options = request_json(force=True) if request.content_length else {}
    if not isinstance(options, dict):
        raise BadRequest('the body must be a JSON object like {"mode": "finetune", "epochs": 2}')
    if "base" in options:
        raise BadRequest("a retrain starts from the served model; 'base' cannot be chosen")
    try:
        checked = RetrainOptions.from_dict({**options, "base": state().model_name})
    except (TypeError, ValueError) as error:
        raise BadRequest(str(error)) from None
    if not isinstance(checked.min_samples, int) or isinstance(checked.min_samples, bool):
        raise BadRequest(f"min_samples must be an integer, got {checked.min_samples!r}")
    try:  # refuse at once what the job would fail on: too few samples to learn from
        require_samples(state().store, checked.set_name, checked.min_samples)
    except ValueError as error:
        raise Conflict(str(error)) from None
    try:
        job = state().jobs.start_retrain(base=state().model_name, **options)
    except JobAlreadyRunningError as error:
        raise Conflict(str(error)) from None
    except (TypeError, ValueError) as error:
        raise BadRequest(str(error)) from None
    job_id = job["id"]
    location = url_for("training.job_status", job_id=job_id)
    return ({"success": True, "job": job_id, "status_url": location,
             "message": "retraining runs in the background; follow status_url"},
            202, {"Location": location})


@bp.get("/jobs/<job_id>")
def job_status(job_id: str):
    """A job's state and progress."""
    try:
        status = state().jobs.status(job_id)
    except (KeyError, FileNotFoundError, ValueError):
        raise NotFound(f"no job {job_id!r}") from None
    return status


@bp.post("/promote")
@write_access
def promote():
    """Make a registry version current ({"name", "version"}); the server switches to it."""
    payload = request_json(force=True) if request.mimetype != "multipart/form-data" else None
    payload = payload if isinstance(payload, dict) else request.form.to_dict()
    served = state()
    name, version = payload.get("name", served.model_name), payload.get("version")
    if isinstance(version, str) and version.isdigit():
        version = int(version)
    if not isinstance(version, int) or isinstance(version, bool):
        raise BadRequest('send {"name": "digits", "version": <int>}')
    try:
        served.registry.promote(name, version)
    except UnknownModelError as error:
        raise NotFound(str(error)) from None
    except RegistryError as error:
        raise BadRequest(str(error)) from None
    if name == served.model_name:
        served.maybe_reload(force=True)
    return {"name": name, "version": version, "model": served.predictor.model_id}


@bp.get("/model")
@limited
def download_model():
    """The served model's .keras file."""
    served = state()
    predictor, ref = served.predictor, served.predictor.ref
    if ref is not None:
        folder = served.registry.path(ref.name, ref.version)
    else:
        from digitlab.predict import resolve_model

        folder = resolve_model(predictor.spec)[0]
    path = folder if folder.suffix == ".keras" else folder / "model.keras"
    if not path.is_file():
        raise NotFound(f"the served model {predictor.model_id} has no .keras file")
    return send_file(path, mimetype="application/octet-stream", as_attachment=True,
                     download_name=f"{predictor.model_id.replace('@', '-v')}.keras")
