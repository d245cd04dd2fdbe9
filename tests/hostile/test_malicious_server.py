"""The other direction: the socket under test *connects*, to a raw listener that misbehaves, while it is also
connected to a good libzmq peer. The bad connection must be dropped (and may be redialled), the good peer keeps
being served, nothing the bad server sent is delivered, and memory does not follow a lying length.

The socket under test is a PULL connected to a good libzmq PUSH and to the raw server (which claims PUSH when
it completes a handshake). Run against libzmq (validating the bytes) and zlab; see test_hostile_peers.py for
where libzmq is lenient.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from tests.hostile import zmtp_raw as R
from tests.hostile.support import Ctx
from tests.interop.impls import load_impl

pytestmark = pytest.mark.timeout(30)

MEMORY_LIMIT = 48 * 2**20
CLOSE_TIMEOUT_S = 5.0
HANDSHAKE = R.greeting() + R.ready(b"PUSH")


@dataclass(frozen=True)
class ServerAttack:
    name: str
    data: bytes  # everything the server sends after accepting
    rejected: bool = True
    error_command: bool = False
    maxmsgsize: int | None = None
    libzmq_lenient: str = ""


ATTACKS = [
    ServerAttack(
        "garbage-http",
        b"HTTP/1.1 200 OK\r\n" + b"Content-Length: 5\r\n" * 10 + b"\r\nhello",
        libzmq_lenient="libzmq treats a first octet other than 0xFF as ZMTP 1.0",
    ),
    ServerAttack("garbage-zero-octet", b"\x00" * 80),
    ServerAttack("mechanism-PLAIN", R.greeting(b"PLAIN")),
    ServerAttack("socket-type-PUB", R.greeting() + R.ready(b"PUB"), error_command=True),
    ServerAttack(
        "length-lies-1GiB-then-silence", HANDSHAKE + R.frame_header(1 << 30) + b"0123456789", rejected=False
    ),
    ServerAttack(
        "reserved-flag-bit3", HANDSHAKE + b"\x08\x03abc", libzmq_lenient="libzmq ignores reserved flag bits"
    ),
    ServerAttack(
        "more-on-command",
        HANDSHAKE + R.command(b"PING", b"\x00\x00", flags=R.MORE),
        libzmq_lenient="libzmq accepts MORE on a command",
    ),
    ServerAttack(
        "command-name-beyond-frame",
        HANDSHAKE + b"\x04\x03\x10AB",
        libzmq_lenient="libzmq ignores a command it cannot parse",
    ),
    ServerAttack("message-over-maxmsgsize", HANDSHAKE + R.frame(b"y" * 1001), maxmsgsize=1000),
]


@pytest.fixture
def zmq_ctx_local():
    c = Ctx(load_impl("zmq"))
    yield c
    c.teardown()


@pytest.mark.parametrize("attack", [pytest.param(a, id=a.name) for a in ATTACKS])
def test_malicious_server(impl, zmq_ctx_local, memory_watch, attack: ServerAttack):
    lenient = impl.name == "zmq" and bool(attack.libzmq_lenient)
    good = zmq_ctx_local.socket("PUSH")
    good.bind("tcp://127.0.0.1:*")
    good_ep = good.getsockopt(zmq_ctx_local.mod.LAST_ENDPOINT).decode()
    listener = R.RawListener()
    opts = {"reconnect_ivl": 100}
    if attack.maxmsgsize is not None:
        opts["maxmsgsize"] = attack.maxmsgsize
    pull = impl.socket("PULL", **opts)
    pull.connect(good_ep)
    pull.connect(listener.endpoint)

    def exchange(tag: bytes, n: int = 20) -> list[list[bytes]]:
        foreign = []
        for i in range(n):
            good.send_multipart([tag, b"%d" % i])
        want = 0
        while want < n:
            try:
                msg = [bytes(f) for f in pull.recv_multipart()]
            except impl.mod.Again:
                raise AssertionError(f"[{tag.decode()}] good messages stopped at {want} of {n}") from None
            if msg == [tag, b"%d" % want]:
                want += 1
            else:
                foreign.append(msg)
        return foreign

    foreign = exchange(b"before")
    p = listener.accept()
    try:
        with memory_watch() as mem:
            p.send(attack.data)
            foreign += exchange(b"during")
            if attack.rejected and not lenient:
                closed = p.wait_closed(CLOSE_TIMEOUT_S)
                assert closed.how in ("eof", "reset"), (
                    f"{impl.name} kept talking to a server that sent {attack.name}"
                )
                if attack.error_command and impl.name != "zmq":
                    frames, _ = R.parse_frames(closed.received[R.GREETING_SIZE :])
                    assert R.error_reason(frames) is not None, f"no ERROR before the close: {frames!r}"
            foreign += exchange(b"after-attack")
        mem.check(MEMORY_LIMIT, attack.name)
    finally:
        p.close()
        listener.close()
    foreign += exchange(b"after-close")
    while pull.poll(100):
        foreign.append([bytes(f) for f in pull.recv_multipart()])
    if not lenient:
        assert not foreign, f"the server's bytes were delivered as messages: {foreign!r}"
