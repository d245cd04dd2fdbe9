"""Socket-type names and the RFC 37 compatibility table (ZMTP-NOTES section 11).

Owns: which socket types may talk to each other over one ZMTP connection, and the Socket-Type property
names. Rules: pure data; imports only zlab.constants.
"""

from __future__ import annotations

from zlab.constants import SocketType

_T = SocketType

_COMPATIBLE: dict[int, frozenset[int]] = {
    _T.PAIR: frozenset({_T.PAIR}),
    _T.PUB: frozenset({_T.SUB, _T.XSUB}),
    _T.XPUB: frozenset({_T.SUB, _T.XSUB}),
    _T.SUB: frozenset({_T.PUB, _T.XPUB}),
    _T.XSUB: frozenset({_T.PUB, _T.XPUB}),
    _T.REQ: frozenset({_T.REP, _T.ROUTER}),
    _T.REP: frozenset({_T.REQ, _T.DEALER}),
    _T.DEALER: frozenset({_T.REP, _T.DEALER, _T.ROUTER}),
    _T.ROUTER: frozenset({_T.REQ, _T.DEALER, _T.ROUTER}),
    _T.PUSH: frozenset({_T.PULL}),
    _T.PULL: frozenset({_T.PUSH}),
}

SOCKET_TYPE_NAME: dict[int, bytes] = {int(t): _T(t).name.encode("ascii") for t in _COMPATIBLE}
"""Socket-Type property value sent for each ZMTP socket type (e.g. ``b"DEALER"``)."""

SOCKET_TYPE_BY_NAME: dict[bytes, int] = {v: k for k, v in SOCKET_TYPE_NAME.items()}
"""Socket type for a received Socket-Type property value (exact, upper case)."""

SENDS_IDENTITY: frozenset[int] = frozenset({_T.REQ, _T.DEALER, _T.ROUTER})
"""Socket types whose READY carries an ``Identity`` property (what libzmq does)."""


def compatible(local_type: int, peer_type: int) -> bool:
    """True if a `local_type` socket may talk to a `peer_type` socket (RFC 37 Socket-Type table)."""
    peers = _COMPATIBLE.get(local_type)
    return peers is not None and peer_type in peers
