"""Reading monitor events the same way from libzmq (pyzmq) and zlab sockets.

``Watch`` holds the PAIR socket ``get_monitor_socket`` returned and reads it with the implementation's own
``utils.monitor.recv_monitor_message``; events are ``Ev(name, value, endpoint)`` with the event's libzmq
name (zlab's ``Event`` names them: the numbers are libzmq's in both). Every read waits on the socket,
bounded; ``quiet`` is the only fixed wait, used to show that nothing more comes.
"""

from __future__ import annotations

import importlib
import random
import socket
import time
from typing import Any, NamedTuple

from tests.core.support import SYNC_S, Lib
from zlab.constants import Event

#: how long ``quiet`` listens for events that should not come (ms)
QUIET_MS = 150


class Ev(NamedTuple):
    name: str
    value: int
    endpoint: str


def event_name(number: int) -> str:
    try:
        return Event(number).name
    except ValueError:
        return str(number)


class Watch:
    """The monitor of one socket."""

    def __init__(self, lib: Lib, sock: Any, events: int | None = None, *, pair: Any = None) -> None:
        """Monitor ``sock`` (``events``: a mask, default all), or read an existing monitor ``pair``."""
        self.lib = lib
        if pair is None:
            pair = sock.get_monitor_socket(events)
            lib.sockets.append(pair)  # closed (before the context terminates) at teardown
        self.mon = pair
        self.recv = importlib.import_module(f"{lib.name}.utils.monitor").recv_monitor_message

    def next(self, timeout: float = SYNC_S) -> Ev:
        if not self.mon.poll(int(timeout * 1000)):
            raise AssertionError(f"{self.lib.name}: no monitor event within {timeout} s")
        msg = self.recv(self.mon)
        ep = msg["endpoint"]
        return Ev(
            event_name(int(msg["event"])), int(msg["value"]), ep.decode() if isinstance(ep, bytes) else ep
        )

    def until(self, name: str, timeout: float = SYNC_S) -> list[Ev]:
        """Events up to and including the first ``name``."""
        out: list[Ev] = []
        deadline = time.monotonic() + timeout
        while not out or out[-1].name != name:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"{self.lib.name}: no {name} within {timeout} s; saw {names(out)}")
            out.append(self.next(left))
        return out

    def take(self, n: int, timeout: float = SYNC_S) -> list[Ev]:
        return [self.next(timeout) for _ in range(n)]

    def quiet(self, ms: int = QUIET_MS) -> list[Ev]:
        """Whatever arrives within ``ms`` (expected: nothing)."""
        out: list[Ev] = []
        while self.mon.poll(ms):
            out.append(self.next())
        return out


def names(events: list[Ev]) -> list[str]:
    return [e.name for e in events]


def without_retries(events: list[Ev], cycle: tuple[str, ...]) -> list[Ev]:
    """``events`` with the leading repetitions of a dial-and-retry ``cycle`` of names removed."""
    n = len(cycle)
    i = 0
    while tuple(e.name for e in events[i : i + n]) == cycle:
        i += n
    return events[i:]


def free_port_below_ephemeral() -> int:
    """A free tcp port outside the kernel's ephemeral range: dialling a closed port inside that range can
    connect a socket to itself (TCP simultaneous open), which makes connect-before-bind tests lie."""
    for _ in range(200):
        port = random.randrange(20000, 32000)
        s = socket.socket()
        try:
            s.bind(("127.0.0.1", port))
            return port
        except OSError:
            continue
        finally:
            s.close()
    raise RuntimeError("no free port found")
