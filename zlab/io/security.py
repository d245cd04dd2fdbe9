"""Which security mechanism a connection runs, made from the socket's options.

Owns: ``make_mechanism`` (options -> a fresh ``zlab.zmtp`` mechanism for one connection),
``wraps_traffic`` (whether that mechanism's traffic goes through its encode/decode, so the
connection's outbound pipe must be a ``WrappedStreamPipe``) and ``new_stream_pipe`` (which outbound
pipe a connection gets: wrapped or not, conflating or not). Rules: layer L2 (zlab.io); pure
functions of the options, snapshotted when a pipe or connection is made (as libzmq does).

ZAP, as libzmq 4.3.5 does it: a PLAIN or CURVE server always asks its handler; NULL asks only when
ZAP_DOMAIN is set (on either side). With no handler bound, NULL and CURVE let the peer in and PLAIN
fails the handshake (the engine does that). CURVE keys never set are 32 zero octets, as in libzmq.
"""

from __future__ import annotations

from zlab.constants import SecurityMechanism
from zlab.io.conflate_pipe import ConflatingStreamPipe, ConflatingWrappedStreamPipe
from zlab.io.link import SocketLink
from zlab.io.reactor import Reactor
from zlab.io.stream_pipe import StreamPipe
from zlab.io.wrapped_pipe import WrappedStreamPipe
from zlab.options import Options
from zlab.zmtp import Mechanism, NullMechanism, PlainClient, PlainServer, curve
from zlab.zmtp.curve import CurveClient, CurveServer

_NO_KEY = bytes(32)


def make_mechanism(options: Options) -> Mechanism:
    """A new mechanism for one connection of a socket with these options."""
    mechanism = options.mechanism
    if mechanism == SecurityMechanism.PLAIN:
        if options.as_server:
            return PlainServer(zap=True)
        return PlainClient(options.plain_username, options.plain_password)
    if mechanism == SecurityMechanism.CURVE:
        if not curve.available():
            raise NotImplementedError("CURVE needs PyNaCl (pip install pynacl)")
        # a key never set is 32 zero octets, as in libzmq: the handshake then fails on the wire
        secret = options.curve_secretkey or _NO_KEY
        if options.as_server:
            return CurveServer(secret, zap=True)
        return CurveClient(options.curve_publickey or _NO_KEY, secret, options.curve_serverkey or _NO_KEY)
    return NullMechanism(zap=bool(options.zap_domain))


def wraps_traffic(options: Options) -> bool:
    """Whether connections made with these options wrap every frame (CURVE)."""
    return options.mechanism == SecurityMechanism.CURVE


def new_stream_pipe(link: SocketLink, reactor: Reactor, endpoint: str) -> StreamPipe:
    """The outbound pipe for a connection of this socket: wrapped (encoded late) for CURVE."""
    wrapped = wraps_traffic(link.options)
    if link.options.conflating_out:  # CONFLATE on PUSH, DEALER, PUB
        if wrapped:
            return ConflatingWrappedStreamPipe(link, reactor, endpoint)
        return ConflatingStreamPipe(link, reactor, endpoint)
    if wrapped:
        return WrappedStreamPipe(link, reactor, endpoint)
    return StreamPipe(link, reactor, endpoint)
