"""The CURVE security mechanism: CurveZMQ (RFC 25) over ZMTP (RFC 26), as libzmq speaks it, over PyNaCl.

Owns: CURVE keys (``keypair``, ``public_key``), the client and server handshakes (HELLO, WELCOME with the
cookie, INITIATE with the vouch, READY, ERROR) and ``CurveCodec``, the MESSAGE encryption of every frame
after the handshake. Rules: pure (no sockets, threads or clock; randomness comes from libsodium);
imports only zlab.errors and siblings. Handshake objects take and return command *bodies* (name length,
name, data), never frames or bytes of the stream; every malformed, forged or replayed input raises
``ProtocolError`` (``HandshakeRefused`` when the peer is refused or refuses us) and nothing else.

Where libzmq and the RFC differ, this follows libzmq (ZMTP-NOTES section 8): HELLO carries 72 octets of
zero padding (200 octets in all), and the flags octet inside a MESSAGE box carries MORE in bit 0 and
COMMAND in bit 1 (commands after the handshake, e.g. PING and SUBSCRIBE, travel inside MESSAGE). A MESSAGE
travels in an ordinary message frame without MORE, as libzmq sends it. Short nonces are 64-bit counters
per direction that must strictly increase: a replayed or reordered MESSAGE is a protocol error.

The server keeps no secret of the connection between WELCOME and INITIATE but a short-lived cookie key:
the client's transient key C' and the server's transient secret s' travel inside the cookie, sealed with
that key, and come back in INITIATE.
"""

from __future__ import annotations

from collections.abc import Mapping

from zlab.errors import HandshakeRefused, ProtocolError

from .commands import decode_error_reason, decode_metadata, encode_error_reason, encode_metadata

try:  # CURVE needs PyNaCl (libsodium); zlab without it still speaks NULL
    from nacl import bindings as _nacl
    from nacl.exceptions import CryptoError as _CryptoError
except ImportError:  # pragma: no cover - exercised only where PyNaCl is missing
    _nacl = None  # type: ignore[assignment]
    _CryptoError = Exception  # type: ignore[assignment,misc]

KEY_SIZE = 32
"""Octets of a CURVE public or secret key (Curve25519)."""
MAC_SIZE = 16
"""Octets a crypto_box adds to its plaintext (the Poly1305 authenticator)."""

HELLO_SIZE = 200
WELCOME_SIZE = 168
INITIATE_MIN = 257
READY_MIN = 30
MESSAGE_MIN = 33
COOKIE_SIZE = 96

FLAG_MORE = 0x01
"""MESSAGE flags bit 0: more frames of this message follow."""
FLAG_COMMAND = 0x02
"""MESSAGE flags bit 1: the payload is a command body (libzmq's ``msg_t::command``)."""

_HELLO = b"\x05HELLO"
_WELCOME = b"\x07WELCOME"
_INITIATE = b"\x08INITIATE"
_READY = b"\x05READY"
_ERROR = b"\x05ERROR"
_MESSAGE = b"\x07MESSAGE"
_VERSION = b"\x01\x00"
_HELLO_PADDING = bytes(72)
_NONCE_MAX = (1 << 64) - 1


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
    """The raw public key of a raw 32-octet secret key."""
    _need_nacl()
    if len(secret) != KEY_SIZE:
        raise ValueError("a CURVE secret key is 32 octets")
    return _nacl.crypto_scalarmult_base(bytes(secret))


def _check_key(key: bytes, what: str) -> bytes:
    key = bytes(key)
    if len(key) != KEY_SIZE:
        raise ValueError(f"{what} must be 32 octets, not {len(key)}")
    return key


def _open(box: bytes, nonce: bytes, public: bytes, secret: bytes, what: str) -> bytes:
    try:
        return _nacl.crypto_box_open_easy(box, nonce, public, secret)
    except _CryptoError:
        raise ProtocolError(f"CURVE: cannot open {what}") from None


def _open_afternm(box: bytes, nonce: bytes, key: bytes, what: str) -> bytes:
    try:
        return _nacl.crypto_box_open_easy_afternm(box, nonce, key)
    except _CryptoError:
        raise ProtocolError(f"CURVE: cannot open {what}") from None


