"""``zlab.asyncio``: ``Context``, ``Socket`` and ``Poller`` for asyncio, shaped like ``zmq.asyncio``.

Owns: the asyncio front end. ``send``/``recv`` (and their multipart, string, json, pyobj and serialized
forms), ``poll`` and ``Poller.poll`` return ``asyncio.Future`` objects; RCVTIMEO/SNDTIMEO resolve a
waiting call with ``zlab.Again``.

How it works (rules):

- Layer L3. An asyncio ``Socket`` *is* a ``zlab.Socket`` (a subclass) over the same routing core: every
  operation is the blocking API's own call made with ``NOBLOCK``. There is no second implementation of
  the socket types, so the semantics are the blocking API's.
- Fast path first: an operation that would not block completes at once (a future that is already done).
  Only when it would block is a waiter queued (FIFO per direction, so awaiters are served in order and
  later calls never overtake waiting ones).
- Waiting: the socket core's ``Signal`` (fired when input arrives, room to send appears, or the socket
  closes or terminates) wakes the loop, through a wake-up descriptor watched with ``loop.add_reader``
  (``"fd"``, the default: measured faster, see ``WAKE_MODES``) or ``loop.call_soon_threadsafe`` from a
  signal watcher (``"threadsafe"``, no descriptor). The watcher is armed only while something waits,
  so one loop serves any number of sockets without a thread per socket. Before waiting for input,
  ``core.prepare_wait()`` hands connections a blocking ``recv`` was reading directly back to the I/O
  thread, so input reaches the inbox (and the watcher) in the background.
- Cancellation loses nothing: a waiting receive takes its message only when it can be handed to a
  future that is not cancelled, and if the *task* awaiting a resolved receive is cancelled before it ran
  (``wait_for`` timing out in the same loop iteration), the message is put back at the front of the
  socket, for the next receive.
"""

from __future__ import annotations

import asyncio
import json
import pickle
import threading
from asyncio.events import _get_running_loop
from collections import deque
from collections.abc import Callable
from typing import Any, ClassVar

from zlab.constants import Flag, PollEvent
from zlab.context import Context as _SyncContext
from zlab.errors import Again, ContextTerminated
from zlab.frame import Frame
from zlab.pipe import Signal, WakeFd
from zlab.poll import Poller as _SyncPoller
from zlab.socket import Socket as _SyncSocket

__all__ = ["WAKE_MODES", "Context", "Poller", "Socket"]

NOBLOCK = int(Flag.NOBLOCK)
POLLIN = int(PollEvent.POLLIN)
POLLOUT = int(PollEvent.POLLOUT)

#: How a socket's state change reaches the loop. "fd": the signal watcher writes to a pipe the loop
#: watches with ``add_reader`` (once until the loop drained it; two descriptors per socket while a
#: loop uses it); "threadsafe": it calls ``loop.call_soon_threadsafe`` (once until the loop ran the
#: wake-up). Measured on the 2-core project machine (tcp REQ/REP 64 B from asyncio against a libzmq
#: echo process, both pinned to one CPU, 6 alternating runs of 5000 round trips): one-way p50 median
#: 99 us with "fd", 108 us with "threadsafe" (fd lower in 4 of 6 pairs; zmq.asyncio 100 us).
WAKE_MODES = ("fd", "threadsafe")
_queue_purge_len = 64  # a waiter queue this long is cleared of cancelled futures


def _loop() -> asyncio.AbstractEventLoop:
    loop = _get_running_loop()
    if loop is None:  # called outside a coroutine (``loop.run_until_complete(sock.recv())``)
        loop = asyncio.get_event_loop_policy().get_event_loop()
    return loop


def _done(loop: asyncio.AbstractEventLoop, value: Any = None, exc: BaseException | None = None) -> Any:
    fut = loop.create_future()
    if exc is None:
        fut.set_result(value)
    else:
        fut.set_exception(exc)
    return fut


