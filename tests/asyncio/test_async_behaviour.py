"""zlab.asyncio semantics: cancellation loses nothing, many waiters on many sockets in one loop, RCVTIMEO /
SNDTIMEO and ``asyncio.wait_for``, polling, loop shutdown with sockets open, the blocking API on the same
socket, uvloop, and both ways of waking the loop. Peers are libzmq (pyzmq, blocking or zmq.asyncio) or zlab.
"""

from __future__ import annotations

import asyncio
import gc
import os
import subprocess
import sys
import threading
import time

import pytest

import zlab
import zlab.asyncio as za
from tests.asyncio.support import run

pytestmark = pytest.mark.timeout(30)
zmq = pytest.importorskip("zmq")

IO_TIMEOUT_MS = 5000


@pytest.fixture(params=za.WAKE_MODES)
def actx(request):
    """A zlab.asyncio context (each wake mode), destroyed with linger 0."""
    c = za.Context(wake_mode=request.param)
    yield c
    done = threading.Event()
    threading.Thread(target=lambda: (c.destroy(linger=0), done.set()), daemon=True).start()
    assert done.wait(10), "zlab.asyncio context did not terminate"


@pytest.fixture
def zctx():
    c = zmq.Context()
    yield c
    c.destroy(linger=0)


def zsock(ctx, kind, **opts):
    s = ctx.socket(kind)
    s.linger = 0
    s.rcvtimeo = s.sndtimeo = IO_TIMEOUT_MS
    for k, v in opts.items():
        setattr(s, k, v)
    return s


def bound(sock) -> str:
    sock.bind("tcp://127.0.0.1:*")
    ep = sock.getsockopt(zmq.LAST_ENDPOINT if hasattr(sock, "underlying") else zlab.LAST_ENDPOINT)
    return ep.decode().rstrip("\0")


def pull_from_libzmq(actx, zctx, **opts):
    """A zlab.asyncio PULL bound on tcp, a libzmq PUSH connected (blocking pyzmq, used from the test)."""
    pull = actx.socket(zlab.PULL)
    for k, v in opts.items():
        setattr(pull, k, v)
    push = zsock(zctx, zmq.PUSH)
    push.connect(bound(pull))
    return pull, push


async def pending(fut_or_task, rounds: int = 5) -> None:
    """Let the loop run a few iterations (the waiter is queued, nothing is ready)."""
    for _ in range(rounds):
        await asyncio.sleep(0)
    assert not fut_or_task.done()


# -- cancellation ---------------------------------------------------------------------------------


def test_cancel_pending_recv_loses_nothing(actx, zctx):
    pull, push = pull_from_libzmq(actx, zctx)

    async def main():
        for _ in range(3):  # cancel the future itself, a task awaiting it, and a wait_for
            fut = pull.recv()
            await pending(fut)
            fut.cancel()
        task = asyncio.ensure_future(pull.recv())
        await pending(task)
        task.cancel()
        with pytest.raises(asyncio.TimeoutError):
            await asyncio.wait_for(pull.recv(), 0.02)
        for i in range(5):
            push.send(b"m%d" % i)
        return [await pull.recv() for _ in range(5)]

    assert run(main()) == [b"m%d" % i for i in range(5)]


def test_recv_cancelled_after_its_message_arrived_gives_it_back(actx, zctx):
    """The task awaiting a recv is cancelled in the loop iteration where the message was handed to its
    future: the message goes back to the socket and the next recv gets it (and then the next one)."""
    pull, push = pull_from_libzmq(actx, zctx)

    async def main():
        fut = pull.recv_multipart()

        async def consumer():
            return await fut

        task = asyncio.ensure_future(consumer())
        # runs before the task's own wake-up (registered first): the task is cancelled with fut resolved
        fut.add_done_callback(lambda f: task.cancel())
        await pending(task)
        push.send_multipart([b"a", b"b"])
        push.send(b"c")
        with pytest.raises(asyncio.CancelledError):
            await task
        assert fut.result() == [b"a", b"b"]  # it was resolved, then given back
        return await pull.recv_multipart(), await pull.recv()

    assert run(main()) == ([b"a", b"b"], b"c")