def _command_name(body: bytes) -> bytes:
    return body[1 : 1 + body[0]] if body else b""


def _short_nonce(n: int) -> bytes:
    if n > _NONCE_MAX:
        raise ProtocolError("CURVE: nonce counter exhausted")
    return n.to_bytes(8, "big")


class CurveCodec:
    """MESSAGE encryption of one connection after its handshake, in both directions.

    ``encrypt(payload, flags)`` returns a MESSAGE command body: ``\\x07MESSAGE``, the 8-octet short nonce,
    and Box[flags + payload] under the precomputed key of (C', S'). ``decrypt(body)`` returns
    ``(flags, payload)``; it raises ProtocolError on anything that is not a MESSAGE, is shorter than 33
    octets, does not open, or whose nonce is not above the last one received.
    """

    __slots__ = ("_key", "_peer_nonce", "_recv_prefix", "_send_nonce", "_send_prefix")

    def __init__(self, key: bytes, send_prefix: bytes, recv_prefix: bytes, send_nonce: int, peer_nonce: int):
        self._key = key
        self._send_prefix = send_prefix
        self._recv_prefix = recv_prefix
        self._send_nonce = send_nonce  # the next nonce we use
        self._peer_nonce = peer_nonce  # the last nonce the peer used

    def encrypt(self, payload: bytes | bytearray | memoryview, flags: int = 0) -> bytes:
        """A MESSAGE command body carrying `payload` with MESSAGE `flags` (FLAG_MORE, FLAG_COMMAND)."""
        n = self._send_nonce
        if n > _NONCE_MAX:
            raise ProtocolError("CURVE: nonce counter exhausted")
        self._send_nonce = n + 1
        short = n.to_bytes(8, "big")
        box = _nacl.crypto_box_easy_afternm(bytes((flags,)) + payload, self._send_prefix + short, self._key)
        return _MESSAGE + short + box

    def decrypt(self, body: bytes) -> tuple[int, bytes]:
        """The (flags, payload) of a MESSAGE command body from the peer."""
        if body[:8] != _MESSAGE:
            raise ProtocolError("CURVE: expected a MESSAGE command")
        if len(body) < MESSAGE_MIN:
            raise ProtocolError("CURVE: MESSAGE too short")
        short = body[8:16]
        n = int.from_bytes(short, "big")
        if n <= self._peer_nonce:
            raise ProtocolError("CURVE: MESSAGE nonce not increasing (replayed or reordered)")
        try:
            plain = _nacl.crypto_box_open_easy_afternm(body[16:], self._recv_prefix + short, self._key)
        except _CryptoError:
            raise ProtocolError("CURVE: cannot open MESSAGE") from None
        self._peer_nonce = n
        flags = plain[0]
        if flags & ~(FLAG_MORE | FLAG_COMMAND):
            raise ProtocolError(f"CURVE: reserved MESSAGE flags set: {flags:#04x}")
        return flags, plain[1:]


class _Handshake:
    """What both sides share: state, the codec once done, the peer's properties."""

    #: True once the handshake completed (READY received by the client, sent by the server)
    done: bool
    #: the peer's properties (INITIATE / READY metadata), names as sent
    peer_metadata: dict[str, bytes]
    #: the MESSAGE codec, set when the handshake completes
    codec: CurveCodec | None

    def __init__(self) -> None:
        _need_nacl()
        self.done = False
        self.peer_metadata = {}
        self.codec = None

    def _peer_error(self, body: bytes) -> None:
        """A peer's ERROR command body: refused, with its reason."""
        reason = decode_error_reason(body[len(_ERROR) :])
        raise HandshakeRefused(f"peer refused the handshake: {reason}")