class _RecvFuture(asyncio.Future):
    """A receive's future: if the task awaiting it is cancelled after the message arrived but before
    the task ran, the message goes back to the socket instead of being lost."""

    _back: tuple[Socket, str, Any] | None = None

    def __await__(self) -> Any:
        if not self.done():
            self._asyncio_future_blocking = True
            try:
                yield self
            except BaseException:  # CancelledError thrown into the awaiting task
                back = self._back
                if back is not None and self.done() and not self.cancelled():
                    self._back = None
                    back[0]._give_back(back[1], back[2])
                raise
        return self.result()

    __iter__ = __await__


class _Waker:
    """Calls ``callback`` on the loop's thread after ``signal`` fired, while armed."""

    __slots__ = ("armed", "callback", "loop", "scheduled", "signal", "thread", "wake")

    def __init__(
        self, loop: asyncio.AbstractEventLoop, signal: Signal, callback: Callable[[], Any], mode: str
    ) -> None:
        if mode not in WAKE_MODES:
            raise ValueError(f"unknown wake mode {mode!r} (valid: {', '.join(WAKE_MODES)})")
        self.loop = loop
        self.signal = signal
        self.callback = callback
        self.armed = False
        self.scheduled = False
        self.thread = threading.get_ident()  # made on the loop's thread
        self.wake: WakeFd | None = None
        if mode == "fd":
            self.wake = WakeFd(signal)
            loop.add_reader(self.wake.fd, self._on_fd)

    def arm(self) -> None:
        """Wake the loop on the signal's next notify (and every one after, until disarmed)."""
        if not self.armed:
            self.armed = True
            if self.wake is not None:
                self.wake.arm()
            else:
                self.signal.watchers.append(self._notify)

    def disarm(self) -> None:
        """Stop waking the loop."""
        if self.armed:
            self.armed = False
            if self.wake is not None:
                self.wake.disarm()
            else:
                try:
                    self.signal.watchers.remove(self._notify)
                except ValueError:
                    pass

    def _notify(self) -> None:  # any thread: the I/O thread, another socket's user, the loop itself
        if self.scheduled:
            return
        self.scheduled = True
        try:
            if threading.get_ident() == self.thread:
                self.loop.call_soon(self._run)
            else:
                self.loop.call_soon_threadsafe(self._run)
        except RuntimeError:  # the loop is closed: nobody is waiting any more
            pass

    def _run(self) -> None:
        self.scheduled = False
        self.callback()

    def _on_fd(self) -> None:
        wake = self.wake
        assert wake is not None
        wake.drain()  # first, then look: a fire after the drain leaves the descriptor readable
        self.callback()

    def close(self) -> None:
        """Disarm and release the descriptor (on the loop's thread, or with the loop closed)."""
        self.disarm()
        wake = self.wake
        if wake is not None:
            self.wake = None
            try:
                if not self.loop.is_closed():
                    self.loop.remove_reader(wake.fd)
            except Exception:
                pass
            wake.close()


# a waiter: (future, the non-blocking call, its arguments, post-processing or None, timer or None, what
# to give back on a late cancel: "frame", "multipart" or None for sends)
_Waiter = tuple


