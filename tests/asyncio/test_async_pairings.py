"""zlab.asyncio and libzmq (zmq.asyncio) on the same wire, driven from one event loop: every legal pairing of
PAIR, REQ, REP, DEALER, ROUTER, PUSH and PULL, over tcp and ipc, with zlab binding and with libzmq binding.

The ``B-zmq_C-zmq`` parameters (marked ``control``) run zmq.asyncio on both sides and validate the scenario.
"""

from __future__ import annotations

import pytest

from tests.asyncio.support import arun_pairing, async_ends, run
from tests.interop.scenario import PAIRINGS, SMALL_PAYLOADS, big_payloads, make_ends

pytestmark = [pytest.mark.interop, pytest.mark.timeout(30)]

IMPL_PAIRS = [
    pytest.param(("zmq", "zmq"), id="B-zmq_C-zmq", marks=pytest.mark.control),
    pytest.param(("zlab", "zmq"), id="B-zlab_C-zmq"),
    pytest.param(("zmq", "zlab"), id="B-zmq_C-zlab"),
]
PAIRING_PARAMS = [pytest.param(p, id=f"{p[0]}-{p[1]}") for p in PAIRINGS]


@pytest.fixture(params=IMPL_PAIRS)
def aimpls(request, make_async_impl):
    b, c = request.param
    return make_async_impl(b), make_async_impl(c)


@pytest.mark.parametrize("transport", ["tcp", "ipc"])
@pytest.mark.parametrize("pairing", PAIRING_PARAMS)
def test_small_messages(aimpls, transport, pairing, new_endpoint):
    """Single and multipart messages, empty frames, the 255/256-octet boundary, every allowed direction."""
    binder, connecter = async_ends(*make_ends(*aimpls, *pairing, new_endpoint(transport))[:2])
    run(arun_pairing(binder, connecter, SMALL_PAYLOADS))


@pytest.mark.parametrize("transport", ["tcp", "ipc"])
def test_5mib_messages(aimpls, transport, new_endpoint):
    """Large messages (read in several pieces by the I/O thread) through the asyncio front end."""
    binder, connecter = async_ends(*make_ends(*aimpls, "DEALER", "ROUTER", new_endpoint(transport))[:2])
    run(arun_pairing(binder, connecter, big_payloads()))