class CurveClient(_Handshake):
    """The client side of a CURVE handshake (libzmq's ``CURVE_SERVER=0`` side, usually the connecter).

    ``start()`` returns HELLO; ``receive(WELCOME)`` returns INITIATE (carrying `metadata`, our properties);
    ``receive(READY)`` completes the handshake. An ERROR from the server raises HandshakeRefused.
    """

    def __init__(
        self, public: bytes, secret: bytes, server_key: bytes, metadata: Mapping[str, bytes] | None = None
    ) -> None:
        super().__init__()
        self._public = _check_key(public, "CURVE_PUBLICKEY")
        self._secret = _check_key(secret, "CURVE_SECRETKEY")
        self._server = _check_key(server_key, "CURVE_SERVERKEY")
        self._metadata = encode_metadata(metadata or {})
        self._cn_public, self._cn_secret = _nacl.crypto_box_keypair()  # C', c'
        self._nonce = 1  # the next short nonce we send
        self._state = "start"
        self._precom = b""

    def start(self) -> list[bytes]:
        """The command bodies to send first: HELLO."""
        if self._state != "start":
            return []
        self._state = "welcome"
        short = _short_nonce(self._nonce)
        self._nonce += 1
        box = _nacl.crypto_box_easy(bytes(64), b"CurveZMQHELLO---" + short, self._server, self._cn_secret)
        hello = _HELLO + _VERSION + _HELLO_PADDING + self._cn_public + short + box
        assert len(hello) == HELLO_SIZE
        return [hello]

    def receive(self, body: bytes) -> list[bytes]:
        """Handle one command body from the server; return the command bodies to send in reply."""
        if body[:6] == _ERROR and self._state in ("welcome", "ready"):
            self._peer_error(body)
        if self._state == "welcome" and body[:8] == _WELCOME:
            try:
                return [self._welcome(body)]
            except _CryptoError:  # e.g. a weak transient key from a hostile server
                raise ProtocolError("CURVE: WELCOME carries an unusable key") from None
        if self._state == "ready" and body[:6] == _READY:
            self._ready(body)
            return []
        raise ProtocolError(f"CURVE: unexpected command {_command_name(body)!r} in state {self._state}")

    def _welcome(self, body: bytes) -> bytes:
        if len(body) != WELCOME_SIZE:
            raise ProtocolError("CURVE: malformed WELCOME")
        plain = _open(body[24:], b"WELCOME-" + body[8:24], self._server, self._cn_secret, "WELCOME")
        server_transient, cookie = plain[:32], plain[32:]
        self._precom = _nacl.crypto_box_beforenm(server_transient, self._cn_secret)
        # vouch = Box[C' + S](C->S'), with a long nonce
        vouch_nonce = _nacl.randombytes(16)
        vouch = _nacl.crypto_box_easy(
            self._cn_public + self._server, b"VOUCH---" + vouch_nonce, server_transient, self._secret
        )
        short = _short_nonce(self._nonce)
        self._nonce += 1
        box = _nacl.crypto_box_easy_afternm(
            self._public + vouch_nonce + vouch + self._metadata, b"CurveZMQINITIATE" + short, self._precom
        )
        self._state = "ready"
        return _INITIATE + cookie + short + box

    def _ready(self, body: bytes) -> None:
        if len(body) < READY_MIN:
            raise ProtocolError("CURVE: malformed READY")
        short = body[6:14]
        plain = _open_afternm(body[14:], b"CurveZMQREADY---" + short, self._precom, "READY")
        self.peer_metadata = decode_metadata(plain)
        self.codec = CurveCodec(
            self._precom, b"CurveZMQMESSAGEC", b"CurveZMQMESSAGES", self._nonce, int.from_bytes(short, "big")
        )
        self._state = "done"
        self.done = True


