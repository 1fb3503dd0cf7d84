"""Free loopback ports for the servers and processes a test starts."""

from __future__ import annotations

import socket


def free_port(pair: bool = False) -> int:
    """A free 127.0.0.1 port (and, with `pair`, the next one free too: Kafka's controller)."""
    for _ in range(200):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = int(s.getsockname()[1])
        if not pair:
            return port
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port + 1))
            except OSError:
                continue
        return port
    raise RuntimeError("no free port pair")
