"""The Flask application factory."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from flask import Flask

from service import cors, errors, graph_store, metrics, pages, response_cache, sparql, updates
from service.holder import EngineHolder
from service.settings import ServiceConfig, load_config
from service.views import graph_views, indexes, ontology, query_ui, void
from service.writes import GraphWriter, write_graph_iri

logger = logging.getLogger(__name__)


def create_app(config: ServiceConfig | Mapping[str, Any] | None = None) -> Flask:
    """Create the notekg web application over the store named by the configuration.

    ``config`` is a resolved ServiceConfig or a mapping of setting overrides; settings it
    leaves out come from ``NOTEKG_*`` environment variables and then the defaults.
    """
    if not isinstance(config, ServiceConfig):
        config = load_config(config)

    # The pages blueprint serves the static files from memory. The app's own static route is
    # off, because it would take the same URLs first and stream them from open files.
    app = Flask(__name__, static_folder=None)
    app.config["MAX_CONTENT_LENGTH"] = config.max_body_bytes
    app.extensions["notekg"] = EngineHolder(config)
    app.extensions["notekg.config"] = config
    app.extensions["notekg.writer"] = GraphWriter(
        app.extensions["notekg"], write_graph_iri(config.base_iri), config.query_timeout
    )

    errors.register(app)
    metrics.install(app)
    cors.install(app, config)
    app.register_blueprint(sparql.blueprint)
    app.register_blueprint(updates.blueprint)
    app.register_blueprint(graph_store.blueprint)
    app.register_blueprint(pages.blueprint)
    for page_module in (query_ui, ontology, void, graph_views, indexes):
        app.register_blueprint(page_module.blueprint)
    # Last, so that its hooks run after the other before-request hooks and before the others
    # after a request.
    response_cache.install(app, config)

    logger.info("app created over %s", _describe_store(config.database_url))
    return app


def holder(app: Flask) -> EngineHolder:
    """Return the engine holder of an app made by create_app."""
    return app.extensions["notekg"]  # type: ignore[no-any-return]


def _describe_store(url: str) -> str:
    from sqlalchemy.engine.url import make_url

    return make_url(url).render_as_string(hide_password=True)
