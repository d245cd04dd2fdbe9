"""Fixtures for the interop suite: one socket factory per implementation (``zmq`` = libzmq through pyzmq,
``zlab``), endpoints for tcp and ipc, and bounded teardown.

zlab is imported inside the fixtures (``impls.load_impl``), so the suite collects and its zmq-zmq control
runs while the zlab core is still missing; the zlab parameters skip until ``zlab.Context`` exists.
"""

from __future__ import annotations

import itertools
import os
import shutil
import tempfile
from collections.abc import Iterator
from typing import Any

import pytest

from tests.interop.impls import Impl

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
    errors: list[BaseException] = []
    for impl in reversed(made):
        try:
            impl.teardown()
        except BaseException as exc:
            errors.append(exc)
    if errors:
        raise errors[0]


_ipc_counter = itertools.count()


@pytest.fixture(scope="session")
def short_ipc_dir() -> Iterator[str]:
    """A directory under /tmp with a short path, for Unix sockets (sun_path holds 107 bytes)."""
    d = tempfile.mkdtemp(prefix="zli", dir="/tmp" if os.path.isdir("/tmp") else None)
    try:
        yield d
    finally:
        shutil.rmtree(d, ignore_errors=True)


@pytest.fixture
def new_endpoint(short_ipc_dir: str) -> Any:
    """``new_endpoint("tcp")`` -> ``tcp://127.0.0.1:*``; ``new_endpoint("ipc")`` -> a fresh ``ipc://`` path."""

    def make(transport: str) -> str:
        if transport == "tcp":
            return "tcp://127.0.0.1:*"
        assert transport == "ipc", transport
        path = os.path.join(short_ipc_dir, f"{os.getpid()}-{next(_ipc_counter)}.s")
        assert len(os.fsencode(path)) <= IPC_PATH_MAX_BYTES, path
        return f"ipc://{path}"

    return make
