"""Prometheus metrics of the watcher, served at ``/metrics``.

Module-level collectors in the default registry: the process has one watcher at most, and
the names are the interface operators build dashboards on, so they are defined once here.
429s are counted where they arrive, in the client (``catalyst_kube_api_throttled_total``).
"""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

INFORMER_SYNCED = Gauge(
    "catalyst_informer_synced",
    "1 when the informer's cache holds a complete list of its resource, else 0.",
    ["resource"],
)
EVENTS = Counter(
    "catalyst_watch_events_total",
    "Watch events received, by resource and event type.",
    ["resource", "type"],
)
RELISTS = Counter(
    "catalyst_informer_relists_total",
    "Full lists (or watch-lists) made to (re)build an informer's cache.",
    ["resource"],
)
WATCH_RESTARTS = Counter(
    "catalyst_watch_restarts_total",
    "Watches that ended and were opened again.",
    ["resource"],
)
STATUS_TRANSITIONS = Counter(
    "catalyst_status_transitions_total",
    "Environment status changes written, by new status and failure kind.",
    ["status", "failure_kind"],
)
EVENT_TO_WRITE_SECONDS = Histogram(
    "catalyst_event_to_write_seconds",
    "Time from receiving a cluster event to writing the resulting status change.",
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)
