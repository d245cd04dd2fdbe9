"""A sans-I/O CURVE handshake (zlab.zmtp.curve) driven over a plain blocking TCP socket, with no zlab
socket or Connection involved: the greeting comes from zlab.zmtp.greeting, frames from zlab.zmtp.frames,
and this helper does the rest (read frames, feed command bodies, encrypt and decrypt MESSAGEs)."""

from __future__ import annotations

import socket

from zlab.zmtp.commands import encode_metadata, split_command
from zlab.zmtp.curve import FLAG_COMMAND, FLAG_MORE, CurveClient, CurveServer
from zlab.zmtp.frames import FLAG_COMMAND as ZMTP_COMMAND
from zlab.zmtp.frames import FLAG_LONG, command_frame, encode_message
from zlab.zmtp.frames import FLAG_MORE as ZMTP_MORE
from zlab.zmtp.greeting import GREETING_SIZE, build_greeting, check_greeting


class PeerClosed(Exception):
    """The peer closed the TCP connection."""


class CurveWire:
    """One ZMTP CURVE connection over a connected blocking socket, either side.

    ``frames`` records (outer flags, body) of every frame read, so tests can look at what libzmq sent.
    ``commands`` records the command bodies that arrived inside MESSAGE (flag bit 1), e.g. PING.
    """

    def __init__(self, sock: socket.socket, mech: CurveClient | CurveServer) -> None:
        self.sock = sock
        self.mech = mech
        self.buf = b""
        self.frames: list[tuple[int, bytes]] = []
        self.commands: list[bytes] = []
        self.sock.sendall(build_greeting(b"CURVE", as_server=isinstance(mech, CurveServer)))

    # -- raw reading
    def _need(self, n: int) -> bytes:
        while len(self.buf) < n:
            data = self.sock.recv(1 << 20)
            if not data:
                raise PeerClosed
            self.buf += data
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def read_frame(self) -> tuple[int, bytes]:
        flags = self._need(1)[0]
        size = int.from_bytes(self._need(8), "big") if flags & FLAG_LONG else self._need(1)[0]
        body = self._need(size)
        self.frames.append((flags, body))
        return flags, body

    def send_command(self, name: bytes, data: bytes) -> None:
        """A clear command frame (handshake)."""
        self.sock.sendall(command_frame(name, data))

    # -- handshake
    def handshake(self, metadata: dict[str, bytes]) -> None:
        """Greeting, then commands through the mechanism until it is done; `metadata`: our properties."""
        greeting = self._need(GREETING_SIZE)
        check_greeting(greeting, b"CURVE")
        for command in self.mech.start(encode_metadata(metadata)):
            self.send_command(*command)
        while not self.mech.done:
            flags, body = self.read_frame()
            assert flags & ZMTP_COMMAND, f"handshake frame without COMMAND flag: {flags:#x}"
            for reply in self.mech.receive(*split_command(body)):
                self.send_command(*reply)

    # -- messages
    def send(self, frames: list[bytes]) -> None:
        """One message, a MESSAGE frame per frame (the mechanism's own encoding)."""
        out: list = []
        self.mech.encode(frames, out)
        self.sock.sendall(b"".join(out))

    def send_sealed(self, frames: list[bytes]) -> None:
        """One message framed here with frames.encode_message around the codec's MESSAGE bodies."""
        codec = self.mech.codec
        assert codec is not None
        out: list = []
        last = len(frames) - 1
        for i, f in enumerate(frames):
            encode_message([codec.seal(f, FLAG_MORE if i < last else 0)], out)
        self.sock.sendall(b"".join(out))

    def send_command_inside(self, name: bytes, data: bytes = b"") -> None:
        """A command inside MESSAGE, flagged COMMAND as libzmq does."""
        self.sock.sendall(self.mech.encode_command(bytes((len(name),)) + name + data))

    def read_message_frame(self) -> tuple[int, bytes]:
        """Read and decrypt one MESSAGE: (flags, payload); commands are recorded in ``commands`` too."""
        outer, body = self.read_frame()
        assert not outer & ZMTP_MORE, "libzmq never sets MORE on the frame around a MESSAGE"
        flags, payload = self.mech.decode(body)
        if flags & FLAG_COMMAND:
            self.commands.append(payload)
        return flags, payload

    def wait_command(self, prefix: bytes) -> bytes:
        """Read until a command inside MESSAGE starts with `prefix` (data frames are dropped)."""
        while True:
            for c in self.commands:
                if c.startswith(prefix):
                    return c
            self.read_message_frame()

    def recv(self) -> list[bytes]:
        """The next application message (commands inside MESSAGE are recorded in ``commands``)."""
        parts: list[bytes] = []
        while True:
            flags, payload = self.read_message_frame()
            if flags & FLAG_COMMAND:
                continue
            parts.append(payload)
            if not flags & FLAG_MORE:
                return parts

    def close(self) -> None:
        self.sock.close()
