"""Fixtures of the monitor suite: ``lib`` runs each test once with libzmq (pyzmq, the reference) and once
with zlab; ``stream_transport`` is ipc or tcp (inproc connections have no monitor events, in either)."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator

import pytest

from tests.core.support import IMPLS, Lib


@pytest.fixture(scope="session")
def monitor_ipc_dir() -> Iterator[str]:
    d = tempfile.mkdtemp(prefix="zlm", dir="/tmp" if os.path.isdir("/tmp") else None)
    try:
        yield d
    finally:
        shutil.rmtree(d, ignore_errors=True)


@pytest.fixture(params=IMPLS)
def lib(request: pytest.FixtureRequest, monitor_ipc_dir: str) -> Iterator[Lib]:
    impl = Lib(request.param, monitor_ipc_dir)
    try:
        yield impl
    finally:
        impl.teardown()


@pytest.fixture(params=("ipc", "tcp"))
def stream_transport(request: pytest.FixtureRequest) -> str:
    return request.param
