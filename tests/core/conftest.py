"""Fixtures of the core suite: ``lib`` (one implementation: ``zmq`` first, the reference, then ``zlab``)
and ``transport`` (inproc, ipc, tcp). A test that takes ``lib`` runs once per implementation, so every
behaviour zlab is held to is first checked against libzmq.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.core.support import IMPLS, TRANSPORTS, Lib


@pytest.fixture(params=IMPLS)
def lib(request: pytest.FixtureRequest, short_ipc_dir: str) -> Iterator[Lib]:
    """A context of ``zmq`` (libzmq, the reference) or ``zlab``, torn down (bounded) after the test."""
    impl = Lib(request.param, short_ipc_dir)
    try:
        yield impl
    finally:
        impl.teardown()


@pytest.fixture(params=TRANSPORTS)
def transport(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture(params=("ipc", "tcp"))
def stream_transport(request: pytest.FixtureRequest) -> str:
    """The transports with connections, reconnects and kernel buffers."""
    return request.param