class Socket(_SyncSocket):
    """A zlab socket whose send, recv and poll methods return ``asyncio.Future`` objects.

    Create it with ``zlab.asyncio.Context().socket(zlab.REQ)``, or wrap a blocking ``zlab.Socket`` with
    ``Socket.from_socket(sock)`` (both objects then share one socket: the blocking calls still work).
    """

    #: how a socket's state changes wake the loop (see ``WAKE_MODES``), unless its context says
    wake_mode: ClassVar[str] = "fd"

    def __init__(self, context: Any = None, socket_type: int = -1, **kwargs: Any) -> None:
        if isinstance(context, _SyncSocket):  # Socket(sync_socket): the same socket, asyncio methods
            self.__dict__ = context.__dict__  # one state, so both APIs see every message and option
            if "_a_recvq" in self.__dict__:  # a second view of the same socket shares the first's waiters
                return
            self._a_borrowed: _SyncSocket | None = context  # keeps the blocking object (the owner) alive
        else:
            super().__init__(context, socket_type)
            self._a_borrowed = None
        self._a_loop: asyncio.AbstractEventLoop | None = None
        self._a_waker: _Waker | None = None
        self._a_recvq: deque[_Waiter] = deque()
        self._a_sendq: deque[_Waiter] = deque()
        self._a_mode = getattr(self.context, "wake_mode", None) or type(self).wake_mode
        for name, value in kwargs.items():
            setattr(self, name, value)

    @classmethod
    def from_socket(cls, socket: _SyncSocket) -> Socket:
        """An asyncio view of a blocking ``zlab.Socket``: one socket, two APIs (as pyzmq's)."""
        return cls(socket)

    # -- the loop and the waker ----------------------------------------------------------------
    def _a_loop_now(self) -> asyncio.AbstractEventLoop:
        loop = _loop()
        if loop is not self._a_loop:
            self._a_rebind(loop)
        return loop

    def _a_rebind(self, loop: asyncio.AbstractEventLoop) -> None:
        """First use, or use from another loop: waiters of the old loop are cancelled."""
        self._a_release()
        self._a_loop = loop

    def _a_release(self, exc: BaseException | None = None) -> None:
        """Drop the waker and every waiter (cancelled, or failed with ``exc``, on their loop's thread)."""
        waker, old = self._a_waker, self._a_loop
        self._a_waker = None
        waiters = [*self._a_recvq, *self._a_sendq]
        self._a_recvq.clear()
        self._a_sendq.clear()
        if old is None or old.is_closed():
            if waker is not None:
                waker.close()
            return

        def release() -> None:
            for w in waiters:
                if w[4] is not None:
                    w[4].cancel()
                if w[0].done():
                    continue
                if exc is None:
                    w[0].cancel()
                else:
                    w[0].set_exception(exc)
            if waker is not None:
                waker.close()

        if waker is not None and threading.get_ident() != waker.thread:
            try:
                old.call_soon_threadsafe(release)
                return
            except RuntimeError:  # closed meanwhile
                pass
        release()

    def _a_wait(self, queue: deque[_Waiter], waiter: _Waiter, recv: bool) -> Any:
        """Queue ``waiter`` and watch the socket; resolve at once what can be resolved already."""
        if len(queue) >= _queue_purge_len:
            live = [w for w in queue if not w[0].done()]
            queue.clear()
            queue.extend(live)
        queue.append(waiter)
        waker = self._a_waker
        if waker is None:
            assert self._a_loop is not None
            waker = self._a_waker = _Waker(self._a_loop, self.core.signal, self._a_process, self._a_mode)
        waker.arm()
        self._a_process()  # the state may have changed before the watcher was armed
        return waiter[0]

    def _a_timer(self, fut: asyncio.Future, timeout: float | None) -> asyncio.TimerHandle | None:
        if timeout is None:
            return None
        assert self._a_loop is not None
        return self._a_loop.call_later(timeout, _expire, fut)

    def _a_process(self) -> None:
        """Serve waiters in order while their operation would not block; then wait again (or disarm)."""
        if self._closed:
            self._a_release(ContextTerminated() if self.core.terminated else None)
            return
        for queue in (self._a_recvq, self._a_sendq):
            while queue:
                fut, call, args, post, timer, back = queue[0]
                if fut.done():  # cancelled, or timed out
                    queue.popleft()
                    continue
                try:
                    raw = call(*args)
                except Again:
                    break
                except Exception as exc:
                    queue.popleft()
                    if timer is not None:
                        timer.cancel()
                    fut.set_exception(exc)
                    continue
                queue.popleft()
                if timer is not None:
                    timer.cancel()
                if post is None:
                    value = raw
                else:
                    try:
                        value = post(raw)
                    except Exception as exc:
                        fut.set_exception(exc)
                        continue
                if back is not None:
                    fut._back = (self, back, raw)
                fut.set_result(value)
        waker = self._a_waker
        if self._a_recvq:
            self.core.prepare_wait()  # input must reach the inbox, not wait for a direct reader
        elif not self._a_sendq and waker is not None:
            waker.disarm()

    def _give_back(self, kind: str, raw: Any) -> None:
        """Put a received message (or frame) back at the front of the socket, for the next receive."""
        if kind == "frame":
            data = raw.bytes if isinstance(raw, Frame) else raw
            rparts = self._rparts
            if rparts is None:
                self._rparts = [data]
            else:
                rparts.append(data)
        else:
            frames = [f.bytes if isinstance(f, Frame) else f for f in raw]
            self._rparts = [*(self._rparts or []), *reversed(frames)]
        if self._a_recvq:
            self._a_process()

    # -- receiving -----------------------------------------------------------------------------
    def _a_recv(self, call: Callable[..., Any], args: tuple, flags: int, post: Any, back: str | None) -> Any:
        loop = self._a_loop_now()
        if not self._a_recvq:
            try:
                raw = call(*args)
            except Again as exc:
                if flags & NOBLOCK or self._rcvtimeo == 0:
                    return _done(loop, exc=exc)
            except Exception as exc:
                return _done(loop, exc=exc)
            else:
                if post is None:
                    return _done(loop, raw)
                try:
                    return _done(loop, post(raw))
                except Exception as exc:
                    return _done(loop, exc=exc)
        elif flags & NOBLOCK:
            return _done(loop, exc=Again())
        fut = _RecvFuture(loop=loop)
        return self._a_wait(
            self._a_recvq, (fut, call, args, post, self._a_timer(fut, self._rcvtimeo), back), True
        )

    def recv(self, flags: int = 0, copy: bool = True, track: bool = False) -> Any:
        """A future for the next frame (RCVMORE tells whether more frames of its message follow)."""
        return self._a_recv(_SyncSocket.recv, (self, flags | NOBLOCK, copy, track), flags, None, "frame")

    def recv_multipart(self, flags: int = 0, copy: bool = True, track: bool = False) -> Any:
        """A future for every frame of the next message."""
        return self._a_recv(
            _recv_multipart_now, (self, flags | NOBLOCK, copy, track), flags, None, "multipart"
        )

    def recv_into(self, buffer: Any, /, *, nbytes: int = 0, flags: int = 0) -> Any:
        """A future for the size of the next frame, stored into ``buffer`` (truncated to ``nbytes``
        or the buffer's size, as ``zlab.Socket.recv_into``)."""
        return self._a_recv(_recv_into_now, (self, buffer, nbytes, flags | NOBLOCK), flags, None, None)

    def recv_string(self, flags: int = 0, encoding: str = "utf-8") -> Any:
        """A future for the next frame, decoded."""
        return self._a_recv(
            _SyncSocket.recv, (self, flags | NOBLOCK), flags, lambda b: b.decode(encoding), "frame"
        )

    recv_unicode = recv_string

    def recv_json(self, flags: int = 0, **kwargs: Any) -> Any:
        """A future for the next frame, parsed as JSON."""
        return self._a_recv(
            _SyncSocket.recv, (self, flags | NOBLOCK), flags, lambda b: json.loads(b, **kwargs), "frame"
        )

    def recv_pyobj(self, flags: int = 0) -> Any:
        """A future for the next frame, unpickled (trusted peers only)."""
        return self._a_recv(_SyncSocket.recv, (self, flags | NOBLOCK), flags, pickle.loads, "frame")

    def recv_serialized(self, deserialize: Any, flags: int = 0, copy: bool = True) -> Any:
        """A future for ``deserialize(frames)`` of the next message."""
        return self._a_recv(
            _recv_multipart_now, (self, flags | NOBLOCK, copy), flags, deserialize, "multipart"
        )

    # -- sending -------------------------------------------------------------------------------
    def _a_send(self, call: Callable[..., Any], args: tuple, flags: int) -> Any:
        loop = self._a_loop_now()
        if not self._a_sendq:
            try:
                return _done(loop, call(*args))
            except Again as exc:
                if flags & NOBLOCK or self._sndtimeo == 0:
                    return _done(loop, exc=exc)
            except Exception as exc:
                return _done(loop, exc=exc)
        elif flags & NOBLOCK:
            return _done(loop, exc=Again())
        fut = loop.create_future()
        return self._a_wait(
            self._a_sendq, (fut, call, args, None, self._a_timer(fut, self._sndtimeo), None), False
        )

    def send(
        self,
        data: Any,
        flags: int = 0,
        copy: bool = True,
        track: bool = False,
        routing_id: int | None = None,  # accepted as by the blocking send (draft sockets only)
        group: str | None = None,
        **kwargs: Any,
    ) -> Any:
        """A future that resolves once the frame is queued (with SNDMORE, more frames follow)."""
        return self._a_send(_SyncSocket.send, (self, data, flags | NOBLOCK, copy, track), flags)

    def send_multipart(
        self, msg_parts: Any, flags: int = 0, copy: bool = True, track: bool = False, **kwargs: Any
    ) -> Any:
        """A future that resolves once the whole message is queued."""
        parts = list(msg_parts)  # a generator must not be consumed by a failed attempt
        return self._a_send(_SyncSocket.send_multipart, (self, parts, flags | NOBLOCK, copy, track), flags)

    def send_string(
        self, u: str, flags: int = 0, copy: bool = True, encoding: str = "utf-8", **kw: Any
    ) -> Any:
        """Send a str, encoded."""
        if not isinstance(u, str):
            raise TypeError(f"send_string takes str, not {type(u).__name__}")
        return self.send(u.encode(encoding), flags, copy)

    send_unicode = send_string

    def send_json(self, obj: Any, flags: int = 0, **kwargs: Any) -> Any:
        """Send an object as JSON."""
        return self.send(json.dumps(obj, **kwargs).encode("utf-8"), flags)

    def send_pyobj(self, obj: Any, flags: int = 0, protocol: int = pickle.DEFAULT_PROTOCOL, **kw: Any) -> Any:
        """Send a picklable object (trusted peers only)."""
        return self.send(pickle.dumps(obj, protocol), flags)

    def send_serialized(self, msg: Any, serialize: Any, flags: int = 0, copy: bool = True, **kw: Any) -> Any:
        """Send ``serialize(msg)`` (a list of frames) as one message."""
        return self.send_multipart(serialize(msg), flags, copy)

    # -- polling and closing -------------------------------------------------------------------
    def poll(self, timeout: int | None = None, flags: int = POLLIN) -> Any:
        """A future for the events among ``flags`` that are ready within ``timeout`` ms (0 if none)."""
        self._check()
        poller = Poller()
        poller.register(self, flags)
        inner = poller.poll(timeout)
        loop = inner.get_loop()
        outer = loop.create_future()

        def unwrap(f: asyncio.Future) -> None:
            if outer.done():
                return
            if f.cancelled():
                outer.cancel()
            elif f.exception() is not None:
                outer.set_exception(f.exception())
            else:
                outer.set_result(dict(f.result()).get(self, 0))

        def cancel_inner(f: asyncio.Future) -> None:
            if not inner.done():
                inner.cancel()

        inner.add_done_callback(unwrap)
        outer.add_done_callback(cancel_inner)
        return outer

    def close(self, linger: int | None = None) -> None:
        """Close the socket; futures still waiting are cancelled (failed with ContextTerminated if the
        context is terminating)."""
        if not self._closed:
            self._a_release(ContextTerminated() if self.core.terminated else None)
        super().close(linger)

    def __del__(self) -> None:
        if self.__dict__.get("_a_borrowed") is None:  # a view never closes its owner's socket
            super().__del__()


