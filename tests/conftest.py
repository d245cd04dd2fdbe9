"""Shared pytest fixtures: contexts, sockets and endpoints for zlab and pyzmq tests.

Every fixture that owns a resource releases it at teardown even when the test failed, and never hangs doing
so: a context that cannot terminate within ``TEARDOWN_TIMEOUT_S`` is reported as an error instead.
zlab and pyzmq are imported inside the fixtures, so this file loads even while parts of zlab are missing.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

TEARDOWN_TIMEOUT_S = 10.0
# sockaddr_un.sun_path is 108 bytes including the terminating NUL.
IPC_PATH_MAX_BYTES = 107
LAST_ENDPOINT = 32  # ZMQ_LAST_ENDPOINT, the same number in zlab and libzmq

try:  # Hypothesis is a test dependency; configure it when present
    from hypothesis import HealthCheck, settings

    # Timing is bounded by pytest-timeout; per-example deadlines only make a loaded 2-core machine flaky.
    settings.register_profile("dev", deadline=None)
    settings.register_profile(
        "ci", deadline=None, print_blob=True, suppress_health_check=[HealthCheck.too_slow]
    )
    settings.load_profile("ci" if os.environ.get("CI") else "dev")
except ImportError:  # pragma: no cover
    pass


def pytest_report_header(config: pytest.Config) -> list[str]:
    """Say which libzmq the interop tests run against."""
    try:
        import zmq
    except ImportError:
        return ["pyzmq: not installed (interop tests skip)"]
    return [f"pyzmq {zmq.pyzmq_version()}, libzmq {zmq.zmq_version()}"]


# --------------------------------------------------------------------------------------------- contexts


def _destroy_context(ctx: Any, timeout: float = TEARDOWN_TIMEOUT_S) -> None:
    """Close every socket of ``ctx`` with linger 0 and terminate it, in a helper thread, bounded in time."""
    errors: list[BaseException] = []

    def destroy() -> None:
        try:
            if hasattr(ctx, "destroy"):
                ctx.destroy(linger=0)
            else:
                ctx.term()
        except BaseException as exc:  # reported below, in the test's thread
            errors.append(exc)

    t = threading.Thread(target=destroy, name=f"destroy-{type(ctx).__name__}", daemon=True)
    t.start()
    t.join(timeout)
    if t.is_alive():
        raise RuntimeError(
            f"{ctx!r} did not terminate within {timeout:.0f} s. A socket with unsent messages was probably "
            "left open and garbage-collected (so destroy() could not set its LINGER to 0): create sockets "
            "with the `sockets` fixture or close them in the test"
        )
    if errors:
        raise errors[0]


@pytest.fixture
def ctx() -> Iterator[Any]:
    """A fresh ``zlab.Context``, destroyed with linger 0 after the test."""
    import zlab

    c = zlab.Context()
    try:
        yield c
    finally:
        _destroy_context(c)


@pytest.fixture
def zmq_ctx() -> Iterator[Any]:
    """A fresh pyzmq (libzmq) ``Context``, destroyed with linger 0 after the test."""
    zmq = pytest.importorskip("zmq")
    c = zmq.Context()
    try:
        yield c
    finally:
        _destroy_context(c)


# --------------------------------------------------------------------------------------------- sockets


def _close(sock: Any) -> None:
    try:
        sock.close(linger=0)
    except TypeError:  # a close() without the linger keyword
        sock.setsockopt(17, 0)  # LINGER
        sock.close()


class Sockets:
    """Makes sockets from any context (zlab or pyzmq) and closes all of them, linger 0, at teardown.

    ``sockets(ctx, zlab.ROUTER, router_mandatory=1)`` creates a socket and sets each option named by a
    keyword (the constant of the same name, upper-cased, from the context's own library).
    """

    def __init__(self) -> None:
        self._open: list[Any] = []

    def __call__(self, context: Any, socket_type: int, **options: Any) -> Any:
        sock = context.socket(socket_type)
        self._open.append(sock)
        if options:
            lib = __import__(type(context).__module__.split(".")[0])
            for name, value in options.items():
                sock.setsockopt(getattr(lib, name.upper()), value)
        return sock

    def pair(self, context: Any, bind_type: int, connect_type: int, endpoint: str) -> tuple[Any, Any]:
        """A bound socket and a socket connected to it; ``endpoint`` may use ``tcp://127.0.0.1:*``."""
        a = self(context, bind_type)
        a.bind(endpoint)
        if endpoint.endswith(":*"):
            endpoint = last_endpoint(a)
        b = self(context, connect_type)
        b.connect(endpoint)
        return a, b

    def close_all(self) -> None:
        errors: list[BaseException] = []
        while self._open:
            sock = self._open.pop()
            try:
                if not getattr(sock, "closed", False):
                    _close(sock)
            except BaseException as exc:
                errors.append(exc)
        if errors:
            raise errors[0]


@pytest.fixture
def sockets() -> Iterator[Sockets]:
    """``sockets(ctx, TYPE, **options)``: sockets that are closed (linger 0) after the test."""
    s = Sockets()
    try:
        yield s
    finally:
        s.close_all()


# --------------------------------------------------------------------------------------------- endpoints


def last_endpoint(sock: Any) -> str:
    """The endpoint ``sock`` last bound, as ``str`` (libzmq's LAST_ENDPOINT, with the port filled in)."""
    ep = sock.getsockopt(LAST_ENDPOINT)
    if isinstance(ep, bytes):
        ep = ep.decode()
    return ep.rstrip("\x00")


def bind_tcp(sock: Any, host: str = "127.0.0.1") -> str:
    """Bind ``sock`` to an ephemeral TCP port on ``host`` and return the real endpoint."""
    sock.bind(f"tcp://{host}:*")
    return last_endpoint(sock)


@pytest.fixture
def tcp_endpoint() -> Any:
    """``tcp_endpoint(sock)`` binds ``sock`` to ``tcp://127.0.0.1:*`` and returns the bound endpoint."""
    return bind_tcp


@pytest.fixture
def ipc_dir(tmp_path: Path) -> Iterator[Path]:
    """A directory for Unix socket files, short enough for the 107-byte ``sun_path`` limit."""
    # Leave room for a file name of ~40 bytes.
    if len(os.fsencode(tmp_path)) <= IPC_PATH_MAX_BYTES - 40:
        yield tmp_path
        return
    d = Path(tempfile.mkdtemp(prefix="zl", dir="/tmp" if os.path.isdir("/tmp") else None))
    try:
        yield d
    finally:
        shutil.rmtree(d, ignore_errors=True)


@pytest.fixture(scope="session")
def short_ipc_dir() -> Iterator[str]:
    """One directory under /tmp with a short path for the whole session, for Unix socket files (sun_path
    holds 107 bytes); the suites' own endpoint helpers name the files in it."""
    d = tempfile.mkdtemp(prefix="zli", dir="/tmp" if os.path.isdir("/tmp") else None)
    try:
        yield d
    finally:
        shutil.rmtree(d, ignore_errors=True)


@pytest.fixture
def ipc_path(ipc_dir: Path) -> str:
    """A unique, not yet existing path for a Unix socket."""
    p = str(ipc_dir / f"{uuid.uuid4().hex[:12]}.sock")
    assert len(os.fsencode(p)) <= IPC_PATH_MAX_BYTES, p
    return p


@pytest.fixture
def ipc_endpoint(ipc_path: str) -> str:
    """A unique ``ipc://`` endpoint."""
    return f"ipc://{ipc_path}"
