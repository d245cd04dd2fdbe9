"""Shared pieces of the hostile-peer suite: implementation loading, a bound target with good peers, and
the memory figures a watch records. Fixtures live in conftest.py."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

import pytest

from tests.interop.impls import IO_TIMEOUT_MS, TEARDOWN_TIMEOUT_S

# Every test runs against libzmq too (marked ``control``): that validates the raw bytes and the scenario.
IMPL_PARAMS = [pytest.param("zmq", marks=pytest.mark.control), "zlab"]
PEER_TYPE = {"PULL": "PUSH", "ROUTER": "DEALER"}


def bind_tcp(c: Ctx, sock: Any) -> str:
    """Bind ``sock`` to a free loopback port; the endpoint as LAST_ENDPOINT gives it back."""
    sock.bind("tcp://127.0.0.1:*")
    ep = sock.getsockopt(c.mod.LAST_ENDPOINT)
    return (ep.decode() if isinstance(ep, bytes) else ep).rstrip("\x00")


@dataclass
class Peer:
    name: bytes
    mod: ModuleType
    sock: Any


@dataclass
class Target:
    """A bound socket under attack and its well-behaved peers."""

    impl: str
    kind: str  # "PULL" or "ROUTER"
    mod: ModuleType
    sock: Any
    endpoint: str
    peers: list[Peer]
    # messages the target received that no good peer sent (attacker payloads)
    foreign: list[list[bytes]] = field(default_factory=list)

    @property
    def good_ids(self) -> set[bytes]:
        return {p.name for p in self.peers}

    def exchange(self, tag: str) -> None:
        """Every good peer sends one message; the target gets each (and, as a ROUTER, replies to each)."""
        tagb = tag.encode()
        for p in self.peers:
            p.sock.send_multipart([tagb, p.name])
        want = {p.name for p in self.peers}
        deadline = time.monotonic() + IO_TIMEOUT_MS / 1000
        while want:
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"[{tag}] messages from good peers {sorted(want)} never reached the target"
                )
            try:
                msg = [bytes(f) for f in self.sock.recv_multipart()]
            except self.mod.Again:
                raise AssertionError(
                    f"[{tag}] target {self.impl} {self.kind} stopped serving: nothing from {sorted(want)}"
                ) from None
            body = msg[1:] if self.kind == "ROUTER" else msg
            if len(body) == 2 and body[0] == tagb and body[1] in want:
                if self.kind == "ROUTER":
                    assert msg[0] == body[1], f"[{tag}] good peer {body[1]!r} arrived with id {msg[0]!r}"
                want.discard(body[1])
            else:
                self.foreign.append(msg)
        if self.kind == "ROUTER":
            for p in self.peers:
                self.sock.send_multipart([p.name, b"ack", tagb])
            for p in self.peers:
                try:
                    got = [bytes(f) for f in p.sock.recv_multipart()]
                except p.mod.Again:
                    raise AssertionError(
                        f"[{tag}] the ROUTER's reply never reached good peer {p.name!r}"
                    ) from None
                assert got == [b"ack", tagb], f"[{tag}] {p.name!r} got {got!r}"

    def drain_foreign(self, wait_ms: int = 20) -> list[list[bytes]]:
        """Collect anything left in the target's queue (nothing should be: the attacker's bytes went in long before
        the last exchanges, so a short wait suffices)."""
        while self.sock.poll(wait_ms, self.mod.POLLIN):
            self.foreign.append([bytes(f) for f in self.sock.recv_multipart()])
        return self.foreign


class Ctx:
    def __init__(self, mod: ModuleType) -> None:
        self.mod = mod
        self.ctx = mod.Context()
        self.sockets: list[Any] = []

    def socket(self, type_name: str, **options: Any) -> Any:
        s = self.ctx.socket(getattr(self.mod, type_name))
        self.sockets.append(s)
        opts = {"linger": 0, "rcvtimeo": IO_TIMEOUT_MS, "sndtimeo": IO_TIMEOUT_MS, **options}
        for k, v in opts.items():
            s.setsockopt(getattr(self.mod, k.upper()), v)
        return s

    def teardown(self) -> None:
        errors: list[BaseException] = []

        def work() -> None:
            try:
                for s in self.sockets:
                    if not getattr(s, "closed", False):
                        s.close(linger=0)
                self.ctx.term()
            except BaseException as exc:
                errors.append(exc)

        t = threading.Thread(target=work, daemon=True)
        t.start()
        t.join(TEARDOWN_TIMEOUT_S)
        if t.is_alive():
            raise RuntimeError(f"{self.mod.__name__} context did not terminate within {TEARDOWN_TIMEOUT_S} s")
        if errors:
            raise errors[0]


@dataclass
class MemoryWatch:
    """Python allocations (tracemalloc peak, which sees zlab's buffers whether touched or not) and the
    process's peak RSS growth, over a block."""

    traced_peak: int = 0
    rss_growth: int = 0

    def check(self, limit: int, what: str) -> None:
        assert self.traced_peak < limit, (
            f"{what}: Python allocations peaked at {self.traced_peak / 2**20:.1f} MiB (limit {limit / 2**20:.0f})"
        )
        assert self.rss_growth < 4 * limit, (
            f"{what}: peak RSS grew by {self.rss_growth / 2**20:.1f} MiB (limit {4 * limit / 2**20:.0f})"
        )
