"""The kernel send buffer of an ipc connection grows for large messages, unless the user set SNDBUF.

zlab grows SO_SNDBUF of an ipc connection to hold the largest message it writes by reference
(stream_pipe._grow_sndbuf), so a 1 MiB message goes to the kernel in one write. The user's SNDBUF
always wins, and tcp buffers are left to the kernel's own tuning.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

import zlab
from tests.core.support import wait_until
from zlab.io import stream_pipe
from zlab.io.stream_pipe import StreamPipe

pytestmark = pytest.mark.timeout(20)

BIG = 1 << 20


@pytest.fixture
def ctx() -> Iterator[zlab.Context]:
    c = zlab.Context()
    yield c
    c.destroy(linger=0)


def _os_sndbuf(sock: zlab.Socket) -> int:
    """SO_SNDBUF of the OS socket under ``sock``'s one connection."""
    (pipe,) = wait_until(lambda: sock.core.pipes, what="a connection")
    assert isinstance(pipe, StreamPipe)
    os_sock = wait_until(lambda: pipe.sock, what="the connection's OS socket")
    return int(os_sock.getsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF))


def _pair(ctx: zlab.Context, tmp_path: Path, **opts: int) -> tuple[zlab.Socket, zlab.Socket]:
    rep = ctx.socket(zlab.REP)
    req = ctx.socket(zlab.REQ)
    for name, value in opts.items():
        setattr(req, name, value)
    rep.bind(f"ipc://{tmp_path}/s")
    req.connect(f"ipc://{tmp_path}/s")
    return req, rep


def test_ipc_send_buffer_grows_for_a_large_message(ctx: zlab.Context, tmp_path: Path) -> None:
    req, rep = _pair(ctx, tmp_path)
    req.send(b"small")
    assert rep.recv() == b"small"
    rep.send(b"ok")
    assert req.recv() == b"ok"
    before = _os_sndbuf(req)
    assert before < 2 * BIG  # small messages leave the kernel default alone
    msg = b"x" * BIG
    req.send(msg)
    assert rep.recv() == msg
    assert _os_sndbuf(req) > before  # grown (to 2 MiB here; net.core.wmem_max may cap it lower)


def test_user_sndbuf_wins_over_growth(ctx: zlab.Context, tmp_path: Path) -> None:
    req, rep = _pair(ctx, tmp_path, sndbuf=65536)
    size = _os_sndbuf(req)  # the kernel's value for the user's 65536 (Linux doubles it)
    for _ in range(2):
        msg = b"y" * BIG
        req.send(msg)
        assert rep.recv() == msg
        rep.send(b"ok")
        assert req.recv() == b"ok"
    assert _os_sndbuf(req) == size


def test_room_before_growth() -> None:
    """Which connections may grow: ipc with SNDBUF unset (-1); never tcp, never a user's SNDBUF (0 too)."""
    a, b = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    t = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        assert stream_pipe._sndbuf_room(a, -1) == a.getsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF)
        assert stream_pipe._sndbuf_room(a, 0) == stream_pipe._NO_GROW
        assert stream_pipe._sndbuf_room(a, 65536) == stream_pipe._NO_GROW
        assert stream_pipe._sndbuf_room(t, -1) == stream_pipe._NO_GROW
    finally:
        for s in (a, b, t):
            s.close()
