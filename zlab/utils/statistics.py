"""Socket statistics: where every message went, per peer (``Socket.statistics()``), as a table.

Owns: ``Statistics`` (what ``Socket.statistics()`` returns: one dict per peer, plus the socket's own
counters) and ``statistics_frame`` (the same as a pandas DataFrame, one row per peer). Rules: layer
L3; pandas is imported only when a frame is asked for.

Per peer: ``endpoint``, ``zmtp_version`` ("3.1", "3.0", None over inproc), ``peer_type`` ("SUB"...),
``routing_id``, ``connected``, ``msgs_in``/``bytes_in``, ``msgs_out``/``bytes_out`` (bytes on the
wire: None over inproc, where nothing is encoded), ``queue_in``/``queue_out`` now and their
``_peak``, ``hwm_blocks`` (sends that found the peer full and waited or went to another peer),
``dropped_hwm`` (messages lost because the peer was full: PUB, ROUTER, REP), ``dropped_filtered``
(messages from the peer that no subscription matched: SUB, XSUB), ``dropped_unsent`` (still queued
when the connection closed) and ``reconnects``. Peers that went away stay listed (``connected``
False) for a while, so their losses can still be read.
"""

from __future__ import annotations

from typing import Any

from zlab.constants import SocketType


class Statistics(list):
    """One dict per peer, attached peers first; ``dropped`` holds the socket-level losses by reason
    (``unroutable``: a ROUTER's unknown routing id; ``no_subscriber``: a PUB message nobody wanted;
    ``requester_gone``: a REP reply whose requester left; ``subscriber_gone``: a PUB message for a
    subscriber whose connection had just closed, before its pipe was detached)."""

    def __init__(self, rows: list[dict[str, Any]], socket_type: int, dropped: dict[str, int]) -> None:
        super().__init__(rows)
        self.socket_type = _type_name(socket_type)
        self.dropped = dict(dropped)

    def to_frame(self) -> Any:
        """These statistics as a pandas DataFrame (see :func:`statistics_frame`)."""
        return statistics_frame(self)

    def __repr__(self) -> str:
        lost = sum(self.dropped.values()) + sum(
            r["dropped_hwm"] + r["dropped_filtered"] + r["dropped_unsent"] for r in self
        )
        return f"<Statistics {self.socket_type}: {len(self)} peers, {lost} messages dropped>"


def statistics_frame(stats: Any) -> Any:
    """A DataFrame with one row per peer, from a socket or from its ``statistics()``.

    The socket-level drops are in ``frame.attrs["dropped"]``, the socket type in
    ``frame.attrs["socket_type"]``.
    """
    import pandas as pd

    if hasattr(stats, "statistics"):
        stats = stats.statistics()
    frame = pd.DataFrame(list(stats), columns=COLUMNS)
    frame["routing_id"] = frame["routing_id"].map(
        lambda r: r.hex() if isinstance(r, bytes | bytearray) else r
    )
    frame.attrs["socket_type"] = getattr(stats, "socket_type", None)
    frame.attrs["dropped"] = dict(getattr(stats, "dropped", {}))
    return frame


COLUMNS = [
    "endpoint",
    "zmtp_version",
    "peer_type",
    "routing_id",
    "connected",
    "msgs_in",
    "bytes_in",
    "msgs_out",
    "bytes_out",
    "queue_in",
    "queue_in_peak",
    "queue_out",
    "queue_out_peak",
    "hwm_blocks",
    "dropped_hwm",
    "dropped_filtered",
    "dropped_unsent",
    "reconnects",
]


def _type_name(t: int | None) -> str | None:
    if t is None:
        return None
    try:
        return SocketType(t).name
    except ValueError:
        return str(t)


def peer_row(row: dict[str, Any]) -> dict[str, Any]:
    """``row`` with the peer's socket type as a name."""
    row["peer_type"] = _type_name(row["peer_type"])
    return row
