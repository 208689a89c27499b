"""Hostile ZeroMQ peers for the stream fault tests.

``RawPublisher`` speaks ZMTP 3.0 on a plain TCP socket, so it can do what no libzmq socket
would: declare frames of any size without holding them, send broken framing, a wrong socket
type, an ERROR command, or no ZMTP at all. Each accepted connection is handed to a script
function ``script(index, conn)``; the publisher runs in a thread of the test.
"""

from __future__ import annotations

import contextlib
import socket
import struct
import sys
import threading
import time
from collections.abc import Callable
from typing import Self

from events.model import EventBatch
from events.wire import encode

GREETING_PUB = b"\xff" + b"\0" * 8 + b"\x7f" + bytes([3, 0]) + b"NULL".ljust(20, b"\0") + b"\0" * 32


def frame_header(size: int, more: bool = False, command: bool = False) -> bytes:
    flags = (1 if more else 0) | (4 if command else 0)
    if size > 255:
        return bytes([flags | 2]) + struct.pack(">Q", size)
    return bytes([flags, size])


def frame(body: bytes, more: bool = False, command: bool = False) -> bytes:
    return frame_header(len(body), more, command) + body


def command(name: bytes, data: bytes = b"") -> bytes:
    return frame(bytes([len(name)]) + name + data, command=True)


def ready(socket_type: bytes) -> bytes:
    name = b"Socket-Type"
    return command(b"READY", bytes([len(name)]) + name + struct.pack(">I", len(socket_type)) + socket_type)


def message(frames: list[bytes]) -> bytes:
    return b"".join(frame(f, more=i < len(frames) - 1) for i, f in enumerate(frames))


def batch_message(batch: EventBatch, sequence: int, publisher: str = "raw-peer", epoch: int = 7) -> bytes:
    return message([bytes(f) for f in encode(batch, sequence, publisher, epoch=epoch)])


class Conn:
    """One accepted connection, with helpers to read what the subscriber sends."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock

    def recv_exact(self, n: int) -> bytes:
        data = b""
        while len(data) < n:
            chunk = self.sock.recv(n - len(data))
            if not chunk:
                raise EOFError
            data += chunk
        return data

    def read_frame(self) -> tuple[int, bytes]:
        flags = self.recv_exact(1)[0]
        size = struct.unpack(">Q", self.recv_exact(8))[0] if flags & 2 else self.recv_exact(1)[0]
        return flags, self.recv_exact(size)

    def handshake(self, socket_type: bytes = b"PUB") -> bytes:
        """Greet, exchange READY, and return the subscription the peer sends."""
        self.sock.sendall(GREETING_PUB)
        self.recv_exact(64)
        self.sock.sendall(ready(socket_type))
        self.read_frame()  # the peer's READY
        return self.read_frame()[1]

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def send_zeros(self, n: int, chunk: int = 1 << 20) -> None:
        block = bytes(min(n, chunk))
        while n:
            k = min(n, len(block))
            self.sock.sendall(block[:k])
            n -= k


class LoopbackListener:
    """A TCP listener on a free loopback port whose thread hands each connection to ``_accepted``."""

    def __init__(self) -> None:
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(0.1)
        self.port = self._listener.getsockname()[1]
        self.url = f"zmq://127.0.0.1:{self.port}"
        self.stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, name=type(self).__name__, daemon=True)

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self._thread.join(10)
        self._listener.close()

    def _serve(self) -> None:
        while not self.stop.is_set():
            try:
                sock, _ = self._listener.accept()
            except TimeoutError:
                continue
            self._accepted(sock)

    def _accepted(self, sock: socket.socket) -> None:
        raise NotImplementedError


class RawPublisher(LoopbackListener):
    """A TCP listener on loopback that runs ``script(index, conn)`` for each connection, in turn."""

    def __init__(self, script: Callable[[int, Conn], None]) -> None:
        super().__init__()
        self._script = script
        self.connections = 0
        self.errors: list[str] = []

    def _accepted(self, sock: socket.socket) -> None:
        sock.settimeout(10)
        index = self.connections
        self.connections += 1
        try:
            self._script(index, Conn(sock))
        except (OSError, EOFError) as exc:  # the subscriber hung up: expected after a fault
            self.errors.append(f"{index}: {type(exc).__name__}: {exc}")
        finally:
            sock.close()


GREETING_SUB = GREETING_PUB


def _hostile_subscriber(port: int, size: int, distinct: int, index: int, drops: list[int]) -> None:
    """Connect, subscribe with ``distinct`` prefixes of ``size`` bytes, and do it again when dropped."""
    body = bytearray(1 + size)
    body[0] = 1
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
                conn = Conn(sock)
                sock.sendall(GREETING_SUB)
                conn.recv_exact(64)
                sock.sendall(ready(b"SUB"))
                conn.read_frame()
                for j in range(distinct):
                    body[1:5] = (index * distinct + j).to_bytes(4, "big")
                    sock.sendall(frame_header(len(body)) + body)
                while sock.recv(1 << 16):  # a publisher that keeps us: read what it sends
                    pass
        except (OSError, EOFError):
            pass
        drops[index] += 1
        time.sleep(0.05)


def flood_main() -> None:
    """Run as ``python -c '...import flood_main; flood_main()' PORT N SIZE [DISTINCT]``.

    N raw subscribers (no libzmq: its SUB keeps its own subscriptions, ~32 bytes per byte) that
    subscribe hostile prefixes over and over; prints the total of dropped connections as it grows.
    """
    port, n, size = (int(a) for a in sys.argv[1:4])
    distinct = int(sys.argv[4]) if len(sys.argv) > 4 else 1
    drops = [0] * n
    for i in range(n):
        args = (port, size, distinct, i, drops)
        threading.Thread(target=_hostile_subscriber, args=args, daemon=True).start()
    last = -1
    while True:
        total = sum(drops)
        if total != last:
            print(total, flush=True)
            last = total
        time.sleep(0.05)


class GatedForwarder(LoopbackListener):
    """A TCP relay from a loopback port to ``target_port`` that the test opens and shuts.

    While shut, every incoming connection is accepted and closed at once, so a subscriber keeps
    dialling and never reaches the publisher; while open, bytes flow both ways unchanged.
    """

    def __init__(self, target_port: int) -> None:
        super().__init__()
        self.target_port = target_port
        self.is_open = threading.Event()
        self.is_open.set()

    def _accepted(self, downstream: socket.socket) -> None:
        if not self.is_open.is_set():
            downstream.close()
            return
        try:
            upstream = socket.create_connection(("127.0.0.1", self.target_port), timeout=1)
        except OSError:
            downstream.close()
            return
        for source, sink in ((downstream, upstream), (upstream, downstream)):
            threading.Thread(target=_pump, args=(source, sink), daemon=True).start()


def _pump(source: socket.socket, sink: socket.socket) -> None:
    """Copy bytes until either side closes, then close both."""
    source.settimeout(None)
    try:
        while chunk := source.recv(65536):
            sink.sendall(chunk)
    except OSError:
        pass
    finally:
        for end in (source, sink):
            with contextlib.suppress(OSError):
                end.shutdown(socket.SHUT_RDWR)
            end.close()
