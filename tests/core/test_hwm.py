"""High-water marks (per pipe) and multipart atomicity.

Over ipc and tcp the kernel's socket buffers hold messages too, so a small HWM is reached only after
they fill: the tests send sizeable messages and stop at the first ``Again``, never assuming a count.
"""

from __future__ import annotations

import pytest

from tests.core.support import Lib

HWM = 5
#: payload per message: small on inproc (only the HWM counts), larger where kernel buffers must fill
PAYLOAD = {"inproc": 16, "ipc": 16 * 1024, "tcp": 16 * 1024}
#: a socket that has not blocked after this many messages is not honouring its HWM
MAX_SENDS = 20000


def _drain(sock, lib: Lib, quiet_ms: int = 300) -> list[list[bytes]]:
    """Every message ``sock`` gets until nothing more arrives for ``quiet_ms``."""
    out = []
    while sock.poll(quiet_ms, lib.POLLIN):
        out.append(sock.recv_multipart())
    return out


@pytest.mark.timeout(30)
def test_push_blocks_at_hwm_and_loses_nothing(lib: Lib, transport: str) -> None:
    pull = lib.socket("PULL", rcvhwm=HWM)
    ep = lib.bind(pull, transport)
    push = lib.socket("PUSH", sndhwm=HWM, sndtimeo=100)
    push.connect(ep)
    pad = b"p" * PAYLOAD[transport]
    sent = 0
    for sent in range(MAX_SENDS):
        try:  # blocks at most SNDTIMEO: an Again means no progress for that long, not a transient full
            push.send_multipart([b"%d" % sent, pad])
        except lib.mod.Again:
            break
    else:
        pytest.fail(f"PUSH never blocked after {MAX_SENDS} messages with SNDHWM={HWM}")
    assert sent >= HWM  # at least its own queue filled before it blocked
    with pytest.raises(lib.mod.Again):  # NOBLOCK too
        push.send_multipart([b"late", pad], lib.NOBLOCK)
    got = [pull.recv_multipart() for _ in range(sent)]
    assert [m[0] for m in got] == [b"%d" % i for i in range(sent)]
    assert all(m[1] == pad for m in got)
    # drained: the PUSH can send again and the stream resumes where it stopped
    push.send_multipart([b"after", pad])
    assert pull.recv_multipart() == [b"after", pad]
    assert pull.poll(100, lib.POLLIN) == 0


@pytest.mark.timeout(30)
def test_router_drops_at_hwm_whole_messages(lib: Lib, transport: str) -> None:
    router = lib.socket("ROUTER", sndhwm=HWM)
    ep = lib.bind(router, transport)
    dealer = lib.socket("DEALER", rcvhwm=HWM, routing_id=b"D")
    dealer.connect(ep)
    dealer.send(b"hello")
    assert router.recv_multipart() == [b"D", b"hello"]
    pad = b"p" * PAYLOAD[transport]
    n = 50 if transport == "inproc" else 2000
    for i in range(n):  # a ROUTER never blocks: what does not fit is dropped
        router.send_multipart([b"D", b"%d" % i, pad, b"%d" % i], lib.NOBLOCK)
    got = _drain(dealer, lib)
    assert 0 < len(got) < n, len(got)
    seqs = [int(m[0]) for m in got]
    assert seqs == sorted(set(seqs))  # in order, no duplicates
    for m in got:  # each message whole: all three frames, consistent
        assert len(m) == 3 and m[1] == pad and m[2] == m[0]
    assert seqs[0] == 0  # the first messages are the ones that fit


@pytest.mark.timeout(30)
def test_router_mandatory_at_hwm_is_again(lib: Lib, transport: str) -> None:
    router = lib.socket("ROUTER", sndhwm=HWM, router_mandatory=1)
    ep = lib.bind(router, transport)
    dealer = lib.socket("DEALER", rcvhwm=HWM, routing_id=b"D")
    dealer.connect(ep)
    dealer.send(b"hello")
    assert router.recv_multipart() == [b"D", b"hello"]
    pad = b"p" * PAYLOAD[transport]
    sent = 0
    for sent in range(MAX_SENDS):
        try:
            router.send_multipart([b"D", b"%d" % sent, pad], lib.NOBLOCK)
        except lib.mod.Again:
            break
    else:
        pytest.fail(f"ROUTER_MANDATORY never reported a full pipe after {MAX_SENDS} messages")
    got = [dealer.recv_multipart() for _ in range(sent)]  # nothing was dropped
    assert [m[0] for m in got] == [b"%d" % i for i in range(sent)]


def test_sndmore_parts_held_until_last(lib: Lib, transport: str) -> None:
    pull, push = lib.pair("PULL", "PUSH", transport)
    push.send(b"first")
    assert pull.recv() == b"first"  # connected
    push.send(b"a", lib.SNDMORE)
    push.send(b"b", lib.SNDMORE)
    assert pull.poll(100, lib.POLLIN) == 0  # nothing of an unfinished message is visible
    push.send(b"c")
    assert pull.recv_multipart() == [b"a", b"b", b"c"]


def test_unfinished_message_discarded_on_close(lib: Lib, transport: str) -> None:
    pull = lib.socket("PULL")
    ep = lib.bind(pull, transport)
    push = lib.socket("PUSH", linger=1000)
    push.connect(ep)
    push.send(b"up")
    assert pull.recv() == b"up"  # connected (linger before a connection is tested in test_lifecycle)
    push.send(b"whole")
    push.send(b"half", lib.SNDMORE)
    push.close()
    assert pull.recv_multipart() == [b"whole"]
    assert pull.poll(200, lib.POLLIN) == 0
