"""Scenario code shared by the interop tests, written once for any pair of implementations.

A pairing is (binder type, connecter type). Each side is wrapped in an :class:`End` that adds and checks the
envelope its socket type needs toward the other (ROUTER identity frames, the empty delimiter between DEALER
and REP or ROUTER and REQ), so one exchange loop drives every pattern.
"""

from __future__ import annotations

import errno
import os
import time
from dataclasses import dataclass
from typing import Any

from tests.interop.impls import Impl

BINDER_ID = b"binder-id"
CONNECTER_ID = b"connecter-id"
HAS_ROUTING_ID = {"REQ", "DEALER", "ROUTER"}


@dataclass(frozen=True)
class Pattern:
    """How two socket types talk: who speaks first, whether the other replies, whether either may start."""

    initiator: str  # socket type that sends first
    reply: bool  # the receiver answers each message
    symmetric: bool  # after a first exchange the other side may start too


PATTERNS: dict[frozenset[str], Pattern] = {
    frozenset({"PAIR"}): Pattern("PAIR", reply=True, symmetric=True),
    frozenset({"REQ", "REP"}): Pattern("REQ", reply=True, symmetric=False),
    frozenset({"REQ", "ROUTER"}): Pattern("REQ", reply=True, symmetric=False),
    frozenset({"DEALER", "REP"}): Pattern("DEALER", reply=True, symmetric=False),
    frozenset({"DEALER"}): Pattern("DEALER", reply=True, symmetric=True),
    frozenset({"DEALER", "ROUTER"}): Pattern("DEALER", reply=True, symmetric=True),
    frozenset({"ROUTER"}): Pattern("ROUTER", reply=True, symmetric=True),
    frozenset({"PUSH", "PULL"}): Pattern("PUSH", reply=False, symmetric=False),
}

# Every legal pairing of the seven types, as (binder, connecter): both orientations of the asymmetric ones.
PAIRINGS: list[tuple[str, str]] = [
    ("PAIR", "PAIR"),
    ("REP", "REQ"),
    ("REQ", "REP"),
    ("ROUTER", "REQ"),
    ("REQ", "ROUTER"),
    ("REP", "DEALER"),
    ("DEALER", "REP"),
    ("DEALER", "DEALER"),
    ("ROUTER", "DEALER"),
    ("DEALER", "ROUTER"),
    ("ROUTER", "ROUTER"),
    ("PULL", "PUSH"),
    ("PUSH", "PULL"),
]


def describe(frames: list[bytes]) -> str:
    return "[" + ", ".join(f"{len(f)}B {f[:12]!r}" for f in frames) + "]"


def check_frames(got: list[Any], want: list[bytes], what: str = "message") -> None:
    """Compare multipart messages without dumping megabytes into the failure report."""
    got = [bytes(f) for f in got]
    if got == want:
        return
    if len(got) != len(want):
        raise AssertionError(
            f"{what}: {len(got)} frames {describe(got)}, wanted {len(want)} {describe(want)}"
        )
    for i, (g, w) in enumerate(zip(got, want, strict=True)):
        if g != w:
            at = next((j for j in range(min(len(g), len(w))) if g[j] != w[j]), min(len(g), len(w)))
            raise AssertionError(
                f"{what}: frame {i} differs: got {len(g)} octets, wanted {len(w)}; first difference at "
                f"octet {at}: got {g[at : at + 16]!r}, wanted {w[at : at + 16]!r}"
            )


def mirror(frames: list[bytes]) -> list[bytes]:
    """The reply to a message: frames in reverse order, each reversed (same sizes, different content)."""
    return [f[::-1] for f in reversed(frames)]


