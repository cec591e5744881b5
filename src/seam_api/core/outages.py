"""Outages of Redis and of the database: one log line when each starts, one when it ends.

With Redis away for 20 s, one instance wrote 12,060 "Cannot publish to redis" lines and a
warning per mutation, which buried the one fact worth reading. Every place that uses a
dependency reports what failed (`down`) and that a call worked (`up`); the first failure logs
the start, the first success after it logs the end with its length and how many of each kind
of work it affected, and /metrics counts outages and their seconds. In between, nothing is
logged, however long the outage and however busy the instance.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from typing import Any

from prometheus_client import Counter as Metric

log = logging.getLogger(__name__)

# On the default registry with the rest of /metrics (ops/metrics.py); defined here, beside the
# state they count, because the database layer below ops reports outages too.
OUTAGES = Metric(
    "seam_outages_total",
    "Outages of a dependency (redis, database) seen by this instance, counted when they start",
    ["dependency"],
)
OUTAGE_SECONDS = Metric(
    "seam_outage_seconds_total",
    "Seconds of ended outages, by dependency",
    ["dependency"],
)


class Outage:
    """The state of one dependency (`redis`, `database`) in this process."""

    def __init__(self, dependency: str) -> None:
        self.dependency = dependency
        self.started: float | None = None
        self.affected: Counter[str] = Counter()

    @property
    def active(self) -> bool:
        return self.started is not None

    def down(self, what: str, error: BaseException | None = None) -> None:
        """A use of the dependency (`what`: "requests", "notices", ...) failed."""
        if self.started is None:
            self.started = time.monotonic()
            OUTAGES.labels(self.dependency).inc()
            cause = f" ({type(error).__name__})" if error is not None else ""
            log.warning(
                "%s unavailable%s, first noticed by %s; its return will be logged",
                self.dependency,
                cause,
                what,
            )
        self.affected[what] += 1

    def up(self) -> None:
        """A use of the dependency worked: ends an outage if one was running."""
        if self.started is None:
            return
        seconds = time.monotonic() - self.started
        affected = ", ".join(f"{what} {count}" for what, count in self.affected.most_common())
        log.warning(
            "%s available again after %.1f s; failed meanwhile: %s",
            self.dependency,
            seconds,
            affected,
        )
        OUTAGE_SECONDS.labels(self.dependency).inc(seconds)
        self.started = None
        self.affected = Counter()


REDIS = Outage("redis")
DATABASE = Outage("database")

_REDIS_MANAGER_FAILURES = ("Cannot publish to redis", "Cannot receive from redis")


class SocketIORedisLog:
    """The logger given to python-socketio's Redis manager (its `logger` option). The manager
    logs an error per publish and per retry while Redis is away; those become the Redis
    outage, and everything else goes to the `socketio` logger as before."""

    def __init__(self) -> None:
        self._log = logging.getLogger("socketio")

    def error(self, message: Any, *args: Any, **kwargs: Any) -> None:
        if isinstance(message, str) and message.startswith(_REDIS_MANAGER_FAILURES):
            REDIS.down("socket.io events")
            return
        self._log.error(message, *args, **kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._log, name)
