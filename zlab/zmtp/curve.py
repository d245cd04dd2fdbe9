"""The CURVE security mechanism: CurveZMQ (RFC 25) over ZMTP (RFC 26), as libzmq speaks it, over PyNaCl.

Owns: CURVE keys (``keypair``, ``public_key``), the client and server handshakes (HELLO, WELCOME with the
cookie, INITIATE with the vouch, READY) and the MESSAGE encryption of every frame after the handshake
(``CurveCodec``). Rules: pure (no sockets, threads or clock; randomness comes from libsodium); imports
only zlab.errors and siblings. Handshake objects take and return commands as ``(name, data)`` pairs,
never bytes of the stream; every malformed, forged or replayed input raises ``ProtocolError``
(``HandshakeRefused`` when the peer refuses us) and nothing else.

Where libzmq and the RFC differ, this follows libzmq (ZMTP-NOTES section 8): HELLO carries 72 octets of
zero padding (200 octets in all), and the flags octet inside a MESSAGE box carries MORE in bit 0 and
COMMAND in bit 1 (commands after the handshake, e.g. PING and SUBSCRIBE, travel inside MESSAGE). A MESSAGE
travels in an ordinary message frame without MORE, as libzmq sends it; one in a command frame is accepted
too. Short nonces are 64-bit counters per direction that must strictly increase: a replayed or reordered
MESSAGE is a protocol error.

The server keeps no secret of the connection between WELCOME and INITIATE but a short-lived cookie key
(made for one WELCOME, forgotten at the INITIATE that follows): the client's transient key C' and the
server's transient secret s' travel inside the cookie, sealed with that key, and come back in INITIATE.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from zlab.constants import ProtocolErrorCode as Code
from zlab.errors import HandshakeRefused, ProtocolError

from . import z85
from .commands import decode_error_reason, decode_metadata
from .mechanism import Command, Mechanism, ZapReply, ZapRequest, zap_refusal

try:  # CURVE needs PyNaCl (libsodium); zlab without it still speaks NULL
    from nacl import bindings as _nacl
    from nacl.exceptions import CryptoError as _CryptoError
except ImportError:  # pragma: no cover - exercised only where PyNaCl is missing
    _nacl = None  # type: ignore[assignment]
    _CryptoError = Exception  # type: ignore[assignment,misc]
try:  # the MESSAGE fast path: PyNaCl's own compiled (cffi API-mode) libsodium, boxes built in place
    from nacl._sodium import ffi as _ffi
    from nacl._sodium import lib as _lib
except ImportError:  # pragma: no cover - another PyNaCl layout: nacl.bindings only
    _ffi = _lib = None

KEY_SIZE = 32
"""Octets of a CURVE public or secret key (Curve25519)."""

# sizes of whole command bodies (name length + name + data), as RFC 26 and libzmq count them
HELLO_SIZE = 200
WELCOME_SIZE = 168
INITIATE_MIN = 257
READY_MIN = 30
MESSAGE_MIN = 33

FLAG_MORE = 0x01
"""MESSAGE flags bit 0: more frames of this message follow."""
FLAG_COMMAND = 0x02
"""MESSAGE flags bit 1: the payload is a command body (libzmq's ``msg_t::command``)."""

_MESSAGE = b"\x07MESSAGE"
#: ``open_spans`` opens the frames one by one (``open``) while its spans list has at most this many
#: entries (two per frame): per 64 B frame 2.0 us against 2.1 in bulk for 2 frames, even at 3,
#: bulk ahead from 4 (1.8 against 1.9). A REQ/REP envelope and body are 2 frames
SPANS_ONE_BY_ONE = 4
_VERSION = b"\x01\x00"
_HELLO_PADDING = bytes(72)
_NONCE_MAX = (1 << 64) - 1
# the 2-octet header of a short message frame of n octets, and the flags octet of a long one
_SHORT = tuple(bytes((0, n)) for n in range(256))
# the same followed by the MESSAGE command name (one piece of a batch's join instead of two)
_SHORT_MESSAGE = tuple(h + b"\x07MESSAGE" for h in _SHORT)
_LONG = b"\x02"
_FLAG_OCTET = (b"\x00", b"\x01", b"\x02", b"\x03")
# the MAC slot (boxed in place) and the flags octet of a MESSAGE frame: last frame, or MORE follows
_MAC_FLAGS = (bytes(16) + b"\x00", bytes(16) + b"\x01")
_MAC_SLOT = bytes(16)
_UCHARS = "unsigned char[]"
#: a received MESSAGE body up to this size is opened from a copy of its box (a slice: ~50 ns), a
#: larger one in place (a cffi view of the buffer: ~130 ns)
_SLICE_MAX = 2048
#: octets of plaintext a codec opens into its own kept buffer (a read of more, a throughput read of
#: hundreds of frames, gets a buffer of its own: one allocation per read is nothing there). Small, as
#: every CURVE connection keeps one (libzmq's per-connection batches are 8 KiB too)
OPEN_BUFFER = 8 * 1024


def available() -> bool:
    """True if PyNaCl is installed, so CURVE can be used."""
    return _nacl is not None


def _need_nacl() -> None:
    if _nacl is None:
        raise RuntimeError("CURVE needs PyNaCl: pip install pynacl")


def keypair() -> tuple[bytes, bytes]:
    """A new random CURVE key pair as raw 32-octet keys: (public, secret)."""
    _need_nacl()
    return _nacl.crypto_box_keypair()


def public_key(secret: bytes) -> bytes:
    """The raw public key of a secret key (32 raw octets or 40 Z85 characters)."""
    _need_nacl()
    return _nacl.crypto_scalarmult_base(raw_key(secret, "a CURVE secret key"))


def raw_key(key: bytes | str, what: str = "a CURVE key") -> bytes:
    """A CURVE key as 32 raw octets, from 32 octets, 40 Z85 characters, or 41 (Z85 + NUL, as libzmq's
    C API takes them); ValueError otherwise."""
    if isinstance(key, str):
        try:
            key = key.encode("ascii")
        except UnicodeEncodeError:
            raise ValueError(f"{what} in Z85 must be ASCII") from None
    key = bytes(key)
    if len(key) == 41 and key[40] == 0:
        key = key[:40]
    if len(key) == 40:
        return z85.decode(key)
    if len(key) != KEY_SIZE:
        raise ValueError(f"{what} must be 32 octets or 40 Z85 characters, not {len(key)} octets")
    return key


def _open(box: bytes, nonce: bytes, public: bytes, secret: bytes, what: str) -> bytes:
    try:
        return _nacl.crypto_box_open_easy(box, nonce, public, secret)
    except _CryptoError:
        raise ProtocolError(f"CURVE: cannot open {what}", Code.ZMTP_CRYPTOGRAPHIC) from None


def _open_afternm(box: bytes, nonce: bytes, key: bytes, what: str) -> bytes:
    try:
        return _nacl.crypto_box_open_easy_afternm(box, nonce, key)
    except _CryptoError:
        raise ProtocolError(f"CURVE: cannot open {what}", Code.ZMTP_CRYPTOGRAPHIC) from None


def _metadata(data: bytes) -> dict[str, bytes]:
    return decode_metadata(data)


class CurveCodec:
    """MESSAGE encryption of one connection after its handshake, in both directions.

    ``seal(payload, flags)`` returns a MESSAGE command body: ``\\x07MESSAGE``, the 8-octet short nonce,
    and Box[flags + payload] under the precomputed key of (C', S'). ``open(body)`` returns
    ``(flags, payload)``; it raises ProtocolError on anything that is not a MESSAGE, is shorter than 33
    octets, does not open, has reserved flag bits, or whose nonce is not above the last one received.
    ``encode`` / ``encode_command`` give whole frames (header and MESSAGE body in one buffer).
    Sending is serialised by the caller (nonces go out in wire order); so is receiving.

    Fast path: PyNaCl's compiled libsodium module (``nacl._sodium``, cffi API mode: a direct C call,
    ~0.25 us less per call than ctypes, whose argument conversion and libffi set-up run on every call,
    and ~0.4 us less right after the thread slept). A frame is built in one ``bytearray`` (header,
    MESSAGE, nonce, MAC slot, flags + payload copied once) and boxed in place by libsodium (its ``_easy``
    functions allow overlapping buffers); a read's boxes are opened from the read buffer in place into
    one buffer. Without it, the same through ``nacl.bindings`` (three more copies per frame).
    The 24-octet nonce is ``prefix + counter.to_bytes(8)`` (~80 ns; writing the counter into a kept
    buffer costs twice that). cffi releases the GIL around each call; with another thread waiting for
    it, measured here, a 64 B box costs ~2.2 us against ~1.9 us through ctypes.PyDLL (which keeps it).
    """

    __slots__ = ("_key", "_opened", "_peer_nonce", "_recv_prefix", "_send_nonce", "_send_prefix")

    def __init__(
        self, key: bytes, send_prefix: bytes, recv_prefix: bytes, send_nonce: int, peer_nonce: int
    ) -> None:
        self._key = key
        self._send_prefix = send_prefix
        self._recv_prefix = recv_prefix
        self._send_nonce = send_nonce  # the next nonce we use
        self._peer_nonce = peer_nonce  # the last nonce the peer used
        # where received boxes are opened (reused: an allocation per read costs ~0.3 us, ~1.5 us
        # right after the thread woke); a read of more plaintext gets a buffer of its own
        self._opened: Any = _ffi.new(_UCHARS, OPEN_BUFFER) if _ffi is not None else None

    def _next(self) -> bytes:
        n = self._send_nonce
        if n > _NONCE_MAX:
            raise ProtocolError("CURVE: nonce counter exhausted")
        self._send_nonce = n + 1
        return n.to_bytes(8, "big")

    def seal(self, payload: bytes | bytearray | memoryview, flags: int = 0) -> bytes:
        """A MESSAGE command body carrying `payload` with MESSAGE `flags` (FLAG_MORE, FLAG_COMMAND)."""
        short = self._next()
        box = _nacl.crypto_box_easy_afternm(
            _FLAG_OCTET[flags] + payload, self._send_prefix + short, self._key
        )
        return _MESSAGE + short + box

    def frame(self, payload: bytes | bytearray | memoryview, flags: int = 0) -> bytes | bytearray:
        """One whole frame (plain message frame header + MESSAGE body) carrying `payload`."""
        short = self._next()
        size = len(payload) + MESSAGE_MIN
        if _lib is None:
            box = _nacl.crypto_box_easy_afternm(
                _FLAG_OCTET[flags] + payload, self._send_prefix + short, self._key
            )
            head = _SHORT[size] if size < 256 else _LONG + size.to_bytes(8, "big")
            return head + _MESSAGE + short + box
        # laid out by one join (header + MESSAGE, nonce, MAC slot, flags + payload), boxed in place
        if size < 256:
            head, at = _SHORT_MESSAGE[size], 18
        else:
            head, at = _LONG + size.to_bytes(8, "big") + _MESSAGE, 25
        buf = bytearray().join((head, short, _MAC_SLOT, _FLAG_OCTET[flags], payload))
        mac = _ffi.from_buffer(_UCHARS, buf) + at
        _lib.crypto_box_easy_afternm(mac, mac + 16, size - 32, self._send_prefix + short, self._key)
        return buf

    def open(self, body: bytes | bytearray | memoryview) -> tuple[int, bytes]:
        """The (flags, payload) of a MESSAGE command body from the peer."""
        if body[:8] != _MESSAGE:
            raise ProtocolError("CURVE: expected a MESSAGE command", Code.ZMTP_UNEXPECTED_COMMAND)
        size = len(body)
        if size < MESSAGE_MIN:
            raise ProtocolError("CURVE: MESSAGE too short", Code.ZMTP_MALFORMED_COMMAND_MESSAGE)
        short = bytes(body[8:16])
        n = int.from_bytes(short, "big")
        if n <= self._peer_nonce:
            raise ProtocolError(
                "CURVE: MESSAGE nonce not increasing (replayed or reordered)", Code.ZMTP_INVALID_SEQUENCE
            )
        if _lib is None:
            plain = _open_afternm(bytes(body[16:]), self._recv_prefix + short, self._key, "MESSAGE")
            flags = plain[0]
            payload = plain[1:]
        else:  # opened from the body in place into one buffer; the payload is copied out once
            out = self._opened if size - 32 <= OPEN_BUFFER else _ffi.new(_UCHARS, size - 32)
            # a small box is passed as a slice (cheaper than a view), a large one in place
            src = body[16:] if size <= _SLICE_MAX else _ffi.from_buffer(_UCHARS, body) + 16
            if _lib.crypto_box_open_easy_afternm(out, src, size - 16, self._recv_prefix + short, self._key):
                raise ProtocolError("CURVE: cannot open MESSAGE", Code.ZMTP_CRYPTOGRAPHIC)
            flags = out[0]
            payload = _ffi.buffer(out, size - 32)[1:]
        self._peer_nonce = n
        if flags & ~(FLAG_MORE | FLAG_COMMAND):
            raise ProtocolError(
                f"CURVE: reserved MESSAGE flags set: {flags:#04x}", Code.ZMTP_MALFORMED_COMMAND_MESSAGE
            )
        return flags, payload

    def encode_many(self, msgs: Sequence[Sequence[bytes] | bytes], out: list) -> int:
        """Append the wire frames of several messages (each a list of frames, or one ``bytes``) to
        `out`, in order, as ONE buffer; return its size.

        The batch is laid out in a single ``bytearray`` (per frame: header, MESSAGE, nonce, a MAC slot,
        flags + payload) by one join, then each frame is boxed in place: per frame one libsodium call
        and no Python object beyond its nonce and two pointers.
        """
        if _lib is None:
            return sum(self.encode([m] if isinstance(m, bytes) else m, out) for m in msgs)
        if len(msgs) == 1 and isinstance(msgs[0], bytes):  # one frame (a latency path): 0.7 us less
            chunk = self.frame(msgs[0])
            out.append(chunk)
            return len(chunk)
        pieces: list = []
        add = pieces.append
        plains: list[int] = []  # per frame: offset of the MAC slot, then flags + payload length
        mark = plains.append
        n = first = self._send_nonce
        pos = 0
        for frames in msgs:
            if isinstance(frames, bytes):  # one frame, the common case
                length = len(frames)
                size = length + MESSAGE_MIN
                if size < 256:
                    add(_SHORT_MESSAGE[size])
                    pos += 18
                else:
                    add(_LONG + size.to_bytes(8, "big") + _MESSAGE)
                    pos += 25
                add(n.to_bytes(8, "big"))
                add(_MAC_FLAGS[0])
                add(frames)
                mark(pos)
                mark(length + 1)
                pos += 17 + length
                n += 1
                continue
            last = len(frames) - 1
            for i, payload in enumerate(frames):
                length = len(payload)
                size = length + MESSAGE_MIN
                if size < 256:
                    add(_SHORT_MESSAGE[size])
                    pos += 18
                else:
                    add(_LONG + size.to_bytes(8, "big") + _MESSAGE)
                    pos += 25
                add(n.to_bytes(8, "big"))
                add(_MAC_FLAGS[1 if i < last else 0])
                add(payload)
                mark(pos)
                mark(length + 1)
                pos += 17 + length
                n += 1
        if not plains:
            return 0
        if n - 1 > _NONCE_MAX:
            raise ProtocolError("CURVE: nonce counter exhausted")
        self._send_nonce = n
        buf = bytearray().join(pieces)
        at = _ffi.from_buffer(_UCHARS, buf)
        box = _lib.crypto_box_easy_afternm
        prefix = self._send_prefix
        key = self._key
        n = first
        for j in range(0, len(plains), 2):
            mac = at + plains[j]
            box(mac, mac + 16, plains[j + 1], prefix + n.to_bytes(8, "big"), key)
            n += 1
        out.append(buf)
        return pos

    def open_spans(self, data: bytes, spans: Sequence[int]) -> list[tuple[int, bytes]]:
        """``open`` of the MESSAGE bodies ``data[spans[i]:spans[i + 1]]`` (i even), in order.

        Every box is opened from ``data`` in place into one buffer (one allocation, one libsodium
        call per frame), which becomes one ``bytes`` that the payloads are sliced from.
        """
        if len(spans) <= SPANS_ONE_BY_ONE or _lib is None or type(data) is not bytes:
            return [self.open(data[spans[i] : spans[i + 1]]) for i in range(0, len(spans), 2)]
        # the plaintexts together are shorter than the span of the bodies: that bounds the buffer
        bound = spans[-1] - spans[0]
        dst = self._opened if bound <= OPEN_BUFFER else _ffi.new(_UCHARS, bound)
        src = _ffi.from_buffer(_UCHARS, data)
        box_open = _lib.crypto_box_open_easy_afternm
        prefix = self._recv_prefix
        key = self._key
        last = self._peer_nonce
        total = 0
        for i in range(0, len(spans), 2):
            start = spans[i]
            size = spans[i + 1] - start
            if data[start : start + 8] != _MESSAGE:
                raise ProtocolError("CURVE: expected a MESSAGE command", Code.ZMTP_UNEXPECTED_COMMAND)
            if size < MESSAGE_MIN:
                raise ProtocolError("CURVE: MESSAGE too short", Code.ZMTP_MALFORMED_COMMAND_MESSAGE)
            short = data[start + 8 : start + 16]
            n = int.from_bytes(short, "big")
            if n <= last:
                raise ProtocolError(
                    "CURVE: MESSAGE nonce not increasing (replayed or reordered)", Code.ZMTP_INVALID_SEQUENCE
                )
            if box_open(dst + total, src + (start + 16), size - 16, prefix + short, key):
                raise ProtocolError("CURVE: cannot open MESSAGE", Code.ZMTP_CRYPTOGRAPHIC)
            self._peer_nonce = last = n
            total += size - 32
        whole = _ffi.buffer(dst, total)[:]
        out: list[tuple[int, bytes]] = []
        off = 0
        for i in range(0, len(spans), 2):
            end = off + spans[i + 1] - spans[i] - 32
            flags = whole[off]
            if flags & ~(FLAG_MORE | FLAG_COMMAND):
                raise ProtocolError(
                    f"CURVE: reserved MESSAGE flags set: {flags:#04x}", Code.ZMTP_MALFORMED_COMMAND_MESSAGE
                )
            out.append((flags, whole[off + 1 : end]))
            off = end
        return out

    def encode(self, frames: Sequence[bytes], out: list) -> int:
        """Append the wire chunks of one message to `out` (one MESSAGE frame per message frame, in
        plain message frames as libzmq sends them); return the octets appended."""
        total = 0
        last = len(frames) - 1
        append = out.append
        frame = self.frame
        for i, payload in enumerate(frames):
            chunk = bytes(frame(payload, FLAG_MORE if i < last else 0))  # off the hot path: plain bytes
            total += len(chunk)
            append(chunk)
        return total

    def encode_command(self, body: bytes) -> bytes:
        """The wire bytes of one command (name length + name + data) inside a MESSAGE, flagged COMMAND."""
        return bytes(self.frame(body, FLAG_COMMAND))


class _Curve(Mechanism):
    """What both sides share: the mechanism's name, state, the codec once done, traffic calls."""

    name = b"CURVE"
    wraps_traffic = True
    #: octets a MESSAGE body adds to the payload it carries (command, nonce, MAC, flags)
    frame_overhead = MESSAGE_MIN

    def __init__(self, *, as_server: bool, zap: bool = False) -> None:
        _need_nacl()
        super().__init__(as_server=as_server, zap=zap)
        self.codec: CurveCodec | None = None
        self._state = "start"

    def _unexpected(self, name: bytes) -> ProtocolError:
        return ProtocolError(
            f"CURVE: unexpected command {name!r} in state {self._state}", Code.ZMTP_UNEXPECTED_COMMAND
        )

    def _finish(self, codec: CurveCodec) -> None:
        self.codec = codec
        # traffic calls go straight to the codec (one Python call less per read and per write)
        self.encode = codec.encode  # type: ignore[method-assign]
        self.encode_command = codec.encode_command  # type: ignore[method-assign]
        self.encode_many = codec.encode_many  # type: ignore[method-assign]
        self.decode = codec.open  # type: ignore[method-assign]
        self.decode_spans = codec.open_spans  # type: ignore[method-assign]
        self._state = "done"
        self.done = True
        self.output_open = True

    # -- traffic after the handshake (see CurveCodec)
    def encode(self, frames: Sequence[bytes], out: list) -> int:
        """Append the wire chunks of one message to `out`; return the octets appended."""
        assert self.codec is not None, "CURVE traffic before the handshake"
        return self.codec.encode(frames, out)

    def encode_command(self, body: bytes) -> bytes:
        """The wire bytes carrying one command body (PING, SUBSCRIBE...) after the handshake."""
        assert self.codec is not None, "CURVE traffic before the handshake"
        return self.codec.encode_command(body)

    def decode(self, body: bytes) -> tuple[int, bytes]:
        """One received frame body: (flags, payload); ProtocolError unless it is a good MESSAGE."""
        if self.codec is None:
            raise ProtocolError("CURVE: MESSAGE before the handshake completed", Code.ZMTP_UNEXPECTED_COMMAND)
        return self.codec.open(body)

    def encode_many(self, msgs: Sequence[Sequence[bytes] | bytes], out: list) -> int:
        """Append the wire frames of several messages to `out` (one buffer); return the octets appended."""
        assert self.codec is not None, "CURVE traffic before the handshake"
        return self.codec.encode_many(msgs, out)

    def decode_spans(self, data: bytes, spans: Sequence[int]) -> list[tuple[int, bytes]]:
        """``decode`` of several frame bodies of ``data``, in order (see ``CurveCodec.open_spans``)."""
        if self.codec is None:
            raise ProtocolError("CURVE: MESSAGE before the handshake completed", Code.ZMTP_UNEXPECTED_COMMAND)
        return self.codec.open_spans(data, spans)


class CurveClient(_Curve):
    """The client side of a CURVE handshake (``CURVE_SERVER=0`` with ``CURVE_SERVERKEY`` set).

    ``start(metadata)`` returns HELLO; ``receive(b"WELCOME", ...)`` returns INITIATE (carrying
    `metadata`, our encoded properties); ``receive(b"READY", ...)`` completes the handshake. An ERROR
    from the server raises HandshakeRefused.
    """

    def __init__(self, public: bytes, secret: bytes, server_key: bytes) -> None:
        super().__init__(as_server=False)
        self._public = raw_key(public, "CURVE_PUBLICKEY")
        self._secret = raw_key(secret, "CURVE_SECRETKEY")
        self._server = raw_key(server_key, "CURVE_SERVERKEY")
        self._cn_public, self._cn_secret = _nacl.crypto_box_keypair()  # C', c'
        self._nonce = 1  # the next short nonce we send
        self._metadata = b""
        self._precom = b""

    def _next_nonce(self) -> bytes:
        n = self._nonce
        self._nonce = n + 1
        return n.to_bytes(8, "big")

    def start(self, metadata: bytes = b"") -> list[Command]:
        """The peer's greeting arrived: HELLO (`metadata` goes into INITIATE later)."""
        if self._state != "start":
            return []
        self._metadata = bytes(metadata)
        self._state = "welcome"
        short = self._next_nonce()
        try:
            box = _nacl.crypto_box_easy(bytes(64), b"CurveZMQHELLO---" + short, self._server, self._cn_secret)
        except _CryptoError:  # a server key libsodium refuses (a low-order point, e.g. all zeros)
            raise ProtocolError("CURVE: unusable server key") from None
        return [(b"HELLO", _VERSION + _HELLO_PADDING + self._cn_public + short + box)]

    def receive(self, name: bytes, data: bytes) -> list[Command]:
        """One command from the server; the commands to send in reply."""
        if name == b"ERROR" and self._state in ("welcome", "ready"):
            self._state = "refused"
            raise HandshakeRefused(f"peer refused the handshake: {decode_error_reason(data)}", 0)
        if self._state == "welcome" and name == b"WELCOME":
            try:
                return [self._welcome(data)]
            except _CryptoError:  # e.g. a weak transient key from a hostile server
                raise ProtocolError(
                    "CURVE: WELCOME carries an unusable key", Code.ZMTP_KEY_EXCHANGE
                ) from None
        if self._state == "ready" and name == b"READY":
            self._ready(data)
            return []
        raise self._unexpected(name)

    def _welcome(self, data: bytes) -> Command:
        if len(data) != WELCOME_SIZE - 8:
            raise ProtocolError("CURVE: malformed WELCOME", Code.ZMTP_MALFORMED_COMMAND_WELCOME)
        plain = _open(data[16:], b"WELCOME-" + data[:16], self._server, self._cn_secret, "WELCOME")
        server_transient, cookie = plain[:32], plain[32:]
        self._precom = _nacl.crypto_box_beforenm(server_transient, self._cn_secret)
        # vouch = Box[C' + S](C->S'), with a long nonce
        vouch_nonce = _nacl.randombytes(16)
        vouch = _nacl.crypto_box_easy(
            self._cn_public + self._server, b"VOUCH---" + vouch_nonce, server_transient, self._secret
        )
        short = self._next_nonce()
        box = _nacl.crypto_box_easy_afternm(
            self._public + vouch_nonce + vouch + self._metadata, b"CurveZMQINITIATE" + short, self._precom
        )
        self._state = "ready"
        return (b"INITIATE", cookie + short + box)

    def _ready(self, data: bytes) -> None:
        if len(data) < READY_MIN - 6:
            raise ProtocolError("CURVE: malformed READY", Code.ZMTP_MALFORMED_COMMAND_READY)
        short = data[:8]
        plain = _open_afternm(data[8:], b"CurveZMQREADY---" + short, self._precom, "READY")
        self.peer_metadata = _metadata(plain)
        self._finish(
            CurveCodec(
                self._precom,
                b"CurveZMQMESSAGEC",
                b"CurveZMQMESSAGES",
                self._nonce,
                int.from_bytes(short, "big"),
            )
        )


class CurveServer(_Curve):
    """The server side of a CURVE handshake (``CURVE_SERVER=1``).

    ``receive(b"HELLO", ...)`` returns WELCOME; ``receive(b"INITIATE", ...)`` checks the cookie, the
    vouch and the client's key, then returns READY (handshake done) or, with ``zap=True``, sets
    :attr:`zap_request` (credentials: the client's permanent public key C, also in :attr:`client_key`)
    and waits for :meth:`zap_reply`: READY for 200, else ``Refused`` (ERROR "400"/"500", none for 300).
    """

    def __init__(self, secret: bytes, *, zap: bool = False) -> None:
        super().__init__(as_server=True, zap=zap)
        self._secret = raw_key(secret, "CURVE_SECRETKEY")
        self._public = _nacl.crypto_scalarmult_base(self._secret)
        self._metadata = b""
        self._cookie_key = b""  # the only secret kept between WELCOME and INITIATE
        self._precom = b""
        self._peer_nonce = 0
        #: the client's permanent public key C (raw), known once INITIATE is verified
        self.client_key: bytes | None = None

    def start(self, metadata: bytes = b"") -> list[Command]:
        """The peer's greeting arrived: nothing to send yet (the client speaks first)."""
        if self._state == "start":
            self._metadata = bytes(metadata)
            self._state = "hello"
        return []

    def receive(self, name: bytes, data: bytes) -> list[Command]:
        """One command from the client; the commands to send in reply."""
        if self._state == "hello" and name == b"HELLO":
            return [self._hello(data)]
        if self._state == "initiate" and name == b"INITIATE":
            return self._initiate(data)
        raise self._unexpected(name)

    def _hello(self, data: bytes) -> Command:
        if len(data) != HELLO_SIZE - 6:
            raise ProtocolError(
                f"CURVE: HELLO of {len(data) + 6} octets (must be {HELLO_SIZE})",
                Code.ZMTP_MALFORMED_COMMAND_HELLO,
            )
        if data[:2] != _VERSION:
            raise ProtocolError("CURVE: unknown HELLO version", Code.ZMTP_MALFORMED_COMMAND_HELLO)
        client_transient = data[74:106]
        _open(data[114:], b"CurveZMQHELLO---" + data[106:114], client_transient, self._secret, "HELLO")
        # a fresh transient key pair; C' and s' go into the cookie, sealed with a fresh cookie key
        server_transient, server_transient_secret = _nacl.crypto_box_keypair()
        self._cookie_key = _nacl.randombytes(32)
        cookie_nonce = _nacl.randombytes(16)
        cookie = cookie_nonce + _nacl.crypto_secretbox(
            client_transient + server_transient_secret, b"COOKIE--" + cookie_nonce, self._cookie_key
        )
        welcome_nonce = _nacl.randombytes(16)
        box = _nacl.crypto_box_easy(
            server_transient + cookie, b"WELCOME-" + welcome_nonce, client_transient, self._secret
        )
        self._state = "initiate"
        return (b"WELCOME", welcome_nonce + box)

    def _initiate(self, data: bytes) -> list[Command]:
        if len(data) < INITIATE_MIN - 9:
            raise ProtocolError("CURVE: malformed INITIATE", Code.ZMTP_MALFORMED_COMMAND_INITIATE)
        key, self._cookie_key = self._cookie_key, b""  # a cookie is good for one INITIATE
        try:
            cookie = _nacl.crypto_secretbox_open(data[16:96], b"COOKIE--" + data[:16], key)
        except _CryptoError:
            raise ProtocolError("CURVE: invalid cookie", Code.ZMTP_CRYPTOGRAPHIC) from None
        client_transient, server_transient_secret = cookie[:32], cookie[32:]
        short = data[96:104]
        self._precom = _nacl.crypto_box_beforenm(client_transient, server_transient_secret)
        plain = _open_afternm(data[104:], b"CurveZMQINITIATE" + short, self._precom, "INITIATE")
        client_key, vouch_nonce, vouch = plain[:32], plain[32:48], plain[48:128]
        vouched = _open(vouch, b"VOUCH---" + vouch_nonce, client_key, server_transient_secret, "vouch")
        if vouched != client_transient + self._public:
            raise ProtocolError("CURVE: the vouch does not match the connection", Code.ZMTP_KEY_EXCHANGE)
        self.peer_metadata = _metadata(plain[128:])
        self.client_key = client_key
        self._peer_nonce = int.from_bytes(short, "big")
        if self.zap:
            self._state = "zap"
            self.zap_request = ZapRequest(b"CURVE", (client_key,))
            return []
        return [self._ready()]

    def zap_reply(self, reply: ZapReply) -> list[Command]:
        """The ZAP handler's verdict on :attr:`zap_request`: READY for 200, else ``Refused``."""
        if self._state != "zap":
            raise ProtocolError("CURVE: no ZAP request is waiting")
        if reply.status_code != "200":
            self._state = "refused"
            raise zap_refusal(reply)
        return [self._ready()]

    def _ready(self) -> Command:
        # the server's short nonces: 1 for READY, MESSAGE continues from 2
        short = (1).to_bytes(8, "big")
        box = _nacl.crypto_box_easy_afternm(self._metadata, b"CurveZMQREADY---" + short, self._precom)
        self._finish(CurveCodec(self._precom, b"CurveZMQMESSAGES", b"CurveZMQMESSAGEC", 2, self._peer_nonce))
        return (b"READY", short + box)
