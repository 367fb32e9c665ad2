"""digitlab serve: the HTTP API, monitoring page and TCP camera server around one Predictor."""

from __future__ import annotations

import logging
import secrets

from flask import Flask

from serve import config as settings

logger = logging.getLogger(__name__)


def create_app(config=None) -> Flask:
    """Build the Flask app; config overrides the defaults and DIGITLAB_SERVE_* variables."""
    app = Flask(__name__)
    app.config.from_mapping(settings.from_environment())
    app.json.sort_keys = False
    if config is not None:
        app.config.update(config)
    if not app.config.get("TOKEN"):
        app.config["TOKEN"] = secrets.token_urlsafe(24)
        app.config["TOKEN_GENERATED"] = True

    from serve.errors import register_error_handlers
    from serve.state import ServeState

    app.extensions["digitlab"] = ServeState(app.config)
    register_error_handlers(app)

    from serve import monitor, predict_api, training_api

    app.register_blueprint(monitor.bp)
    app.register_blueprint(predict_api.bp)
    app.register_blueprint(training_api.bp)
    return app
