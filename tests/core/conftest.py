"""Fixtures of the core suite: ``lib`` (one implementation: ``zmq`` first, the reference, then ``zlab``)
and ``transport`` (inproc, ipc, tcp). A test that takes ``lib`` runs once per implementation, so every
behaviour zlab is held to is first checked against libzmq.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator

import pytest

from tests.core.support import IMPLS, TRANSPORTS, Lib


@pytest.fixture(scope="session")
def core_ipc_dir() -> Iterator[str]:
    """A short directory for Unix socket files (sun_path holds 107 bytes)."""
    d = tempfile.mkdtemp(prefix="zlc", dir="/tmp" if os.path.isdir("/tmp") else None)
    try:
        yield d
    finally:
        shutil.rmtree(d, ignore_errors=True)


@pytest.fixture(params=IMPLS)
def lib(request: pytest.FixtureRequest, core_ipc_dir: str) -> Iterator[Lib]:
    """A context of ``zmq`` (libzmq, the reference) or ``zlab``, torn down (bounded) after the test."""
    impl = Lib(request.param, core_ipc_dir)
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
