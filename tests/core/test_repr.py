"""Readable reprs: a socket says its type, endpoints, peers, queued messages and state; a context its
sockets; the notebook HTML repr holds the same facts."""

from __future__ import annotations

import time

import zlab


def _wait(cond, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not cond():
        assert time.monotonic() < deadline, "condition not reached"
        time.sleep(0.002)


def test_socket_and_context_reprs(ctx, sockets):
    assert repr(ctx) == "<zlab.Context 0 sockets, no I/O thread yet>"
    pull = sockets(ctx, zlab.PULL)
    pull.bind("tcp://127.0.0.1:*")
    ep = pull.last_endpoint.decode()
    push = sockets(ctx, zlab.PUSH)
    push.connect(ep)
    a, b = sockets(ctx, zlab.PAIR), sockets(ctx, zlab.PAIR)
    a.bind("inproc://repr")
    b.connect("inproc://repr")
    b.send(b"1")
    b.send(b"2")
    push.send(b"x")
    _wait(lambda: len(pull.core.pipes) == 1 and sum(len(p.pending) for p in pull.core.pipes) == 1)
    assert repr(pull) == f"<zlab.Socket PULL bound {ep}, 1 peer, queued in 1 / out 0>"
    assert repr(a) == "<zlab.Socket PAIR bound inproc://repr, 1 peer, queued in 2 / out 0>"
    assert repr(b) == "<zlab.Socket PAIR connected inproc://repr, 1 peer, queued in 0 / out 2>"
    assert repr(ctx) == "<zlab.Context 4 sockets (PAIR, PAIR, PULL, PUSH), I/O thread running>"
    html = pull._repr_html_()
    assert "zlab.Socket PULL" in html and f"bound {ep}" in html and "1 / 0" in html and "open" in html
    push.close()
    assert repr(push) == "<zlab.Socket PUSH closed>"
    assert "closed" in push._repr_html_()


def test_asyncio_reprs():
    import zlab.asyncio

    c = zlab.asyncio.Context()
    try:
        s = c.socket(zlab.REQ)
        assert repr(s) == "<zlab.asyncio.Socket REQ 0 peers, queued in 0 / out 0>"
        assert repr(c) == "<zlab.asyncio.Context 1 socket (REQ), no I/O thread yet>"
        s.close()
    finally:
        c.term()
    assert repr(c) == "<zlab.asyncio.Context terminated>"
