"""What an operator reads while the bus is away: one line per change of state, from us, instead
of the Kafka client's reconnect noise.

`BusWatch` is told, every few seconds, whether the bus answers and how many events wait in the
outbox; it logs each change once: the bus down (WARNING), the backlog growing while it is down
or stuck (WARNING), the bus back (INFO), the backlog drained (INFO). `QuietRepeats`, a filter
on aiokafka's loggers, lets each of their messages through once per outage and drops its
repeats (aiokafka logs `Unable connect to node with id 1` at ERROR on every retry, hundreds a
minute per client); the watch opens a new outage when the bus comes back.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable

log = logging.getLogger(__name__)

CLIENT_LOGGERS = "aiokafka"
# With no watch to say the bus is back (an API process), a message the client has not
# repeated for this long counts as a new outage's.
QUIET_AFTER = 300.0


class QuietRepeats(logging.Filter):
    """Pass a WARNING or worse the first time its message (the format, not the arguments) is
    logged on its logger in this outage; drop its repeats until `new_outage`."""

    def __init__(self, quiet_after: float = QUIET_AFTER) -> None:
        super().__init__()
        self.quiet_after = quiet_after
        self._last: dict[tuple[str, str], float] = {}
        self.dropped = 0

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno < logging.WARNING:
            return True
        key = (record.name, str(record.msg))
        now = time.monotonic()
        last = self._last.get(key)
        self._last[key] = now
        if last is not None and now - last < self.quiet_after:
            self.dropped += 1
            return False
        return True

    def new_outage(self) -> int:
        """Forget what was seen; returns how many repeats were dropped since the last call."""
        dropped, self.dropped = self.dropped, 0
        self._last.clear()
        return dropped


QUIET = QuietRepeats()


def quiet_client_repeats(names: Iterable[str] | None = None) -> None:
    """Put `QUIET` on aiokafka's loggers (a logger's filter applies to its own records only,
    so on each one that exists: they are made when aiokafka's modules are imported)."""
    if names is None:
        names = [n for n in logging.root.manager.loggerDict if _is_client(n)]
    for name in {CLIENT_LOGGERS, *names}:
        logger = logging.getLogger(name)
        if QUIET not in logger.filters:
            logger.addFilter(QUIET)


def _is_client(name: str) -> bool:
    return name == CLIENT_LOGGERS or name.startswith(f"{CLIENT_LOGGERS}.")


class BusWatch:
    """The state an operator is told about, and the one line for each change of it."""

    def __init__(self, service: str, quiet: QuietRepeats = QUIET) -> None:
        self.service = service
        self.quiet = quiet
        self.bus_up = True
        self.down_since = 0.0
        self.backlog = 0
        self.backlog_told = False  # "backlog growing" said, "drained" not yet

    def observe(
        self, bus_error: str | None, backlog: int, oldest_age: float, stuck_after: float
    ) -> None:
        """One look: `bus_error` None when the bus answered; the outbox's backlog and its oldest
        row's age; a backlog older than `stuck_after` seconds grows even with the bus up."""
        if bus_error is not None and self.bus_up:
            self.bus_up = False
            self.down_since = time.monotonic()
            log.warning(
                "%s: the bus is down (%s); events wait in the outbox (%d now)",
                self.service,
                bus_error,
                backlog,
            )
        elif bus_error is None and not self.bus_up:
            self.bus_up = True
            dropped = self.quiet.new_outage()
            log.info(
                "%s: the bus is back after %.0f s; %d events to publish"
                " (%d repeated client messages were not logged)",
                self.service,
                time.monotonic() - self.down_since,
                backlog,
                dropped,
            )
        growing = backlog > self.backlog and (not self.bus_up or oldest_age > stuck_after)
        if growing and not self.backlog_told:
            self.backlog_told = True
            log.warning(
                "%s: the outbox backlog is growing: %d events, the oldest %.0f s old",
                self.service,
                backlog,
                oldest_age,
            )
        elif backlog == 0 and self.backlog_told:
            self.backlog_told = False
            log.info("%s: the outbox backlog is drained", self.service)
        self.backlog = backlog
