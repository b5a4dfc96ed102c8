"""Mapping HTTP answers to ClusterError."""

from __future__ import annotations

import orjson

from catalyst.cluster.errors import ClusterError


def test_status_body_gives_reason_message_and_causes() -> None:
    body = orjson.dumps(
        {
            "kind": "Status",
            "apiVersion": "v1",
            "status": "Failure",
            "reason": "Invalid",
            "message": 'Deployment.apps "web" is invalid: spec.replicas: must be >= 0',
            "details": {"causes": [{"field": "spec.replicas", "message": "must be >= 0"}]},
            "code": 422,
        }
    )
    error = ClusterError.from_response(422, "Unprocessable Entity", body)
    assert (error.status, error.reason) == (422, "Invalid")
    assert "spec.replicas" in error.message
    assert error.causes == [{"field": "spec.replicas", "message": "must be >= 0"}]


def test_non_status_body_falls_back_to_http_reason_and_text() -> None:
    error = ClusterError.from_response(502, "Bad Gateway", b"<html>upstream down</html>")
    assert (error.status, error.reason, error.message) == (
        502,
        "Bad Gateway",
        "<html>upstream down</html>",
    )
    assert ClusterError.from_response(404, None, b"").message == "(empty response body)"
    assert ClusterError.from_response(404, "Not Found", b"").not_found