def _recv_into_now(sock: Socket, buffer: Any, nbytes: int, flags: int) -> int:
    """The blocking API's recv_into (keyword-only arguments, as pyzmq's)."""
    return _SyncSocket.recv_into(sock, buffer, nbytes=nbytes, flags=flags)


def _recv_multipart_now(sock: Socket, flags: int, copy: bool = True, track: bool = False) -> list:
    """The blocking API's recv_multipart, with the rest of a message begun frame by frame taken by the
    blocking ``recv`` (``zlab.Socket.recv_multipart`` would call the asyncio ``recv``)."""
    if sock._rparts:
        frames = [_SyncSocket.recv(sock, flags, copy)]
        while sock._rparts:
            frames.append(_SyncSocket.recv(sock, flags, copy))
        return frames
    return _SyncSocket.recv_multipart(sock, flags, copy, track)


def _expire(fut: asyncio.Future) -> None:
    """RCVTIMEO/SNDTIMEO passed: the waiting call fails with Again (it stays queued, done, and is skipped)."""
    if not fut.done():
        fut.set_exception(Again())


class Poller(_SyncPoller):
    """Poll zlab sockets (asyncio or blocking) and file descriptors; ``poll()`` returns a future."""

    def poll(self, timeout: float | None = None) -> Any:
        """A future for ``[(socket_or_fd, events), ...]``, resolved when any is ready or after
        ``timeout`` ms (``None`` or negative: no limit) with what is ready then (maybe ``[]``)."""
        loop = _loop()
        try:
            ready = _SyncPoller.poll(self, 0)
        except Exception as exc:
            return _done(loop, exc=exc)
        if ready or timeout == 0:
            return _done(loop, ready)
        return _PollWait(self, loop, timeout).future


