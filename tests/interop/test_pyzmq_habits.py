"""pyzmq habits, run unchanged with ``import zlab as zmq`` against a libzmq peer (issue 14's check).

Each habit is a function ``habit(lab)`` written the way a pyzmq program is: ``lab.zmq`` is the module
under test (pyzmq itself for the control run, then zlab), ``lab.socket(...)`` makes its sockets and
``lab.peer(...)`` makes libzmq sockets (through pyzmq) to talk to. Every habit runs twice: the ``zmq``
run shows that the expectation is pyzmq's own, the ``zlab`` run holds zlab to it.

Adding a case is one line: decorate a function with ``@habit``.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import importlib
import inspect
import os
import select
import socket as os_socket
import threading
import time
import warnings
from collections.abc import Callable, Iterator
from types import ModuleType
from typing import Any

import pytest

from tests.interop.impls import load_impl

pytestmark = pytest.mark.timeout(30)

IO_TIMEOUT_MS = 5000
TEARDOWN_TIMEOUT_S = 10.0

HABITS: list[Callable[[Lab], None]] = []


def habit(fn: Callable[[Lab], None]) -> Callable[[Lab], None]:
    """Register a habit (one line per case)."""
    HABITS.append(fn)
    return fn


class Lab:
    """The module under test, its context and sockets, and libzmq peers; all closed at teardown."""

    def __init__(self, name: str, ipc_dir: str) -> None:
        self.name = name
        self.zmq: Any = load_impl(name)
        self.libzmq: ModuleType = load_impl("zmq")
        self.ipc_dir = ipc_dir
        self.ctx = self.zmq.Context()
        self.peer_ctx = self.libzmq.Context()
        self.contexts = [self.ctx, self.peer_ctx]
        self.sockets: list[Any] = []

    @property
    def is_zlab(self) -> bool:
        return self.name == "zlab"

    def _setup(self, sock: Any, options: dict[str, Any]) -> Any:
        self.sockets.append(sock)
        opts = {"linger": 0, "rcvtimeo": IO_TIMEOUT_MS, "sndtimeo": IO_TIMEOUT_MS, **options}
        for key, value in opts.items():
            if value is not None:  # None: leave the default
                setattr(sock, key, value)
        return sock

    def socket(self, kind: str, ctx: Any = None, **options: Any) -> Any:
        """A socket of the module under test (``kind``: "PUSH" ...), with timeouts and LINGER 0."""
        return self._setup((ctx or self.ctx).socket(getattr(self.zmq, kind)), options)

    def peer(self, kind: str, **options: Any) -> Any:
        """A libzmq socket."""
        return self._setup(self.peer_ctx.socket(getattr(self.libzmq, kind)), options)

    def context(self) -> Any:
        """Another context of the module under test (terminated at teardown)."""
        c = self.zmq.Context()
        self.contexts.append(c)
        return c

    def bound(self, sock: Any, transport: str = "tcp") -> str:
        """Bind ``sock`` to a fresh endpoint; return the endpoint to connect to."""
        ep = "tcp://127.0.0.1:*" if transport == "tcp" else f"ipc://{self.ipc_dir}/h-{id(sock):x}"
        sock.bind(ep)
        return sock.LAST_ENDPOINT.decode() if transport == "tcp" else ep

    def teardown(self) -> None:
        def work() -> None:
            for s in self.sockets:
                with contextlib.suppress(Exception):
                    s.close(linger=0)
            for c in self.contexts:
                with contextlib.suppress(Exception):
                    c.term()

        t = threading.Thread(target=work, daemon=True)
        t.start()
        t.join(TEARDOWN_TIMEOUT_S)
        assert not t.is_alive(), f"{self.name}: teardown did not finish"


@pytest.fixture(params=("zmq", "zlab"))
def lab(request: pytest.FixtureRequest, short_ipc_dir: str) -> Iterator[Lab]:
    the_lab = Lab(request.param, short_ipc_dir)
    try:
        yield the_lab
    finally:
        the_lab.teardown()


@pytest.mark.parametrize("case", HABITS, ids=lambda fn: fn.__name__)
def test_habit(lab: Lab, case: Callable[[Lab], None]) -> None:
    case(lab)


# ------------------------------------------------------------------------------------- helpers


def pull_from_peer(lab: Lab, **options: Any) -> tuple[Any, Any]:
    """A PULL of the module under test, bound, and a libzmq PUSH connected to it."""
    pull = lab.socket("PULL", **options)
    push = lab.peer("PUSH")
    push.connect(lab.bound(pull))
    return pull, push


def wait_until(predicate: Callable[[], Any], what: str, timeout: float = 10.0) -> Any:
    deadline = time.monotonic() + timeout
    while not (value := predicate()):
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.01)
    return value


def _port_refuses(port: int) -> bool:
    s = os_socket.socket()
    s.settimeout(1)
    try:
        s.connect(("127.0.0.1", port))
    except ConnectionRefusedError:
        return True
    except ConnectionResetError:  # the listener closed with this probe in its queue: look again
        return False
    finally:
        s.close()
    return False


# ------------------------------------------------------------------------------------- habits


@habit
def option_attributes_in_either_case(lab: Lab) -> None:
    zmq = lab.zmq
    pull, push = pull_from_peer(lab)
    pull.RCVTIMEO = 1000
    assert pull.rcvtimeo == 1000 and pull.RCVTIMEO == 1000
    pull.linger = 0
    assert pull.LINGER == 0 and pull.getsockopt(zmq.LINGER) == 0
    assert pull.LAST_ENDPOINT == pull.last_endpoint == pull.getsockopt(zmq.LAST_ENDPOINT)
    assert pull.TYPE == zmq.PULL
    with pytest.raises(AttributeError):
        pull.no_such_option = 1
    with pytest.raises(AttributeError):
        pull.no_such_option  # noqa: B018
    pull.rcvtimeo = 50
    with pytest.raises(zmq.Again):  # the attribute set the real option
        pull.recv()
    push.send(b"x")
    assert pull.recv() == b"x"


@habit
def write_only_option_attribute_is_an_attribute_error(lab: Lab) -> None:
    sub = lab.socket("SUB")
    assert not hasattr(sub, "curve_secretkey")  # hasattr() (and mocks) see an AttributeError
    sub.subscribe = b"topic"  # SUBSCRIBE as an attribute, as pyzmq allows
    pub = lab.peer("PUB")
    pub.bind("tcp://127.0.0.1:*")
    sub.connect(pub.LAST_ENDPOINT.decode())

    def got() -> Any:
        pub.send(b"topic-1")
        return sub.poll(50)

    wait_until(got, "the subscription to reach the publisher")
    assert sub.recv().startswith(b"topic")


@habit
def dir_lists_the_options(lab: Lab) -> None:
    s = lab.socket("DEALER")
    names = dir(s)
    for name in ("RCVTIMEO", "LINGER", "LAST_ENDPOINT", "send_multipart", "recv_into"):
        assert name in names


@habit
def recv_into_with_nbytes_flags_and_truncation(lab: Lab) -> None:
    zmq = lab.zmq
    pull, push = pull_from_peer(lab)
    assert list(inspect.signature(pull.recv_into).parameters) == ["buffer", "nbytes", "flags"]
    push.send(b"hello world")
    buf = bytearray(5)
    assert pull.recv_into(buf) == 11  # the frame's size: more than the buffer means truncated
    assert buf == b"hello"
    push.send(b"abc")
    buf = bytearray(10)
    assert pull.recv_into(buf, nbytes=2) == 3
    assert buf == b"ab" + bytes(8)
    push.send_multipart([b"one", b"two"])
    view = memoryview(bytearray(8))
    assert pull.recv_into(view) == 3 and bytes(view[:3]) == b"one"
    assert pull.RCVMORE == 1
    assert pull.recv_into(view[3:]) == 3 and bytes(view[:6]) == b"onetwo"
    assert pull.RCVMORE == 0
    with pytest.raises(zmq.Again):
        pull.recv_into(bytearray(4), flags=zmq.NOBLOCK)
    with pytest.raises(BufferError):
        pull.recv_into(b"read-only")
    with pytest.raises(ValueError):
        pull.recv_into(bytearray(4), nbytes=10)
    push.send(b"still there")  # a refused call consumed nothing
    assert pull.recv_into(bytearray(0)) == 11  # an empty buffer discards a frame


@habit
def hwm_helpers(lab: Lab) -> None:
    zmq = lab.zmq
    s = lab.socket("PUSH")
    assert s.get_hwm() == s.hwm == 1000
    s.set_hwm(5)
    assert (s.sndhwm, s.rcvhwm, s.get_hwm()) == (5, 5, 5)
    s.hwm = 7
    assert s.getsockopt(zmq.SNDHWM) == s.getsockopt(zmq.RCVHWM) == 7


@habit
def string_options_and_unicode_aliases(lab: Lab) -> None:
    zmq = lab.zmq
    dealer = lab.socket("DEALER")
    dealer.setsockopt_string(zmq.ROUTING_ID, "client-1")
    assert dealer.getsockopt_string(zmq.ROUTING_ID) == "client-1"
    assert dealer.getsockopt_unicode(zmq.ROUTING_ID) == "client-1"
    dealer.setsockopt_unicode(zmq.ROUTING_ID, "client-2")
    assert dealer.get_string(zmq.ROUTING_ID) == "client-2"
    with pytest.raises(TypeError):
        dealer.setsockopt_string(zmq.LINGER, "0")
    router = lab.peer("ROUTER")
    dealer.connect(lab.bound(router))
    dealer.send(b"hi")
    assert router.recv_multipart() == [b"client-2", b"hi"]  # libzmq saw the id set from a str


@habit
def fileno_is_the_edge_triggered_fd(lab: Lab) -> None:
    zmq = lab.zmq
    pull, push = pull_from_peer(lab)
    fd = pull.fileno()
    assert fd == pull.FD and isinstance(fd, int)
    while pull.EVENTS & zmq.POLLIN:  # consume, so the descriptor re-arms
        pull.recv()
    push.send(b"wake")

    def readable() -> bool:
        ready, _, _ = select.select([fd], [], [], 0.05)
        return bool(ready) and bool(pull.EVENTS & zmq.POLLIN)

    wait_until(readable, "the FD to become readable with POLLIN in EVENTS")
    assert pull.recv() == b"wake"


@habit
def poller_contains_and_unregister_unknown(lab: Lab) -> None:
    zmq = lab.zmq
    pull, push = pull_from_peer(lab)
    other = lab.socket("PULL")
    poller = zmq.Poller()
    assert pull not in poller
    poller.register(pull, zmq.POLLIN)
    assert pull in poller and other not in poller
    with pytest.raises(KeyError):  # as pyzmq: unknown sockets are a KeyError
        poller.unregister(other)
    push.send(b"x")
    assert dict(poller.poll(5000)) == {pull: zmq.POLLIN}
    poller.unregister(pull)
    assert pull not in poller


@habit
def zmq_poll_function(lab: Lab) -> None:
    zmq = lab.zmq
    pull, push = pull_from_peer(lab)
    assert zmq.zmq_poll([(pull, zmq.POLLIN)], 0) == []
    push.send(b"x")
    ready = zmq.zmq_poll([(pull, zmq.POLLIN)], 5000)
    assert ready == [(pull, zmq.POLLIN)]


@habit
def bind_as_a_context_manager_unbinds(lab: Lab) -> None:
    pull = lab.socket("PULL")
    push = lab.peer("PUSH")
    with pull.bind("tcp://127.0.0.1:*") as bound:
        assert bound is pull
        ep = pull.LAST_ENDPOINT.decode()
        push.connect(ep)
        push.send(b"inside")
        assert pull.recv() == b"inside"
    port = int(ep.rsplit(":", 1)[1])
    wait_until(lambda: _port_refuses(port), "the port to be released")


@habit
def connect_as_a_context_manager_disconnects(lab: Lab) -> None:
    zmq = lab.zmq
    pull = lab.peer("PULL")
    ep = lab.bound(pull)
    push = lab.socket("PUSH")
    with push.connect(ep) as connected:
        assert connected is push
        push.send(b"inside")
        assert pull.recv() == b"inside"
    with pytest.raises(zmq.ZMQError) as exc:  # gone: disconnecting again is ENOENT, as in libzmq
        push.disconnect(ep)
    assert exc.value.errno == errno.ENOENT


@habit
def socket_subclass_with_its_own_attributes(lab: Lab) -> None:
    zmq = lab.zmq

    class CountingSocket(zmq.Socket):  # type: ignore[name-defined]
        sent = 0  # class-declared: a plain attribute
        label: str  # annotated: a plain attribute too

        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self.label = "counter"
            self.linger = 0  # an option's name: sets the option

        def send(self, data: Any, *args: Any, **kwargs: Any) -> Any:
            self.sent += 1
            return super().send(data, *args, **kwargs)

    push = CountingSocket(lab.ctx, zmq.PUSH)
    lab.sockets.append(push)
    assert push.label == "counter" and push.linger == 0
    with pytest.raises(AttributeError):
        push.undeclared = 1  # neither declared nor an option
    made = lab.ctx.socket(zmq.PUSH, socket_class=CountingSocket)
    lab.sockets.append(made)
    assert isinstance(made, CountingSocket)
    pull = lab.peer("PULL")
    push.connect(lab.bound(pull))
    push.send(b"a")
    push.send(b"b")
    assert [pull.recv(), pull.recv()] == [b"a", b"b"]
    assert push.sent == 2 and CountingSocket.sent == 0


@habit
def context_default_socket_options(lab: Lab) -> None:
    zmq = lab.zmq
    ctx = lab.context()
    ctx.linger = 0
    ctx.setsockopt(zmq.SNDHWM, 5)
    ctx.setsockopt(zmq.SUBSCRIBE, b"")  # skipped for types it does not apply to, as pyzmq
    assert ctx.linger == 0 and ctx.getsockopt(zmq.SNDHWM) == 5
    with pytest.raises(AttributeError):
        ctx.rcvtimeo  # noqa: B018  (never set)
    push = lab.socket("PUSH", ctx=ctx, linger=None)
    lab.sockets.remove(push)
    assert push.getsockopt(zmq.LINGER) == 0 and push.sndhwm == 5
    push.close()
    sub = lab.socket("SUB", ctx=ctx)  # subscribed to everything by the context's default
    pub = lab.peer("PUB")
    sub.connect(lab.bound(pub))

    def got() -> Any:
        pub.send(b"anything")
        return sub.poll(50)

    wait_until(got, "the default subscription to work")


@habit
def context_instance_is_fresh_in_a_forked_child(lab: Lab) -> None:
    zmq = lab.zmq
    parent = zmq.Context.instance()
    assert zmq.Context.instance() is parent
    parent_id = id(parent)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # fork() with threads running
        pid = os.fork()
    if pid == 0:  # the child: only exit codes cross back
        code = 1
        try:
            child = zmq.Context.instance()
            a, b = child.socket(zmq.PAIR), child.socket(zmq.PAIR)
            a.bind("inproc://forked")
            b.connect("inproc://forked")
            a.send(b"x")
            b.rcvtimeo = 5000
            code = 0 if id(child) != parent_id and b.recv() == b"x" else 2
            a.close(linger=0)
            b.close(linger=0)
            child.term()
        finally:
            os._exit(code)
    deadline = time.monotonic() + 20
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            break
        if time.monotonic() > deadline:
            os.kill(pid, 9)
            os.waitpid(pid, 0)
            pytest.fail("the forked child did not finish")
        time.sleep(0.01)
    assert os.waitstatus_to_exitcode(status) == 0
    assert zmq.Context.instance() is parent  # the parent keeps its own


@habit
def stopwatch_counts_microseconds(lab: Lab) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # pyzmq deprecates it; a lab keeps it
        watch = lab.zmq.Stopwatch()
    watch.start()
    time.sleep(0.01)
    elapsed = watch.stop()
    assert isinstance(elapsed, int) and 10_000 <= elapsed < 5_000_000


@habit
def draft_send_arguments_are_refused(lab: Lab) -> None:
    pub = lab.socket("PUB")
    lab.bound(pub)
    with pytest.raises(RuntimeError):  # pyzmq without draft support says so too; never ignored
        pub.send(b"x", group="g")
    with pytest.raises(RuntimeError):
        pub.send(b"x", routing_id=1)
    with pytest.raises(RuntimeError):
        pub.send(b"x", lab.zmq.NOBLOCK, routing_id=1)


@habit
def xreq_and_xrep_are_dealer_and_router(lab: Lab) -> None:
    zmq = lab.zmq
    assert (zmq.XREQ, zmq.XREP) == (zmq.DEALER, zmq.ROUTER)
    router = lab.socket("XREP")
    dealer = lab.peer("DEALER", routing_id=b"d")
    dealer.connect(lab.bound(router))
    dealer.send(b"req")
    assert router.recv_multipart() == [b"d", b"req"]
    router.send_multipart([b"d", b"rep"])
    assert dealer.recv() == b"rep"


@habit
def stream_server_with_a_libzmq_stream_client(lab: Lab) -> None:
    server = lab.socket("STREAM")
    client = lab.peer("STREAM")
    client.connect(lab.bound(server))
    sid, empty = server.recv_multipart()  # each side announces the other
    assert empty == b""
    cid, empty = client.recv_multipart()
    assert empty == b""
    client.send_multipart([cid, b"ping"])
    assert server.recv_multipart() == [sid, b"ping"]
    server.send_multipart([sid, b"pong"])
    assert client.recv_multipart() == [cid, b"pong"]
    client.close(linger=0)  # the client goes: the server is told
    assert server.recv_multipart() == [sid, b""]


@habit
def stream_client_with_a_libzmq_stream_server(lab: Lab) -> None:
    server = lab.peer("STREAM")
    client = lab.socket("STREAM")
    client.connect(lab.bound(server, "ipc"))
    sid, empty = server.recv_multipart()
    cid, empty2 = client.recv_multipart()
    assert empty == empty2 == b""
    client.send_multipart([cid, b"GET"])
    assert server.recv_multipart() == [sid, b"GET"]
    server.send_multipart([sid, b"200"])
    assert client.recv_multipart() == [cid, b"200"]
    server.close(linger=0)  # the server goes: the client is told
    assert client.recv_multipart() == [cid, b""]


@habit
def stream_client_names_its_peer_with_connect_routing_id(lab: Lab) -> None:
    server = lab.peer("STREAM")
    client = lab.socket("STREAM", connect_routing_id=b"upstream")
    client.connect(lab.bound(server))
    sid, _ = server.recv_multipart()
    assert client.recv_multipart() == [b"upstream", b""]
    client.send_multipart([b"upstream", b"hello"])
    assert server.recv_multipart() == [sid, b"hello"]


@habit
def asyncio_recv_into_is_awaitable(lab: Lab) -> None:
    zmq = lab.zmq
    aio = importlib.import_module(f"{lab.name}.asyncio")
    actx = aio.Context()
    lab.contexts.insert(0, actx)
    pull = actx.socket(zmq.PULL)
    lab.sockets.append(pull)
    pull.linger = 0
    push = lab.peer("PUSH")
    push.connect(lab.bound(pull))

    async def main() -> tuple[int, bytes]:
        buf = bytearray(4)
        waiting = pull.recv_into(buf)  # nothing there yet: a future, the loop is not blocked
        push.send(b"async data")
        n = await asyncio.wait_for(waiting, 5)
        return n, bytes(buf)

    assert asyncio.run(main()) == (10, b"asyn")