def test_wait_for_timeouts_under_traffic_lose_nothing(actx, zctx):
    """A receiver polling with very short wait_for timeouts while a sender thread trickles messages in."""
    pull, push = pull_from_libzmq(actx, zctx)
    n = 300

    def sender():
        for i in range(n):
            push.send(b"%d" % i)
            if i % 7 == 0:
                time.sleep(0.0005)

    async def main():
        t = threading.Thread(target=sender, daemon=True)
        t.start()
        got, timeouts = [], 0
        deadline = time.monotonic() + 10
        while len(got) < n and time.monotonic() < deadline:
            try:
                got.append(await asyncio.wait_for(pull.recv(), 0.0003))
            except TimeoutError:
                timeouts += 1
        t.join(5)
        return got

    got = run(main(), timeout=20)
    assert got == [b"%d" % i for i in range(n)]


# -- many waiters, many sockets, one loop ---------------------------------------------------------


def test_many_concurrent_recvs_on_several_sockets(actx, zctx):
    n_socks, per_sock = 4, 6
    pairs = [pull_from_libzmq(actx, zctx) for _ in range(n_socks)]

    async def main():
        threads_before = threading.active_count()
        tasks = [[asyncio.ensure_future(pull.recv()) for _ in range(per_sock)] for pull, _ in pairs]
        await asyncio.sleep(0.01)
        assert not any(t.done() for ts in tasks for t in ts)
        assert threading.active_count() == threads_before, "a thread per socket or per waiter"
        for k, (_, push) in enumerate(pairs):
            for i in range(per_sock):
                push.send(b"%d-%d" % (k, i))
        return [await asyncio.gather(*ts) for ts in tasks]

    results = run(main())
    for k, got in enumerate(results):  # waiters are served in the order they called recv
        assert got == [b"%d-%d" % (k, i) for i in range(per_sock)]


def test_concurrent_senders_and_receivers_zlab_to_zlab(actx):
    """DEALER/ROUTER over tcp and PAIR over inproc, both ends zlab.asyncio in one loop, with HWMs small
    enough that senders wait for room."""

    async def main():
        router = actx.socket(zlab.ROUTER, rcvhwm=5, sndhwm=5)
        dealer = actx.socket(zlab.DEALER, sndhwm=5, rcvhwm=5, routing_id=b"d")
        dealer.connect(bound(router))
        a, b = actx.socket(zlab.PAIR, sndhwm=5, rcvhwm=5), actx.socket(zlab.PAIR, sndhwm=5, rcvhwm=5)
        a.bind("inproc://async-pair")
        b.connect("inproc://async-pair")
        n = 500

        async def send_all(sock, prefix):
            for i in range(n):
                await sock.send_multipart([prefix, b"%d" % i])

        async def recv_all(sock, frames):
            return [(await sock.recv_multipart())[-frames:] for _ in range(n)]

        results = await asyncio.gather(
            send_all(dealer, b"d"), recv_all(router, 2), send_all(a, b"p"), recv_all(b, 2)
        )
        assert results[1] == [[b"d", b"%d" % i] for i in range(n)]
        assert results[3] == [[b"p", b"%d" % i] for i in range(n)]

    run(main(), timeout=20)


# -- timeouts ---------------------------------------------------------------------------------------


def test_rcvtimeo_and_sndtimeo_raise_again_and_leave_the_socket_usable(actx, zctx):
    pull, push = pull_from_libzmq(actx, zctx, rcvtimeo=50)
    lonely = actx.socket(zlab.PUSH, sndtimeo=50)  # no peer: a send waits for one

    async def main():
        t0 = time.monotonic()
        with pytest.raises(zlab.Again):
            await pull.recv()
        waited = time.monotonic() - t0
        with pytest.raises(zlab.Again):
            await lonely.send(b"x")
        push.send(b"after")
        assert await pull.recv() == b"after"
        pull.rcvtimeo = 0
        with pytest.raises(zlab.Again):
            await pull.recv()
        with pytest.raises(zlab.Again):
            await pull.recv(zlab.NOBLOCK)
        return waited

    waited = run(main())
    assert 0.04 <= waited < 3


