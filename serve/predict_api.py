"""Prediction endpoints: /predict, /read and the TF-Serving-shaped /v1/models/<name> API."""

from __future__ import annotations

from flask import Blueprint, jsonify
from werkzeug.exceptions import NotFound

from serve.errors import limited, state
from serve.images import request_image, request_instances

bp = Blueprint("predict", __name__)


@bp.before_app_request
def reload_model():
    """Pick up a newly promoted model (the predictor itself polls at most every ~2 s)."""
    state().maybe_reload()


@bp.post("/predict")
@limited
def predict():
    """One digit: digit, confidence, top-3, all ten probabilities, uncertain, model."""
    image = request_image()
    predictor = state().predictor
    return {**predictor.predict_one(image).to_dict(), "model": predictor.model_id}


@bp.post("/read")
@limited
def read():
    """Every digit in a scene, left to right: text and digits with boxes."""
    image = request_image()
    predictor = state().predictor
    return {**predictor.read(image).to_dict(), "model": predictor.model_id}


def served_version(name: str) -> int | None:
    """The served model's version when name is the served model's name, else 404."""
    served = state()
    if name != served.model_name:
        raise NotFound(f"Servable not found for request: Latest({name}); "
                       f"this server serves {served.model_name!r}")
    version = served.predictor.model_id.partition("@")[2]
    return int(version) if version.isdigit() else None


@bp.post("/v1/models/<name>:predict")
@limited
def tf_predict(name: str):
    """TF-Serving predict: {"instances": [...]} -> {"predictions": [10 probabilities each]}."""
    served_version(name)
    images = request_instances()
    predictor = state().predictor
    predictions = predictor.predict(images)
    return {"predictions": [[round(float(p), 6) for p in prediction.probabilities]
                            for prediction in predictions],
            "model": predictor.model_id}


@bp.get("/v1/models/<name>")
def tf_status(name: str):
    """TF-Serving model status: each version and its state (the served one is AVAILABLE)."""
    version = served_version(name)
    versions = [version] if version is not None else []
    if state().predictor.registry_name is not None:
        try:
            versions = sorted(set(state().registry.versions(name)) | set(versions))
        except (KeyError, FileNotFoundError):
            pass
    return jsonify(model_version_status=[
        {"version": str(number), "state": "AVAILABLE" if number == version else "END",
         "status": {"error_code": "OK", "error_message": ""}}
        for number in sorted(versions, reverse=True)])
