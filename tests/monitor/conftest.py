"""Fixtures of the monitor suite, the core suite's own: ``lib`` runs each test once with libzmq (pyzmq, the
reference) and once with zlab; ``stream_transport`` is ipc or tcp (inproc connections have no monitor
events, in either)."""

from __future__ import annotations

from tests.core.conftest import lib, stream_transport  # noqa: F401  (fixtures shared with core)
