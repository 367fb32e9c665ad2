"""Prediction endpoints: /predict, /read and the TF-Serving-shaped /v1/models/<name> API."""

from __future__ import annotations

from flask import Blueprint, jsonify
from werkzeug.exceptions import NotFound

from digitlab.serve.auth import limited
from digitlab.serve.images import request_image, request_instances
from digitlab.serve.state import state

bp = Blueprint("predict", __name__)


@bp.post("/predict")
@limited
def predict():
    """One digit: digit, confidence, top-3, all ten probabilities, uncertain, model.

    The probabilities also go out as "predictions", the key the reference server used.
    """
    image = request_image()
    predictor = state().predictor
    answer = predictor.predict_one(image).to_dict()
    return {**answer, "predictions": answer["probabilities"], "model": predictor.model_id}


@bp.post("/read")
@limited
def read():
    """Every number in a scene, line by line: text, digits with boxes, lines, and the models used."""
    image = request_image()
    predictor = state().predictor
    return {**predictor.read(image).to_dict(), "model": predictor.model_id,
            "reader": predictor.reader_id}


def served_version(name: str, version: int | None = None) -> int | None:
    """The served model's version; 404 unless name (and version, when given) is what is served."""
    served = state()
    if name != served.model_name:
        raise NotFound(f"Servable not found for request: Latest({name}); "
                       f"this server serves {served.model_name!r}")
    ref = served.predictor.ref
    current = ref.version if ref is not None else None
    if version is not None and version != current:
        raise NotFound(f"Servable not found for request: Specific({name}, {version}); this "
                       f"server serves version {current} (promote {version} to serve it)")
    return current


@bp.post("/v1/models/<name>:predict")
@bp.post("/v1/models/<name>/versions/<int:version>:predict")
@limited
def tf_predict(name: str, version: int | None = None):
    """TF-Serving predict: {"instances": [...]} -> {"predictions": [10 probabilities each]}."""
    served_version(name, version)
    images = request_instances()
    predictor = state().predictor
    predictions = predictor.predict(images)
    return {"predictions": [[round(float(p), 6) for p in prediction.probabilities]
                            for prediction in predictions],
            "model": predictor.model_id}


def registry_versions(name: str) -> list[int]:
    """Every version of name in the registry (none for a model served from a path)."""
    if state().predictor.registry_name is None:
        return []
    try:
        return state().registry.versions(name)
    except (KeyError, FileNotFoundError):
        return []


def version_status(number: int, served: int | None) -> dict:
    """One entry of TF-Serving's model_version_status."""
    return {"version": str(number), "state": "AVAILABLE" if number == served else "END",
            "status": {"error_code": "OK", "error_message": ""}}


@bp.get("/v1/models/<name>")
def tf_status(name: str):
    """TF-Serving model status: each version and its state (the served one is AVAILABLE)."""
    served = served_version(name)
    versions = set(registry_versions(name)) | ({served} if served is not None else set())
    return jsonify(model_version_status=[version_status(number, served)
                                         for number in sorted(versions, reverse=True)])


@bp.get("/v1/models/<name>/versions/<int:version>")
def tf_version_status(name: str, version: int):
    """TF-Serving status of one version (404 when the registry has no such version)."""
    served = served_version(name)
    if version != served and version not in registry_versions(name):
        raise NotFound(f"Servable not found for request: Specific({name}, {version})")
    return jsonify(model_version_status=[version_status(version, served)])
