"""Liveness and readiness for orchestrators."""

from __future__ import annotations

from flask import Blueprint
from flask import Response
from flask import jsonify

from app.web import services

blueprint = Blueprint("health", __name__)


@blueprint.get("/healthz")
def healthz() -> Response:
    """The process is alive; touches no dependency."""
    return jsonify(status="ok")


@blueprint.get("/readyz")
def readyz() -> tuple[Response, int]:
    """Ready when the database answers and its schema is current; 503 otherwise."""
    reason = services().operations.readiness()
    if reason is not None:
        return jsonify(status="unavailable", reason=reason), 503
    return jsonify(status="ready"), 200
