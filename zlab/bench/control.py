# zlab.bench.control -- the control pipe between the coordinator and each peer.
"""The out-of-band protocol that sequences a cell: bound -> endpoint -> ready -> go -> result -> stop.

Owns: the message kinds and the peer's side of the pipe (:class:`Control`). The coordinator
(:mod:`zlab.bench.runner`) speaks the other side. Nothing here is on the measured path: the clock
starts only after every peer said ``ready`` and was told ``go``.

    peer -> coordinator: ("bound", endpoint) ("ready",) ("result", dict) ("error", text)
    coordinator -> peer: ("endpoint", endpoint) ("go",) ("stop",)

``stop`` goes to every peer once all peers that finish by themselves have reported; a publisher
runs until then, and every peer keeps its socket open until then (libzmq drops messages still
queued at a ROUTER over ipc when the sending peer disconnects, so a sender must not close early).
"""

from __future__ import annotations

from multiprocessing.connection import Connection
from typing import Any

BOUND, READY, RESULT, ERROR = "bound", "ready", "result", "error"
ENDPOINT, GO, STOP = "endpoint", "go", "stop"


class Control:
    """A peer's end of its control pipe."""

    def __init__(self, conn: Connection, role: str) -> None:
        self.conn = conn
        self.role = role
        self._seen: set[str] = set()

    def _send(self, *msg: Any) -> None:
        self.conn.send(msg)

    def _take(self, timeout: float | None) -> bool:
        """Read one pending message (waiting up to ``timeout``); False if none arrived."""
        if timeout is not None and not self.conn.poll(timeout):
            return False
        msg = self.conn.recv()
        self._seen.add(msg[0])
        if msg[0] == ENDPOINT:
            self._endpoint = msg[1]
        return True

    def _wait_for(self, kind: str) -> None:
        while kind not in self._seen:
            self._take(None)

    def bound(self, endpoint: str) -> None:
        """Publish the endpoint a bound peer listens on; the coordinator passes it to connecting peers."""
        self._send(BOUND, endpoint)

    def endpoint(self) -> str:
        """Block until the coordinator sends the endpoint to connect to."""
        self._wait_for(ENDPOINT)
        return self._endpoint

    def ready(self) -> None:
        """Say this peer is connected and warmed up."""
        self._send(READY)

    def wait_go(self) -> None:
        """Block until every peer of the cell is ready."""
        self._wait_for(GO)

    def poll_go(self, timeout: float) -> bool:
        """True once ``go`` arrived, waiting at most ``timeout`` seconds for it."""
        if GO not in self._seen:
            self._take(timeout)
        return GO in self._seen

    def poll_stop(self, timeout: float) -> bool:
        """True once ``stop`` arrived (the measuring peers have all reported), waiting at most ``timeout``."""
        if STOP not in self._seen:
            self._take(timeout)
        return STOP in self._seen

    def wait_stop(self) -> None:
        """Block until ``stop``: every peer has reported, so closing can no longer lose a message."""
        self._wait_for(STOP)

    def result(self, result: dict[str, Any]) -> None:
        """Report this peer's measurements."""
        self._send(RESULT, result)

    def error(self, text: str) -> None:
        """Report a failure (a traceback or a one-line reason)."""
        self._send(ERROR, text)
