"""zlab's monitor machinery on its own: the message format against pyzmq's parser, emission from many
threads at once, never blocking (events dropped without a reader or with a full queue, as libzmq),
ACCEPT_FAILED, and HANDSHAKE_FAILED_AUTH reported through the link (as the security layer does)."""

from __future__ import annotations

import errno
import threading
import time
from typing import Any

import pytest

import zlab
from tests.monitor.support import Ev, event_name
from zlab.utils.monitor import encode_event, parse_monitor_message, recv_monitor_message

TIMEOUT_MS = 5000


def _ev(msg: dict) -> Ev:
    return Ev(event_name(msg["event"]), msg["value"], msg["endpoint"].decode())


def _reader(ctx: zlab.Context, addr: str, **options: Any) -> zlab.Socket:
    r = ctx.socket(zlab.PAIR, linger=0, rcvtimeo=TIMEOUT_MS, **options)
    r.connect(addr)
    return r


def test_format_matches_pyzmq() -> None:
    zmq_monitor = pytest.importorskip("zmq.utils.monitor")
    frames = encode_event(
        zlab.EVENT_HANDSHAKE_FAILED_PROTOCOL, zlab.PROTOCOL_ERROR_ZMTP_INVALID_METADATA, "tcp://a:1"
    )
    assert frames[0] == b"\x00\x20\x18\x00\x00\x10"  # uint16 LE event, uint32 LE value
    ours = parse_monitor_message(frames)
    theirs = zmq_monitor.parse_monitor_message(frames)
    assert ours == theirs
    assert type(ours["event"]) is zlab.Event and ours["event"] is zlab.Event.HANDSHAKE_FAILED_PROTOCOL
    assert type(ours["value"]) is int and ours["endpoint"] == b"tcp://a:1"
    with pytest.raises(RuntimeError):
        parse_monitor_message([b"\x01\x00"])


def test_recv_monitor_message_reads_a_pyzmq_monitor(zmq_ctx: Any) -> None:
    import zmq

    s = zmq_ctx.socket(zmq.PULL)
    s.linger = 0
    mon = s.get_monitor_socket()
    mon.linger = 0
    s.bind("tcp://127.0.0.1:*")
    assert mon.poll(TIMEOUT_MS)
    msg = recv_monitor_message(mon)
    assert msg["event"] == zlab.EVENT_LISTENING
    assert msg["endpoint"] == s.getsockopt(zmq.LAST_ENDPOINT)
    s.close()
    mon.close()


def test_many_threads_emit_at_once(ctx: zlab.Context) -> None:
    s = ctx.socket(zlab.PULL, linger=0)
    s.monitor("inproc://mon-threads")
    reader = _reader(ctx, "inproc://mon-threads", rcvhwm=0)  # an unbounded queue: nothing dropped
    threads, per_thread = 4, 500
    start = threading.Barrier(threads)

    def emit(n: int) -> None:
        start.wait()
        for i in range(per_thread):
            s.link.event(zlab.EVENT_CONNECT_RETRIED, f"tcp://thread-{n}:1", i)

    workers = [threading.Thread(target=emit, args=(n,)) for n in range(threads)]
    for t in workers:
        t.start()
    for t in workers:
        t.join(10)
    seen: dict[str, list[int]] = {}
    for _ in range(threads * per_thread):
        msg = recv_monitor_message(reader)  # two frames each, never interleaved
        seen.setdefault(msg["endpoint"].decode(), []).append(msg["value"])
    assert seen == {f"tcp://thread-{n}:1": list(range(per_thread)) for n in range(threads)}


def test_never_blocks_without_reader_or_with_a_full_queue(ctx: zlab.Context) -> None:
    s = ctx.socket(zlab.PULL, linger=0)
    s.monitor("inproc://mon-full")
    t0 = time.monotonic()
    for i in range(100):  # nobody connected: dropped
        s.link.event(zlab.EVENT_CONNECT_RETRIED, "tcp://nobody:1", i)
    reader = _reader(ctx, "inproc://mon-full", rcvhwm=10)
    for i in range(5000):  # far beyond the queue's room: the rest is dropped
        s.link.event(zlab.EVENT_CONNECT_RETRIED, "tcp://x:1", i)
    assert time.monotonic() - t0 < 2.0
    got = []
    while reader.poll(100):
        got.append(recv_monitor_message(reader)["value"])
    assert 0 < len(got) < 5000
    assert got == list(range(len(got)))  # the first ones, in order; none from before the reader came


def test_auth_failure_reported_through_the_link(ctx: zlab.Context) -> None:
    """The security layer reports a ZAP refusal with link.event(HANDSHAKE_FAILED_AUTH, endpoint, status)."""
    s = ctx.socket(zlab.PULL, linger=0)
    mon = s.get_monitor_socket()
    s.link.event(zlab.Event.HANDSHAKE_FAILED_AUTH, "tcp://127.0.0.1:1", 400)
    mon.rcvtimeo = TIMEOUT_MS
    assert _ev(recv_monitor_message(mon)) == ("HANDSHAKE_FAILED_AUTH", 400, "tcp://127.0.0.1:1")


class _FailingOnce:
    """A listening socket whose first accept() fails as if the process were out of descriptors."""

    def __init__(self, sock: Any) -> None:
        self._sock = sock
        self.failed = False

    def accept(self) -> Any:
        if not self.failed:
            self.failed = True
            raise OSError(errno.EMFILE, "Too many open files")
        return self._sock.accept()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._sock, name)


def test_accept_failed(ctx: zlab.Context) -> None:
    s = ctx.socket(zlab.PULL, linger=0)
    mon = s.get_monitor_socket()
    mon.rcvtimeo = TIMEOUT_MS
    s.bind("tcp://127.0.0.1:*")
    ep = s.last_endpoint.decode()
    assert _ev(recv_monitor_message(mon)).name == "LISTENING"
    listener = s._bound[ep]
    listener.sock = _FailingOnce(listener.sock)
    c = ctx.socket(zlab.PUSH, linger=0)
    c.connect(ep)
    events = [_ev(recv_monitor_message(mon)) for _ in range(3)]
    assert events[0] == ("ACCEPT_FAILED", errno.EMFILE, ep)
    assert [e.name for e in events[1:]] == ["ACCEPTED", "HANDSHAKE_SUCCEEDED"]  # the next try succeeds


def test_no_monitor_no_hook(ctx: zlab.Context) -> None:
    s = ctx.socket(zlab.PULL, linger=0)
    assert s.link.monitor is None
    mon = s.get_monitor_socket()
    assert s.link.monitor is not None
    s.disable_monitor()
    assert s.link.monitor is None
    mon.close()


def test_monitor_on_a_closed_socket(ctx: zlab.Context) -> None:
    s = ctx.socket(zlab.PULL)
    s.close()
    with pytest.raises(zlab.ZMQError) as info:
        s.monitor("inproc://closed")
    assert info.value.errno == zlab.ENOTSOCK


def test_term_with_a_monitored_socket_left_open() -> None:
    ctx = zlab.Context()
    s = ctx.socket(zlab.PUSH)
    s.get_monitor_socket()
    s.connect("tcp://127.0.0.1:9")  # retrying in the background
    s.send(b"queued")
    t = threading.Thread(target=ctx.term, daemon=True)
    t.start()
    t.join(10)
    assert not t.is_alive(), "term() hung on a monitored socket"