def test_wait_for_timeout_then_message(actx, zctx):
    pull, push = pull_from_libzmq(actx, zctx)

    async def main():
        with pytest.raises(asyncio.TimeoutError):
            await asyncio.wait_for(pull.recv_string(), 0.05)
        threading.Timer(0.02, push.send_string, ("late",)).start()
        return await asyncio.wait_for(pull.recv_string(), 5)

    assert run(main()) == "late"


# -- polling ----------------------------------------------------------------------------------------


def test_poller_sockets_and_fds(actx, zctx):
    pull, push = pull_from_libzmq(actx, zctx)
    other, _ = pull_from_libzmq(actx, zctx)
    r, w = os.pipe()
    try:

        async def main():
            poller = za.Poller()
            poller.register(pull, zlab.POLLIN)
            poller.register(other, zlab.POLLIN)
            poller.register(r, zlab.POLLIN)
            assert await poller.poll(30) == []
            fut = poller.poll()
            await pending(fut)
            push.send(b"x")
            assert await asyncio.wait_for(fut, 5) == [(pull, zlab.POLLIN)]
            assert await pull.recv() == b"x"
            os.write(w, b"!")
            assert await asyncio.wait_for(poller.poll(), 5) == [(r, zlab.POLLIN)]
            os.read(r, 1)
            assert await pull.poll(20) == 0
            fut = pull.poll(5000)
            await pending(fut)
            push.send(b"y")
            assert await fut == zlab.POLLIN
            got = await pull.recv()
            watchers = len(pull.core.signal.watchers)
            cancelled = poller.poll()
            await pending(cancelled)
            assert len(pull.core.signal.watchers) == watchers + 1
            cancelled.cancel()  # a cancelled poll unregisters its watchers
            await asyncio.sleep(0)
            assert len(pull.core.signal.watchers) == watchers
            return got

        assert run(main()) == b"y"
    finally:
        os.close(r)
        os.close(w)


# -- lifecycle --------------------------------------------------------------------------------------


def test_close_cancels_waiters_and_term_fails_them(actx, zctx):
    pull, _ = pull_from_libzmq(actx, zctx)
    ctx2 = za.Context()
    other = ctx2.socket(zlab.PULL)
    other.bind("inproc://term-me")

    async def main():
        fut = pull.recv()
        await pending(fut)
        pull.close()
        assert fut.cancelled()
        fut2 = other.recv()
        await pending(fut2)
        t = threading.Thread(target=ctx2.term, daemon=True)
        t.start()
        with pytest.raises(zlab.ContextTerminated):
            await asyncio.wait_for(fut2, 5)
        t.join(5)
        assert not t.is_alive()

    run(main())


def test_loop_shutdown_with_sockets_open_does_not_hang(zctx):
    """asyncio.run ends with recvs pending on open sockets; the context still terminates, and traffic that
    arrives after the loop closed wakes nothing (and breaks nothing)."""
    ctx = za.Context()
    push = zsock(zctx, zmq.PUSH)
    state = {}

    async def main():
        pull = ctx.socket(zlab.PULL)
        push.connect(bound(pull))
        fd_ctx = za.Context(wake_mode="fd")
        state["fd_ctx"] = fd_ctx
        dealer = fd_ctx.socket(zlab.DEALER)
        dealer.bind("inproc://left-open")
        state["socks"] = (pull, dealer)
        state["tasks"] = [asyncio.ensure_future(pull.recv()), asyncio.ensure_future(dealer.recv())]
        await asyncio.sleep(0.01)

    run(main())
    push.send(b"after the loop closed")  # delivered to a socket whose waiter's loop is gone
    time.sleep(0.05)
    done = threading.Event()

    def term():
        ctx.term()
        state["fd_ctx"].term()
        done.set()

    threading.Thread(target=term, daemon=True).start()
    assert done.wait(10), "term() hung after the loop closed"


def test_interpreter_exit_with_sockets_open_does_not_hang():
    code = (
        "import asyncio, zlab, zlab.asyncio as za\n"
        "ctx = za.Context()\n"
        "async def main():\n"
        "    s = ctx.socket(zlab.PULL); s.bind('tcp://127.0.0.1:*')\n"
        "    r = ctx.socket(zlab.REQ); r.connect(s.getsockopt(zlab.LAST_ENDPOINT).decode())\n"
        "    asyncio.ensure_future(s.recv()); await asyncio.sleep(0.01)\n"
        "asyncio.run(main())\n"
        "print('done')\n"
    )
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=20, env=env)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "done"