class _PollWait:
    """One pending ``Poller.poll``: watchers on each socket's signal, readers/writers on each fd."""

    def __init__(self, poller: Poller, loop: asyncio.AbstractEventLoop, timeout: float | None) -> None:
        self.poller = poller
        self.loop = loop
        self.future = loop.create_future()
        self.wakers: list[_Waker] = []
        self.fds: list[int] = []
        self.timer: asyncio.TimerHandle | None = None
        self.in_socks: list[_SyncSocket] = []
        for obj, flags in poller.sockets:
            if isinstance(obj, _SyncSocket):
                if obj.closed:
                    continue
                waker = _Waker(loop, obj.core.signal, self.check, "threadsafe")
                waker.arm()
                self.wakers.append(waker)
                if flags & POLLIN:
                    self.in_socks.append(obj)
            else:
                fd = obj if isinstance(obj, int) else obj.fileno()
                if flags & POLLIN:
                    loop.add_reader(fd, self.check)
                if flags & POLLOUT:
                    loop.add_writer(fd, self.check)
                self.fds.append(fd)
        if timeout is not None and timeout > 0:
            self.timer = loop.call_later(timeout / 1000.0, self.expire)
        self.future.add_done_callback(self.cleanup)
        self.check()

    def check(self) -> None:
        """Anything ready? Resolve; otherwise make sure input keeps reaching the inboxes."""
        fut = self.future
        if fut.done():
            return
        try:
            ready = _SyncPoller.poll(self.poller, 0)
        except Exception as exc:
            fut.set_exception(exc)
            return
        if ready:
            fut.set_result(ready)
            return
        for sock in self.in_socks:  # after the check: it may have taken reads for itself
            if not sock.closed:
                sock.core.prepare_wait()

    def expire(self) -> None:
        if not self.future.done():
            self.future.set_result([])

    def cleanup(self, fut: asyncio.Future) -> None:
        for waker in self.wakers:
            waker.close()
        if not self.loop.is_closed():
            for fd in self.fds:
                self.loop.remove_reader(fd)
                self.loop.remove_writer(fd)
        if self.timer is not None:
            self.timer.cancel()


class Context(_SyncContext):
    """A zlab context whose sockets are :class:`zlab.asyncio.Socket`."""

    _socket_class: ClassVar[type[_SyncSocket]] = Socket
    _instance: ClassVar[_SyncContext | None] = None  # not shared with zlab.Context.instance()
    _instance_pid: ClassVar[int | None] = None
    wake_mode: str | None

    def __init__(self, io_threads: int = 1, wake_mode: str | None = None, **kwargs: Any) -> None:
        if wake_mode is not None and wake_mode not in WAKE_MODES:
            raise ValueError(f"unknown wake mode {wake_mode!r} (valid: {', '.join(WAKE_MODES)})")
        super().__init__(io_threads, **kwargs)
        #: how its sockets wake the loop (None: ``Socket.wake_mode``)
        self.wake_mode = wake_mode
