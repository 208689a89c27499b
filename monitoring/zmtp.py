"""One ZMTP 3 subscriber connection on a plain TCP socket, every size checked before it is read.

libzmq cannot bound what a publisher sends a subscriber: its size limit (``ZMQ_MAXMSGSIZE``) is
per frame, a multipart message becomes readable only once all of its frames sit in memory, and a
frame over the limit is a protocol error after which a SUB socket never reconnects. This client
speaks the wire protocol itself (ZMTP 3.0, NULL security, RFC 23), as a SUB peer of any libzmq
PUB or XPUB socket, and reads each frame header before the frame:

- a message whose frames add up to more than ``max_message_bytes``, or that has more than
  ``max_frames`` frames, is read past and dropped without being kept (``events.wire.Oversized``
  or ``MalformedMessage``), and the connection goes on;
- a frame over ``hard_frame_bytes``, broken framing, a peer that is not a ZMTP 3 publisher or
  one that sends an ERROR command raise ``ProtocolError``: the caller drops the connection and
  dials again.

Frames are read straight into buffers of their exact size: one copy, from the kernel.
"""

from __future__ import annotations

import socket
import threading
import time
from dataclasses import dataclass

from events.wire import MalformedMessage, Oversized, WireError

SIGNATURE_END = 9  # byte 0 is 0xFF, bytes 1-8 padding, byte 9 is 0x7F
GREETING = b"\xff" + b"\0" * 8 + b"\x7f" + bytes([3, 0]) + b"NULL".ljust(20, b"\0") + b"\0" + b"\0" * 31
MORE, LONG, COMMAND = 0x01, 0x02, 0x04
MAX_COMMAND_BYTES = 4096  # READY with its properties, PING, ERROR: all far smaller
PUBLISHER_TYPES = (b"PUB", b"XPUB")
_BUFFER_BYTES = 1 << 18  # socket reads of small frames go through a buffer of this size
_DIRECT_BYTES = 1 << 16  # the rest of a frame at least this large is read straight into it


class ProtocolError(Exception):
    """The peer broke the protocol: the connection must be dropped. ``reason`` is a short key."""

    def __init__(self, reason: str, text: str) -> None:
        super().__init__(text)
        self.reason = reason


class Stopped(Exception):
    """The caller's stop flag was set while waiting for the peer."""


@dataclass
class Incoming:
    """One message: its frames, or the reason it was dropped unread; ``nbytes`` either way."""

    frames: list[memoryview]
    nbytes: int
    dropped: WireError | None = None