class End:
    """One socket of a pairing; ``send``/``recv`` carry the payload frames, envelopes added and checked."""

    def __init__(self, impl: Impl, sock: Any, type_: str, peer_type: str, peer_id: bytes | None) -> None:
        self.impl = impl
        self.sock = sock
        self.type = type_
        self.peer_type = peer_type
        self.peer_id = peer_id  # the routing id a ROUTER end addresses (and expects) for its peer
        self.delimiter = (type_ == "ROUTER" and peer_type == "REQ") or (
            type_ == "DEALER" and peer_type == "REP"
        )

    def __repr__(self) -> str:
        return f"<{self.impl.name} {self.type}>"

    def envelope(self) -> list[bytes]:
        env: list[bytes] = []
        if self.type == "ROUTER":
            assert self.peer_id is not None
            env.append(self.peer_id)
        if self.delimiter:
            env.append(b"")
        return env

    def send(self, frames: list[bytes]) -> None:
        self.sock.send_multipart(self.envelope() + frames)

    def recv(self) -> list[bytes]:
        msg = [bytes(f) for f in self.sock.recv_multipart()]
        if self.type == "ROUTER":
            assert msg, "ROUTER received an empty message"
            if self.peer_id is None:  # learn the peer's generated routing id
                self.peer_id = msg[0]
            elif msg[0] != self.peer_id:
                raise AssertionError(f"{self!r} got routing id {msg[0]!r}, wanted {self.peer_id!r}")
            msg = msg[1:]
        if self.delimiter:
            if not msg or msg[0] != b"":
                raise AssertionError(f"{self!r} wanted an empty delimiter first: {describe(msg)}")
            msg = msg[1:]
        return msg

    def send_when_routable(self, frames: list[bytes], timeout: float = 5.0) -> None:
        """ROUTER to a peer whose handshake may not be done yet: retry while EHOSTUNREACH (ROUTER_MANDATORY)."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                self.send(frames)
                return
            except self.impl.mod.ZMQError as exc:
                if exc.errno != errno.EHOSTUNREACH or time.monotonic() > deadline:
                    raise
            time.sleep(0.005)


def make_ends(
    binder_impl: Impl,
    connecter_impl: Impl,
    binder_type: str,
    connecter_type: str,
    endpoint: str,
    *,
    connecter_id: bytes | None = CONNECTER_ID,
) -> tuple[End, End, str]:
    """Bind one socket, connect the other; routing ids set on both ends that have one (unless told not to)."""
    b_opts: dict[str, Any] = {}
    c_opts: dict[str, Any] = {}
    if binder_type in HAS_ROUTING_ID:
        b_opts["routing_id"] = BINDER_ID
    if connecter_type in HAS_ROUTING_ID and connecter_id is not None:
        c_opts["routing_id"] = connecter_id
    if binder_type == "ROUTER":
        b_opts["router_mandatory"] = 1
    if connecter_type == "ROUTER":
        c_opts["router_mandatory"] = 1
    bsock = binder_impl.socket(binder_type, **b_opts)
    real = binder_impl.bind(bsock, endpoint)
    csock = connecter_impl.socket(connecter_type, **c_opts)
    csock.connect(real)
    binder = End(binder_impl, bsock, binder_type, connecter_type, connecter_id)
    connecter = End(connecter_impl, csock, connecter_type, binder_type, BINDER_ID)
    return binder, connecter, real


def first_sender(binder: End, connecter: End) -> tuple[End, End]:
    """(initiator, responder) for the first exchange of a pairing."""
    pattern = PATTERNS[frozenset({binder.type, connecter.type})]
    if binder.type == connecter.type:
        # symmetric types: the connecter starts (a ROUTER can only address a binder whose id it knows)
        return connecter, binder
    if binder.type == pattern.initiator:
        return binder, connecter
    return connecter, binder


def exchange(initiator: End, responder: End, payloads: list[tuple[str, list[bytes]]]) -> None:
    """Each payload from initiator to responder, and (where the pattern replies) its mirror back."""
    pattern = PATTERNS[frozenset({initiator.type, responder.type})]
    for name, frames in payloads:
        where = f"{name} {initiator!r} -> {responder!r}"
        if initiator.type == "ROUTER":
            initiator.send_when_routable(frames)
        else:
            initiator.send(frames)
        check_frames(responder.recv(), frames, where)
        if pattern.reply:
            back = mirror(frames)
            responder.send(back)
            check_frames(initiator.recv(), back, f"reply to {where}")


def run_pairing(binder: End, connecter: End, payloads: list[tuple[str, list[bytes]]]) -> None:
    """All payloads in every direction the pattern allows."""
    initiator, responder = first_sender(binder, connecter)
    exchange(initiator, responder, payloads)
    pattern = PATTERNS[frozenset({binder.type, connecter.type})]
    if pattern.symmetric:
        exchange(responder, initiator, payloads)


# ------------------------------------------------------------------------------------------------ payloads

_BIG: bytes | None = None


def big_body(size: int = 5 * 1024 * 1024) -> bytes:
    """Random octets (generated once per process), so a reordering or truncation cannot go unnoticed."""
    global _BIG
    if _BIG is None or len(_BIG) < size:
        _BIG = os.urandom(size)
    return _BIG[:size]


def body(size: int, seed: int = 0) -> bytes:
    return bytes((i * 7 + seed) & 0xFF for i in range(size))


SMALL_PAYLOADS: list[tuple[str, list[bytes]]] = [
    ("single", [b"hello"]),
    ("multipart", [b"one", b"two", b"three", b"four"]),
    ("empty", [b""]),
    ("empty-frames", [b"", b"middle", b"", b""]),
    ("255", [body(255, 1)]),
    ("256", [body(256, 2)]),
    ("boundary-multipart", [body(254, 3), body(255, 4), body(256, 5), body(257, 6), b"", body(65536, 7)]),
]


def big_payloads() -> list[tuple[str, list[bytes]]]:
    return [("5MiB", [big_body()]), ("5MiB-multipart", [b"head", big_body(), b""])]
