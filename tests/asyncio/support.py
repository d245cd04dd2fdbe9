"""Helpers for the asyncio suite: asyncio contexts behind the interop suite's ``Impl`` face, and the interop
scenario (``tests.interop.scenario``) driven with ``await``.

``AsyncImpl("zlab")`` makes ``zlab.asyncio`` sockets, ``AsyncImpl("zmq")`` makes ``zmq.asyncio`` sockets (libzmq);
``AsyncEnd`` is the scenario's ``End`` with awaited send and receive (same envelopes, same checks).
"""

from __future__ import annotations

import asyncio
import errno
import time
from collections.abc import Coroutine
from typing import Any

from tests.interop.impls import Impl, load_impl
from tests.interop.scenario import PATTERNS, End, check_frames, first_sender, mirror

#: a bound on every asyncio.run in this suite: a hang is a failure, never a stuck run
RUN_TIMEOUT_S = 10.0


class AsyncImpl(Impl):
    """An ``Impl`` whose context makes asyncio sockets (``zlab.asyncio`` or ``zmq.asyncio``)."""

    def __init__(self, name: str, **context_kwargs: Any) -> None:
        self.name = name
        self.mod = load_impl(name)
        if name == "zmq":
            import zmq.asyncio

            self.ctx = zmq.asyncio.Context(**context_kwargs)
        else:
            import zlab.asyncio

            self.ctx = zlab.asyncio.Context(**context_kwargs)
        self.sockets: list[Any] = []


class _Given:
    """Stands in for a socket whose next message was already received (so ``End.recv``'s checks apply)."""

    def __init__(self, frames: list[Any]) -> None:
        self.frames = frames

    def recv_multipart(self) -> list[Any]:
        return self.frames


class AsyncEnd(End):
    """One socket of a pairing, driven with ``await``."""

    async def asend(self, frames: list[bytes]) -> None:
        await self.sock.send_multipart(self.envelope() + frames)

    async def arecv(self) -> list[bytes]:
        frames = await self.sock.recv_multipart()
        sock, self.sock = self.sock, _Given(frames)
        try:
            return End.recv(self)
        finally:
            self.sock = sock

    async def asend_when_routable(self, frames: list[bytes], timeout: float = 5.0) -> None:
        """ROUTER (ROUTER_MANDATORY) to a peer whose handshake may not be done yet."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                await self.asend(frames)
                return
            except self.impl.mod.ZMQError as exc:
                if exc.errno != errno.EHOSTUNREACH or time.monotonic() > deadline:
                    raise
            await asyncio.sleep(0.005)


def async_ends(binder: End, connecter: End) -> tuple[AsyncEnd, AsyncEnd]:
    """The ends ``make_ends`` built, as ``AsyncEnd``."""
    out = []
    for end in (binder, connecter):
        a = AsyncEnd(end.impl, end.sock, end.type, end.peer_type, end.peer_id)
        out.append(a)
    return out[0], out[1]


async def aexchange(
    initiator: AsyncEnd, responder: AsyncEnd, payloads: list[tuple[str, list[bytes]]]
) -> None:
    """``scenario.exchange`` with awaits: each payload one way, and its mirror back where the pattern replies."""
    pattern = PATTERNS[frozenset({initiator.type, responder.type})]
    for name, frames in payloads:
        where = f"{name} {initiator!r} -> {responder!r}"
        if initiator.type == "ROUTER":
            await initiator.asend_when_routable(frames)
        else:
            await initiator.asend(frames)
        check_frames(await responder.arecv(), frames, where)
        if pattern.reply:
            back = mirror(frames)
            await responder.asend(back)
            check_frames(await initiator.arecv(), back, f"reply to {where}")


async def arun_pairing(
    binder: AsyncEnd, connecter: AsyncEnd, payloads: list[tuple[str, list[bytes]]]
) -> None:
    """All payloads in every direction the pattern allows (``scenario.run_pairing`` with awaits)."""
    initiator, responder = first_sender(binder, connecter)
    await aexchange(initiator, responder, payloads)  # type: ignore[arg-type]
    if PATTERNS[frozenset({binder.type, connecter.type})].symmetric:
        await aexchange(responder, initiator, payloads)  # type: ignore[arg-type]


def run(coro: Coroutine[Any, Any, Any], timeout: float = RUN_TIMEOUT_S, loop_factory: Any = None) -> Any:
    """``asyncio.run(coro)`` bounded by ``timeout`` seconds (a hang raises TimeoutError)."""

    async def bounded() -> Any:
        return await asyncio.wait_for(coro, timeout)

    if loop_factory is None:
        return asyncio.run(bounded())
    loop = loop_factory()
    try:
        return loop.run_until_complete(bounded())
    finally:
        loop.close()
