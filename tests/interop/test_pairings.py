"""zlab and libzmq (through pyzmq) on the same wire: every legal pairing of PAIR, REQ, REP, DEALER, ROUTER,
PUSH and PULL, over tcp and ipc, with zlab binding and with libzmq binding.

Each test also runs with pyzmq on both sides (``B-zmq_C-zmq``, marked ``control``): that validates the
scenario itself, so a zlab failure is zlab's. Parameter ids read ``B-<binder impl>_C-<connecter impl>``.
"""

from __future__ import annotations

import threading

import pytest

from tests.interop.scenario import (
    PAIRINGS,
    SMALL_PAYLOADS,
    big_body,
    big_payloads,
    check_frames,
    make_ends,
    run_pairing,
)

pytestmark = [pytest.mark.interop, pytest.mark.timeout(30)]

IMPL_PAIRS = [
    pytest.param(("zmq", "zmq"), id="B-zmq_C-zmq", marks=pytest.mark.control),
    pytest.param(("zlab", "zmq"), id="B-zlab_C-zmq"),
    pytest.param(("zmq", "zlab"), id="B-zmq_C-zlab"),
]
TRANSPORTS = ["tcp", "ipc"]
PAIRING_PARAMS = [pytest.param(p, id=f"{p[0]}-{p[1]}") for p in PAIRINGS]


@pytest.fixture(params=IMPL_PAIRS)
def impls(request, make_impl):
    """(binder Impl, connecter Impl)."""
    b, c = request.param
    return make_impl(b), make_impl(c)


@pytest.mark.parametrize("transport", TRANSPORTS)
@pytest.mark.parametrize("pairing", PAIRING_PARAMS)
def test_small_messages(impls, transport, pairing, new_endpoint):
    """Single and multipart messages, empty frames, the 255/256-octet boundary, in every allowed direction."""
    binder, connecter, _ = make_ends(*impls, *pairing, new_endpoint(transport))
    run_pairing(binder, connecter, SMALL_PAYLOADS)


@pytest.mark.parametrize("transport", TRANSPORTS)
@pytest.mark.parametrize("pairing", PAIRING_PARAMS)
def test_5mib_messages(impls, transport, pairing, new_endpoint):
    """A 5 MiB message alone and inside a multipart message, in every allowed direction."""
    binder, connecter, _ = make_ends(*impls, *pairing, new_endpoint(transport))
    run_pairing(binder, connecter, big_payloads())


@pytest.mark.parametrize("transport", TRANSPORTS)
@pytest.mark.parametrize("connecter_type", ["REQ", "DEALER"])
def test_router_generated_routing_id(impls, transport, connecter_type, new_endpoint):
    """A peer without ROUTING_ID: the ROUTER makes one up and routes replies with it."""
    binder, connecter, _ = make_ends(
        *impls, "ROUTER", connecter_type, new_endpoint(transport), connecter_id=None
    )
    assert binder.peer_id is None
    run_pairing(binder, connecter, SMALL_PAYLOADS[:2])
    assert binder.peer_id, "the ROUTER learnt no routing id"
    assert binder.peer_id[0] == 0, f"generated ids start with a zero octet (RFC 37), got {binder.peer_id!r}"


@pytest.mark.parametrize("transport", TRANSPORTS)
@pytest.mark.parametrize(
    "pairing", [("PULL", "PUSH"), ("PUSH", "PULL"), ("ROUTER", "DEALER")], ids=lambda p: "-".join(p)
)
def test_burst_in_order(impls, transport, pairing, new_endpoint):
    """3000 messages sent back to back (more than SNDHWM + RCVHWM, so the sender blocks on the HWM while
    the receiver drains) all arrive, once each, in order."""
    binder, connecter, _ = make_ends(*impls, *pairing, new_endpoint(transport))
    sender, receiver = (binder, connecter) if binder.type == "PUSH" else (connecter, binder)
    n = 3000
    errors: list[BaseException] = []

    def send_all() -> None:  # the sender socket is used by this thread only until it is joined
        try:
            for i in range(n):
                sender.send([b"%d" % i, b"x" * (i % 300)])
        except BaseException as exc:
            errors.append(exc)

    t = threading.Thread(target=send_all, daemon=True)
    t.start()
    try:
        for i in range(n):
            check_frames(receiver.recv(), [b"%d" % i, b"x" * (i % 300)], f"burst message {i}")
    finally:
        t.join(10)
    assert not t.is_alive(), "sender thread still blocked"
    if errors:
        raise errors[0]
    if receiver.type == "ROUTER":
        receiver.send([b"done"])
        check_frames(sender.recv(), [b"done"], "reply after burst")


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_full_duplex_large_messages(impls, transport, new_endpoint):
    """Both sides queue 24 MiB toward each other before either reads: neither may stop reading while its own
    writes are blocked (that would deadlock two peers whose kernel buffers are full)."""
    binder, connecter, _ = make_ends(*impls, "DEALER", "DEALER", new_endpoint(transport))
    binder.send([b"hello"])
    check_frames(connecter.recv(), [b"hello"], "handshake message")
    chunk = big_body(1 << 20)
    n = 24
    for i in range(n):
        binder.send([b"b%d" % i, chunk])
        connecter.send([b"c%d" % i, chunk])
    for i in range(n):
        check_frames(connecter.recv(), [b"b%d" % i, chunk], f"binder -> connecter {i}")
        check_frames(binder.recv(), [b"c%d" % i, chunk], f"connecter -> binder {i}")
