"""Where a CURVE round trip's time goes, between processes over tcp (a benchmark; pytest never collects it).

Run from the repository root:
    PYTHONPATH=$PWD .venv/bin/python -m tests.core.bench_curve_stages [--n N] [--server zlab|zmq]

Prints, for a 64 B REQ/REP ping-pong (zlab REQ in this process, REP in a spawned one) with NULL and
with CURVE: the p50 round trip / 2, the CPU time per round trip of this process's calling thread
(``time.thread_time``: steadier than wall time on a shared machine; on a busy 2-core machine the two
peers mostly share one CPU, so the round trip is about the sum of both sides' CPU), and the wall time per
round trip spent in each stage of the client (``perf_counter_ns`` around the engine's, pipe's and codec's
methods): encode (CURVE: ``CurveCodec.encode_many``), write (``StreamPipe._write``: the ``send`` call,
which on a busy machine also holds the peer's turn when its wake-up preempts us), read (``_read``),
decode (the connection's frame decoder; CURVE: ``open_spans`` within it), ``write_output`` after a read.
Then a 64 B PUSH/PULL flood with CURVE: messages/s and CPU per message on each side.
"""

from __future__ import annotations

import argparse
import importlib
import multiprocessing as mp
import time
from collections.abc import Callable
from typing import Any

import zlab
from zlab.io import engine, stream_pipe, wrapped_pipe
from zlab.zmtp import connection, curve

WARM = 2000
MSG = b"x" * 64
ENCODE = "encode (CURVE: CurveCodec.encode_many)"
WRITE = "write (StreamPipe._write: the send call)"
READ = "read (StreamEngine._read)"
DECODE = "decode (the Connection's frame decoder)"
OPEN = "  of which open (CurveCodec.open_spans)"
OUTPUT = "write_output after a read"


def _secure(sock: Any, mech: str, keys: tuple[bytes, ...], server: bool) -> None:
    if mech != "curve":
        return
    spub, ssec, cpub, csec = keys
    if server:
        sock.curve_server = True
        sock.curve_secretkey = ssec
    else:
        sock.curve_serverkey, sock.curve_publickey, sock.curve_secretkey = spub, cpub, csec


def _endpoint(sock: Any, last_endpoint: int) -> str:
    ep = sock.getsockopt(last_endpoint)
    return ep.decode() if isinstance(ep, bytes) else str(ep)


def _rep(impl: str, mech: str, keys: tuple[bytes, ...], n: int, q: Any) -> None:
    z: Any = importlib.import_module(impl)
    ctx = z.Context()
    sock = ctx.socket(z.REP)
    _secure(sock, mech, keys, True)
    sock.bind("tcp://127.0.0.1:*")
    q.put(_endpoint(sock, z.LAST_ENDPOINT))
    for _ in range(n):
        sock.send(sock.recv())
    q.get()  # the client is done
    sock.close()
    ctx.term()


def _wrap(acc: dict[str, list[int]], cls: type, name: str, label: str) -> Callable[[], None]:
    """Time every call of cls.name into acc[label]; returns the undo."""
    original = cls.__dict__[name]
    clock = time.perf_counter_ns

    def timed(*args: Any, **kw: Any) -> Any:
        t = clock()
        try:
            return original(*args, **kw)
        finally:
            acc.setdefault(label, []).append(clock() - t)

    setattr(cls, name, timed)
    return lambda: setattr(cls, name, original)


def round_trips(server: str, mech: str, n: int, keys: tuple[bytes, ...]) -> None:
    m = mp.get_context("spawn")
    q = m.Queue()
    peer = m.Process(target=_rep, args=(server, mech, keys, n + WARM, q))
    peer.start()
    ep = q.get()
    acc: dict[str, list[int]] = {}
    undo = []
    if mech == "curve":  # before the handshake: its end binds these per connection and mechanism
        undo.append(_wrap(acc, curve.CurveCodec, "encode_many", ENCODE))
        undo.append(_wrap(acc, connection.Connection, "_receive_wrapped", DECODE))
        undo.append(_wrap(acc, curve.CurveCodec, "open_spans", OPEN))
    ctx = zlab.Context()
    req = ctx.socket(zlab.REQ)
    _secure(req, mech, keys, False)
    req.connect(ep)
    for _ in range(WARM):
        req.send(MSG)
        req.recv()
    acc.clear()
    pipe_cls = wrapped_pipe.WrappedStreamPipe if mech == "curve" else stream_pipe.StreamPipe
    undo += [
        _wrap(acc, stream_pipe.StreamPipe, "_write", WRITE),
        _wrap(acc, engine.StreamEngine, "_read", READ),
        _wrap(acc, pipe_cls, "write_output", OUTPUT),
    ]
    if mech != "curve":
        undo.append(_wrap(acc, connection.Connection, "_receive_frames", DECODE))
    rts = []
    clock = time.perf_counter_ns
    cpu = time.thread_time()
    for _ in range(n):
        t = clock()
        req.send(MSG)
        req.recv()
        rts.append(clock() - t)
    cpu = time.thread_time() - cpu
    for u in undo:
        u()
    q.put("done")
    peer.join()
    req.close()
    ctx.term()
    rts.sort()
    print(
        f"{mech:5s} REQ zlab -> REP {server:4s}: p50 round trip / 2 {rts[n // 2] / 2000:6.1f} us, "
        f"CPU per round trip (calling thread) {cpu / n * 1e6:5.1f} us"
    )
    for label in (ENCODE, WRITE, READ, DECODE, OPEN, OUTPUT):
        if label in acc:
            print(f"    {label:44s} {sum(acc[label]) / n / 1000:6.2f} us per round trip")


def _push(mech: str, keys: tuple[bytes, ...], ep: str, n: int, q: Any) -> None:
    ctx = zlab.Context()
    sock = ctx.socket(zlab.PUSH)
    _secure(sock, mech, keys, False)
    sock.connect(ep)
    cpu = time.process_time()
    for _ in range(n):
        sock.send(MSG)
    q.put(time.process_time() - cpu)
    sock.close(linger=-1)
    ctx.term()


def flood(mech: str, n: int, keys: tuple[bytes, ...]) -> None:
    ctx = zlab.Context()
    pull = ctx.socket(zlab.PULL)
    _secure(pull, mech, keys, True)
    pull.bind("tcp://127.0.0.1:*")
    m = mp.get_context("spawn")
    q = m.Queue()
    pusher = m.Process(target=_push, args=(mech, keys, _endpoint(pull, zlab.LAST_ENDPOINT), n + WARM, q))
    pusher.start()
    for _ in range(WARM):
        pull.recv()
    cpu, t = time.process_time(), time.perf_counter()
    for _ in range(n):
        pull.recv()
    t, cpu = time.perf_counter() - t, time.process_time() - cpu
    push_cpu = q.get()
    pusher.join()
    pull.close()
    ctx.term()
    print(
        f"{mech:5s} PUSH -> PULL: {n / t / 1e3:6.0f} k msg/s; CPU per message: "
        f"push {push_cpu / (n + WARM) * 1e6:4.2f} us, pull {cpu / n * 1e6:4.2f} us (whole processes)"
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=10000, help="round trips per mechanism")
    ap.add_argument("--server", default="zlab", choices=("zlab", "zmq"), help="the REP peer")
    args = ap.parse_args()
    spub, ssec = zlab.curve_keypair()
    cpub, csec = zlab.curve_keypair()
    keys = (spub, ssec, cpub, csec)
    for mech in ("null", "curve"):
        round_trips(args.server, mech, args.n, keys)
    flood("curve", 20 * args.n, keys)


if __name__ == "__main__":
    main()
