"""Fixtures for the asyncio suite: the interop suite's endpoints, and asyncio contexts torn down (bounded)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.asyncio.support import AsyncImpl
from tests.interop.conftest import new_endpoint  # noqa: F401  (a fixture shared with interop)
from tests.interop.impls import teardown_all


@pytest.fixture
def make_async_impl() -> Iterator[Any]:
    """``make_async_impl("zlab")`` -> a fresh :class:`AsyncImpl`; every one made is torn down after the test."""
    made: list[AsyncImpl] = []

    def make(name: str, **context_kwargs: Any) -> AsyncImpl:
        impl = AsyncImpl(name, **context_kwargs)
        made.append(impl)
        return impl

    yield make
    teardown_all(reversed(made))