class CurveServer(_Handshake):
    """The server side of a CURVE handshake (``CURVE_SERVER=1``, usually the binder).

    ``receive(HELLO)`` returns WELCOME; ``receive(INITIATE)`` checks the cookie, the vouch and the client's
    key, and then either returns READY (handshake done) or, when `authenticate` is true, leaves the
    decision to the caller (ZAP): :attr:`client_key` holds the client's permanent public key C, and
    :meth:`accept` / :meth:`refuse` return READY / ERROR.
    """

    def __init__(self, secret: bytes, metadata: Mapping[str, bytes] | None = None, authenticate: bool = False):
        super().__init__()
        self._secret = _check_key(secret, "CURVE_SECRETKEY")
        self._public = _nacl.crypto_scalarmult_base(self._secret)
        self._metadata = encode_metadata(metadata or {})
        self._authenticate = authenticate
        self._state = "hello"
        self._cookie_key = b""  # the only secret kept between WELCOME and INITIATE
        self._precom = b""
        self._peer_nonce = 0
        #: the client's permanent public key C (raw), known once INITIATE is verified
        self.client_key: bytes | None = None

    def start(self) -> list[bytes]:
        """The command bodies to send first: none (the client speaks first)."""
        return []

    @property
    def waiting_for_auth(self) -> bool:
        """INITIATE is verified and the caller has to accept or refuse the client."""
        return self._state == "auth"

    def receive(self, body: bytes) -> list[bytes]:
        """Handle one command body from the client; return the command bodies to send in reply."""
        if self._state == "hello":
            return [self._hello(body)]
        if self._state == "initiate":
            return self._initiate(body)
        raise ProtocolError(f"CURVE: unexpected command {_command_name(body)!r} in state {self._state}")

    def _hello(self, body: bytes) -> bytes:
        if body[:6] != _HELLO:
            raise ProtocolError("CURVE: expected HELLO")
        if len(body) != HELLO_SIZE:
            raise ProtocolError(f"CURVE: HELLO of {len(body)} octets (must be {HELLO_SIZE})")
        if body[6:8] != _VERSION:
            raise ProtocolError("CURVE: unknown HELLO version")
        client_transient = body[80:112]
        _open(body[120:200], b"CurveZMQHELLO---" + body[112:120], client_transient, self._secret, "HELLO")
        # fresh transient key pair; C' and s' go into the cookie, sealed with a fresh cookie key
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
        return _WELCOME + welcome_nonce + box

    def _initiate(self, body: bytes) -> list[bytes]:
        if body[:9] != _INITIATE:
            raise ProtocolError("CURVE: expected INITIATE")
        if len(body) < INITIATE_MIN:
            raise ProtocolError("CURVE: malformed INITIATE")
        key, self._cookie_key = self._cookie_key, b""  # a cookie is good for one INITIATE
        try:
            cookie = _nacl.crypto_secretbox_open(body[25:105], b"COOKIE--" + body[9:25], key)
        except _CryptoError:
            raise ProtocolError("CURVE: invalid cookie") from None
        client_transient, server_transient_secret = cookie[:32], cookie[32:64]
        short = body[105:113]
        self._precom = _nacl.crypto_box_beforenm(client_transient, server_transient_secret)
        plain = _open_afternm(body[113:], b"CurveZMQINITIATE" + short, self._precom, "INITIATE")
        client_key, vouch_nonce, vouch = plain[:32], plain[32:48], plain[48:128]
        vouched = _open(vouch, b"VOUCH---" + vouch_nonce, client_key, server_transient_secret, "vouch")
        if vouched != client_transient + self._public:
            raise ProtocolError("CURVE: the vouch does not match the connection")
        self.peer_metadata = decode_metadata(plain[128:])
        self.client_key = client_key
        self._peer_nonce = int.from_bytes(short, "big")
        if self._authenticate:
            self._state = "auth"
            return []
        return [self._ready()]

    def accept(self) -> list[bytes]:
        """The caller lets the client in (ZAP 200): READY, and the handshake is done."""
        if self._state != "auth":
            raise RuntimeError("accept() only while waiting_for_auth")
        return [self._ready()]

    def refuse(self, status: str) -> list[bytes]:
        """The caller refuses the client (ZAP 400/500): ERROR with `status` as reason (none for 300)."""
        if self._state != "auth":
            raise RuntimeError("refuse() only while waiting_for_auth")
        self._state = "refused"
        if status == "300":
            return []
        return [_ERROR + encode_error_reason(status)]

    def _ready(self) -> bytes:
        # the server's short nonces start at 1 (READY), MESSAGE continues from 2
        box = _nacl.crypto_box_easy_afternm(self._metadata, b"CurveZMQREADY---" + _short_nonce(1), self._precom)
        self.codec = CurveCodec(self._precom, b"CurveZMQMESSAGES", b"CurveZMQMESSAGEC", 2, self._peer_nonce)
        self._state = "done"
        self.done = True
        return _READY + _short_nonce(1) + box