class SubscriberConnection:
    """A connected, subscribed ZMTP session with one publisher; ``recv()`` the messages."""

    def __init__(
        self,
        host: str,
        port: int,
        stop: threading.Event,
        *,
        max_message_bytes: int,
        max_frames: int,
        hard_frame_bytes: int,
        connect_timeout_s: float = 2.0,
        handshake_timeout_s: float = 5.0,
        poll_s: float = 0.1,
    ) -> None:
        self._stop = stop
        self.max_message_bytes = max_message_bytes
        self.max_frames = max_frames
        self.hard_frame_bytes = hard_frame_bytes
        self.peer_type = b""
        self._buffer = bytearray(_BUFFER_BYTES)
        self._view = memoryview(self._buffer)
        self._lo = self._hi = 0  # the unread bytes are _buffer[_lo:_hi]
        self._deadline: float | None = None
        self._sock = socket.create_connection((host, port), timeout=connect_timeout_s)
        try:
            self._sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
            self._sock.settimeout(poll_s)
            self._deadline = time.monotonic() + handshake_timeout_s
            self._handshake()
            self._deadline = None
        except BaseException:
            self.close()
            raise

    def close(self) -> None:
        self._sock.close()

    # -- handshake --------------------------------------------------------------------------
    def _handshake(self) -> None:
        self._send(GREETING)
        greeting = self._take(len(GREETING))
        if greeting[0] != 0xFF or greeting[SIGNATURE_END] != 0x7F:
            raise ProtocolError("handshake", f"not a ZeroMQ peer (it sent {greeting[:10]!r})")
        major, minor = greeting[10], greeting[11]
        if major < 3:
            raise ProtocolError("handshake", f"ZMTP {major}.{minor} peer: version 3 or newer is needed")
        mechanism = greeting[12:32].rstrip(b"\0")
        if mechanism != b"NULL":
            raise ProtocolError("handshake", f"security mechanism {mechanism[:20]!r}: only NULL is supported")
        self._send(_command(b"READY", _property(b"Socket-Type", b"SUB")))
        flags, size = self._frame_header()
        if not flags & COMMAND:
            raise ProtocolError("handshake", "a message frame before the READY command")
        name, data = self._command_body(size)
        if name == b"ERROR":
            raise ProtocolError("peer error", f"peer refused the session: {_error_text(data)}")
        if name != b"READY":
            raise ProtocolError("handshake", f"command {name[:20]!r} where READY was expected")
        self.peer_type = _properties(data).get(b"socket-type", b"")
        if self.peer_type not in PUBLISHER_TYPES:
            kind = self.peer_type[:20].decode("latin-1")
            raise ProtocolError("handshake", f"peer is a {kind!r} socket, not a publisher")
        self._send(bytes([0, 1, 1]))  # a ZMTP 3.0 subscription to every message: b"\x01" + empty prefix

    # -- messages ---------------------------------------------------------------------------
    def recv(self) -> Incoming:
        """The next message; blocks (watching the stop flag) until one has arrived in full."""
        frames: list[memoryview] = []
        total = count = 0
        dropped: WireError | None = None
        while True:
            flags, size = self._frame_header()
            if flags & COMMAND:
                if flags & MORE:
                    raise ProtocolError("framing", "a command frame flagged MORE")
                self._on_command(*self._command_body(size))
                continue
            if size > self.hard_frame_bytes:
                raise ProtocolError(
                    "frame size", f"a frame of {size} bytes, over the limit of {self.hard_frame_bytes}"
                )
            count += 1
            total += size
            if dropped is None and count > self.max_frames:
                dropped = MalformedMessage(f"more than {self.max_frames} frames, a batch has at most that")
            elif dropped is None and total > self.max_message_bytes:
                dropped = Oversized(
                    f"message of at least {total} bytes exceeds the limit of {self.max_message_bytes}"
                )
            if dropped is None:
                frames.append(self._read(size))
            else:
                frames.clear()
                self._skip(size)
                if count > 64 * self.max_frames:
                    raise ProtocolError("framing", f"a message of more than {count} frames")
            if not flags & MORE:
                return Incoming(frames, total, dropped)

    def _on_command(self, name: bytes, data: bytes) -> None:
        if name == b"PING":  # ZMTP 3.1 heartbeat: answer with the peer's context
            self._send(_command(b"PONG", data[2:18]))
        elif name == b"ERROR":
            raise ProtocolError("peer error", f"peer closed the session: {_error_text(data)}")
        # other commands (PONG, SUBSCRIBE ...) mean nothing to a subscriber

    def _frame_header(self) -> tuple[int, int]:
        self._fill(1)
        flags = self._buffer[self._lo]
        if flags & ~(MORE | LONG | COMMAND):
            raise ProtocolError("framing", f"frame flags {flags:#04x}")
        if flags & LONG:
            self._fill(9)
            size = int.from_bytes(self._buffer[self._lo + 1 : self._lo + 9], "big")
            self._lo += 9
        else:
            self._fill(2)
            size = self._buffer[self._lo + 1]
            self._lo += 2
        return flags, size

    def _command_body(self, size: int) -> tuple[bytes, bytes]:
        if size > MAX_COMMAND_BYTES or size < 1:
            raise ProtocolError("framing", f"a command of {size} bytes")
        body = self._take(size)
        name_len = body[0]
        if 1 + name_len > size:
            raise ProtocolError("framing", "a command name longer than its frame")
        return body[1 : 1 + name_len], body[1 + name_len :]

    # -- reading the socket -----------------------------------------------------------------
    def _recv_into(self, view: memoryview) -> int:
        while True:
            if self._stop.is_set():
                raise Stopped
            if self._deadline is not None and time.monotonic() > self._deadline:
                raise ProtocolError("handshake", "no ZMTP handshake from the peer in time")
            try:
                n = self._sock.recv_into(view)
            except (TimeoutError, InterruptedError):
                continue
            if n == 0:
                raise ConnectionResetError("the publisher closed the connection")
            return n

    def _fill(self, need: int) -> None:
        """At least ``need`` (at most the buffer's size) unread bytes in the buffer."""
        if self._hi - self._lo >= need:
            return
        if self._lo + need > len(self._buffer):  # move the unread tail to the front
            unread = self._hi - self._lo
            self._buffer[:unread] = self._buffer[self._lo : self._hi]
            self._lo, self._hi = 0, unread
        while self._hi - self._lo < need:
            self._hi += self._recv_into(self._view[self._hi :])

    def _take(self, n: int) -> bytes:
        self._fill(n)
        out = bytes(self._view[self._lo : self._lo + n])
        self._lo += n
        return out

    def _read(self, n: int) -> memoryview:
        """The next ``n`` bytes in a buffer of their own, read-only."""
        out = bytearray(n)
        view = memoryview(out)
        pos = min(n, self._hi - self._lo)
        view[:pos] = self._view[self._lo : self._lo + pos]
        self._lo += pos
        while pos < n:
            if n - pos >= _DIRECT_BYTES:
                pos += self._recv_into(view[pos:])
            else:
                self._fill(n - pos)
                view[pos:] = self._view[self._lo : self._lo + n - pos]
                self._lo += n - pos
                pos = n
        return view.toreadonly()

    def _skip(self, n: int) -> None:
        """Read past ``n`` bytes, keeping none of them."""
        while n:
            if self._lo == self._hi:
                self._lo = self._hi = 0
                self._hi = self._recv_into(self._view)
            k = min(n, self._hi - self._lo)
            self._lo += k
            n -= k

    def _send(self, data: bytes) -> None:
        self._sock.sendall(data)


def _command(name: bytes, data: bytes) -> bytes:
    body = bytes([len(name)]) + name + data
    if len(body) > 255:
        return bytes([COMMAND | LONG]) + len(body).to_bytes(8, "big") + body
    return bytes([COMMAND, len(body)]) + body


def _property(name: bytes, value: bytes) -> bytes:
    return bytes([len(name)]) + name + len(value).to_bytes(4, "big") + value


def _properties(data: bytes) -> dict[bytes, bytes]:
    """The metadata of a READY command, names lower-cased; ``ProtocolError`` if it is malformed."""
    props: dict[bytes, bytes] = {}
    pos = 0
    while pos < len(data):
        name_len = data[pos]
        value_at = pos + 1 + name_len + 4
        if value_at > len(data):
            raise ProtocolError("handshake", "malformed READY metadata")
        value_len = int.from_bytes(data[value_at - 4 : value_at], "big")
        if value_at + value_len > len(data):
            raise ProtocolError("handshake", "malformed READY metadata")
        props[data[pos + 1 : pos + 1 + name_len].lower()] = data[value_at : value_at + value_len]
        pos = value_at + value_len
    return props


def _error_text(data: bytes) -> str:
    reason = data[1 : 1 + data[0]] if data else b""
    return reason.decode("utf-8", "replace")[:200] or "no reason given"
