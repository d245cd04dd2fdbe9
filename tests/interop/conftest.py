"""Fixtures for the interop suite: one socket factory per implementation (``zmq`` = libzmq through pyzmq,
``zlab``), endpoints for tcp and ipc, and bounded teardown.

zlab is imported inside the fixtures (``impls.load_impl``), so the suite collects and its zmq-zmq control
runs while the zlab core is still missing; the zlab parameters skip until ``zlab.Context`` exists.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Iterator
from typing import Any

import pytest

from tests.interop.impls import Impl, teardown_all

IPC_PATH_MAX_BYTES = 107


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "control: the pyzmq-pyzmq baseline of an interop test (validates the test itself)"
    )


@pytest.fixture
def make_impl() -> Iterator[Any]:
    """``make_impl("zlab")`` -> a fresh :class:`Impl`; every one made is torn down after the test."""
    made: list[Impl] = []

    def make(name: str) -> Impl:
        impl = Impl(name)
        made.append(impl)
        return impl

    yield make
    teardown_all(reversed(made))


_ipc_counter = itertools.count()


@pytest.fixture
def new_endpoint(short_ipc_dir: str) -> Any:  # short_ipc_dir: tests/conftest.py
    """``new_endpoint("tcp")`` -> ``tcp://127.0.0.1:*``; ``new_endpoint("ipc")`` -> a fresh ``ipc://`` path."""

    def make(transport: str) -> str:
        if transport == "tcp":
            return "tcp://127.0.0.1:*"
        assert transport == "ipc", transport
        path = os.path.join(short_ipc_dir, f"{os.getpid()}-{next(_ipc_counter)}.s")
        assert len(os.fsencode(path)) <= IPC_PATH_MAX_BYTES, path
        return f"ipc://{path}"

    return make
