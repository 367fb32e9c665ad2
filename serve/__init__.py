"""digitlab serve: the HTTP API, monitoring page and TCP camera server around one Predictor."""

from __future__ import annotations

import logging
import secrets

from flask import Flask

from digitlab.serve import config as settings

logger = logging.getLogger(__name__)


def create_app(config=None) -> Flask:
    """Build the Flask app; config overrides the defaults and DIGITLAB_SERVE_* variables."""
    app = Flask(__name__)
    app.config.from_mapping(settings.from_environment())
    app.json.sort_keys = False
    if config is not None:
        app.config.update(config)
    if not app.config["TOKEN"]:
        app.config["TOKEN"] = secrets.token_urlsafe(24)
        app.config["TOKEN_GENERATED"] = True

    from digitlab.serve.auth import allowed_hosts, check_host
    from digitlab.serve.errors import register_error_handlers
    from digitlab.serve.metrics import ServeMetrics, start_timer
    from digitlab.serve.state import ServeState

    app.config["HOST_NAMES"] = allowed_hosts(app.config)
    served = app.extensions["digitlab"] = ServeState(app.config)
    served.metrics = ServeMetrics(served)
    register_error_handlers(app)
    app.before_request(start_timer)
    app.before_request(check_host)
    app.before_request(served.before_request)
    app.after_request(served.metrics.observe)

    from digitlab.serve import metrics, monitor, predict_api, training_api

    for blueprint in (monitor.bp, predict_api.bp, training_api.bp, metrics.bp):
        app.register_blueprint(blueprint)
    return app