# -- the blocking API on the same socket --------------------------------------------------------------


def test_blocking_and_asyncio_on_one_socket(zctx):
    """A blocking zlab PULL with one tcp peer (its recv reads the connection directly, on the calling
    thread), wrapped with Socket.from_socket: awaited receives still get what arrives next, and both
    APIs keep working in turn. The asyncio view does not close the socket it borrowed."""
    ctx = zlab.Context()
    try:
        sync = ctx.socket(zlab.PULL)
        sync.rcvtimeo = IO_TIMEOUT_MS
        push = zsock(zctx, zmq.PUSH)
        push.connect(bound(sync))
        view = za.Socket.from_socket(sync)
        assert isinstance(view, zlab.Socket)
        assert za.Socket.from_socket(sync)._a_recvq is view._a_recvq  # views share their waiters

        async def main():
            got = []
            for i in range(20):
                push.send(b"s%d" % i)
                got.append(sync.recv())  # the direct reader takes the connection
                fut = view.recv()
                await pending(fut, 2)
                push.send(b"a%d" % i)  # must reach the awaited recv, not wait in the kernel
                got.append(await asyncio.wait_for(fut, 5))
            return got

        t0 = time.monotonic()
        got = run(main())
        assert got == [x for i in range(20) for x in (b"s%d" % i, b"a%d" % i)]
        assert time.monotonic() - t0 < 5
        view = None  # collected: a view never closes the socket it borrowed
        gc.collect()
        assert not sync.closed
        push.send(b"last")
        assert sync.recv() == b"last"
        sync.close()
    finally:
        ctx.destroy(linger=0)


def test_req_rep_helpers(actx, zctx):
    """send/recv of strings, JSON, pickles, serialized and SNDMORE messages against a libzmq REP."""
    rep = zsock(zctx, zmq.REP)
    ep = bound(rep)
    stop = threading.Event()

    def echo():
        while not stop.is_set():
            if rep.poll(20):
                rep.send_multipart(rep.recv_multipart())

    t = threading.Thread(target=echo, daemon=True)
    t.start()
    req = actx.socket(zlab.REQ)
    req.connect(ep)

    async def main():
        await req.send_string("héllo")
        assert await req.recv_string() == "héllo"
        await req.send_json({"a": [1, 2]})
        assert await req.recv_json() == {"a": [1, 2]}
        await req.send_pyobj({1, 2})
        assert await req.recv_pyobj() == {1, 2}
        await req.send_serialized("x-y", lambda m: [p.encode() for p in m.split("-")])
        assert await req.recv_serialized(lambda frames: b"-".join(frames)) == b"x-y"
        await req.send(b"one", zlab.SNDMORE)
        await req.send(b"two")
        assert await req.recv() == b"one"
        assert req.rcvmore == 1
        assert await req.recv() == b"two"
        with pytest.raises(zlab.ZMQError):  # REQ state machine, as in the blocking API
            await req.recv()

    try:
        run(main())
    finally:
        stop.set()
        t.join(2)


def test_uvloop(zctx):
    uvloop = pytest.importorskip("uvloop")
    ctx = za.Context()
    try:
        req = ctx.socket(zlab.REQ)
        req.linger = 0
        zrep = zsock(zctx, zmq.REP)
        req.connect(bound(zrep))
        pull = ctx.socket(zlab.PULL)
        push = zsock(zctx, zmq.PUSH)
        push.connect(bound(pull))

        async def main():
            for i in range(50):
                await req.send(b"%d" % i)
                fut = asyncio.ensure_future(asyncio.to_thread(lambda: zrep.send(zrep.recv())))
                assert await req.recv() == b"%d" % i
                await fut
            task = asyncio.ensure_future(pull.recv())
            await pending(task)
            task.cancel()
            push.send(b"kept")
            return await pull.recv()

        assert run(main(), loop_factory=uvloop.new_event_loop) == b"kept"
    finally:
        ctx.destroy(linger=0)
