"""Prometheus metrics (prometheus-client), served at /metrics when SEAM_METRICS allows.

Module-level metrics on the client's default registry, so its process metrics (CPU, memory,
open files) come along. Values that already live elsewhere (sockets connected, pool use) are
not kept twice: a collector reads them from the running apps at scrape time.
"""

from __future__ import annotations

import weakref
from collections.abc import Iterator
from typing import Any, Protocol

from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, Counter, Gauge, Histogram
from prometheus_client import generate_latest as _generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

LOGIN_ROUTE = "/api/v1/auth/login"
UNMATCHED = "<unmatched>"  # 404s are labelled as one route, so scanners cannot grow the series

HTTP_REQUESTS = Counter(
    "seam_http_requests_total",
    "HTTP requests by route template and status",
    ["method", "route", "status"],
)
HTTP_DURATION = Histogram(
    "seam_http_request_duration_seconds",
    "HTTP request latency by route template",
    ["method", "route"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
)
LOGINS = Counter(
    "seam_logins_total",
    "Login attempts: success, refused (401), limited (429), invalid (400)",
    ["result"],
)
_LOGIN_RESULTS = {200: "success", 401: "refused", 429: "limited", 400: "invalid"}

# Real-time delivery; the event layer updates these.
EVENTS_EMITTED = Counter("seam_events_emitted_total", "Events emitted, by event name", ["event"])
EVENTS_DELIVERED = Counter(
    "seam_events_delivered_total",
    "Events written to sockets of this instance, by event name",
    ["event"],
)
EVENT_QUEUE_DEPTH = Gauge("seam_event_queue_depth", "Events waiting in the delivery queue")
EVENT_REPLAYS = Counter(
    "seam_event_replays_total",
    "Reconnects that asked for missed events: recovered or resync",
    ["result"],
)
EVENT_LAG = Histogram(
    "seam_event_lag_seconds",
    "From an event's emit to its delivery",
    buckets=(0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)

# Mail (password reset, invitations): emails the SMTP server took, and attempts it refused or
# that could not reach it (each one retried in the background; see mail/sender.py).
MAIL_SENT = Counter("seam_mail_sent_total", "Emails handed to the SMTP server, by kind", ["kind"])
MAIL_FAILURES = Counter(
    "seam_mail_failures_total", "Failed attempts to hand an email to the SMTP server", ["kind"]
)

SOCKETS_CLOSED_SLOW = Counter(
    "seam_sockets_closed_slow_total",
    "Sockets closed for not reading: queue_full, or no_poll (a polling client that stopped)",
    ["reason"],
)
PROGRESS_DROPPED = Counter(
    "seam_progress_dropped_total",
    "operation:progress events dropped for sockets whose queue was half full",
)


_apps: weakref.WeakSet[Any] = weakref.WeakSet()
_children: dict[tuple[str, str, int], tuple[Any, Any]] = {}


def observe_request(method: str, route: str | None, status: int, duration: float) -> None:
    """Count one HTTP request. The labelled children are kept here because `labels()` takes
    a lock and validates its arguments on every call; this runs on every request."""
    key = (method, route or UNMATCHED, status)
    children = _children.get(key)
    if children is None:
        children = _children[key] = (
            HTTP_REQUESTS.labels(key[0], key[1], str(status)),
            HTTP_DURATION.labels(key[0], key[1]),
        )
    children[0].inc()
    children[1].observe(duration)
    if route == LOGIN_ROUTE and method == "POST":
        LOGINS.labels(_LOGIN_RESULTS.get(status, "error")).inc()


class Watched(Protocol):
    """What an app reports at each scrape."""

    def sockets_connected(self) -> int: ...

    def pool_connections(self) -> tuple[int, int]:
        """Database connections (checked out, idle)."""
        ...


def watch(app: Watched) -> None:
    """Report this app's sockets and pool at each scrape (held weakly: tests build many)."""
    _apps.add(app)


def exposition() -> tuple[bytes, str]:
    """The Prometheus text format of every metric, and its content type."""
    return _generate_latest(REGISTRY), CONTENT_TYPE_LATEST


class _AppCollector(Collector):
    def collect(self) -> Iterator[GaugeMetricFamily]:
        apps = list(_apps)
        yield GaugeMetricFamily(
            "seam_sockets_connected",
            "Socket.IO connections held by this instance",
            value=sum(app.sockets_connected() for app in apps),
        )
        in_use = GaugeMetricFamily(
            "seam_db_pool_connections", "Database pool connections", labels=["state"]
        )
        checked_out = idle = 0
        for app in apps:
            busy, free = app.pool_connections()
            checked_out += busy
            idle += free
        in_use.add_metric(["in_use"], checked_out)
        in_use.add_metric(["idle"], idle)
        yield in_use


REGISTRY.register(_AppCollector())
