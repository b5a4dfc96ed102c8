"""Prometheus metrics of the Kubernetes client, served at ``/metrics``."""

from __future__ import annotations

from prometheus_client import Counter

THROTTLED = Counter(
    "catalyst_kube_api_throttled_total",
    "429 Too Many Requests answers received from the Kubernetes API, including the ones "
    "retried after Retry-After.",
    ["method"],
)
