"""The stream status strip, fed by a real subscriber of a real publisher."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import zmq
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QApplication, QLabel, QMainWindow

from events.wire import encode
from monitoring.serve import fake_batch
from monitoring.zmq_source import ZmqEventSource
from panels.stream_status import LIVE, MAJOR, StreamStatus
from tests.monitoring.hostile_peers import Conn, RawPublisher, batch_message, frame_header
from tests.monitoring.test_stream import WAIT_S, Publisher, publishers, wait_until

__all__ = ["publishers"]  # the fixture, shared with test_stream

TIMEOUT_MS = int(WAIT_S * 1000)


def _window(status: StreamStatus) -> QMainWindow:
    window = QMainWindow()
    window.setCentralWidget(QLabel("event display"))
    window.statusBar().addPermanentWidget(status, 1)
    window.resize(900, 120)
    window.show()
    return window


def _snap(window: QMainWindow, path: Path) -> None:
    QApplication.processEvents()  # let the status bar lay out the new texts first
    window.grab().save(str(path))


def _background(label: QLabel) -> QColor:
    """The colour just inside the label's left border, clear of its text."""
    image = label.grab().toImage()
    return image.pixelColor(2, image.height() // 2)


def test_status_follows_a_live_stream_and_its_end(
    qtbot, publishers: Callable[..., Publisher], screenshot_dir: Path
) -> None:
    pub = publishers("--rate", "2000", "--batch", "20", "--wait", "1")
    with ZmqEventSource(pub.url, stale_after_s=1.0) as source:
        status = StreamStatus(source.stats, interval_ms=100)
        window = _window(status)
        qtbot.addWidget(window)
        qtbot.waitUntil(
            lambda: status.state.text().strip() == "LIVE" and source.stats().rate_hz > 0, timeout=TIMEOUT_MS
        )
        qtbot.waitUntil(lambda: source.stats().events >= 1000, timeout=TIMEOUT_MS)
        qtbot.waitUntil(lambda: status.rate.text() != "0 ev/s", timeout=TIMEOUT_MS)
        assert status.rate.text().endswith("ev/s")
        assert status.dropped.text() == "dropped 0"
        assert status.rejected.text() == "rejected 0"
        assert pub.publisher_id in status.state.toolTip()
        assert _background(status.state) == QColor(LIVE)
        _snap(window, screenshot_dir / "stream_status_live.png")
        pub.kill()
        qtbot.waitUntil(lambda: status.state.text().strip() == "DISCONNECTED", timeout=TIMEOUT_MS)
        assert _background(status.state) != QColor(LIVE)
        _snap(window, screenshot_dir / "stream_status_disconnected.png")


def test_status_shows_rejected_messages_with_the_last_error(qtbot, screenshot_dir: Path) -> None:
    context = zmq.Context()
    pub = context.socket(zmq.PUB)
    pub.setsockopt(zmq.LINGER, 0)
    port = pub.bind_to_random_port("tcp://127.0.0.1")
    good = [bytes(f) for f in encode(fake_batch(np.random.default_rng(2), 10), 0, "raw-peer")]
    bad = [good[0][:4] + b"\x05\x00" + good[0][6:], *good[1:]]
    try:
        with ZmqEventSource(f"zmq://127.0.0.1:{port}") as source:
            status = StreamStatus(source.stats, interval_ms=100)
            window = _window(status)
            qtbot.addWidget(window)

            def rejected_after_resend() -> bool:
                pub.send_multipart(bad)
                return source.stats().rejected_total > 0

            assert wait_until(rejected_after_resend)
            qtbot.waitUntil(lambda: "wire version 5" in status.error.toolTip(), timeout=TIMEOUT_MS)
            assert status.rejected.text() != "rejected 0"
            assert status.state.text().strip() == "STALLED"  # only bad messages: nothing to show
            assert "version" in status.rejected.toolTip()
            assert MAJOR in status.rejected.styleSheet()
            _snap(window, screenshot_dir / "stream_status_rejected.png")
    finally:
        pub.close()
        context.term()


def test_hidden_status_does_not_read_the_counters(qtbot) -> None:
    reads = []
    source = ZmqEventSource("zmq://127.0.0.1:9")

    def read():
        reads.append(1)
        return source.stats()

    status = StreamStatus(read, interval_ms=20)
    qtbot.addWidget(status)
    status.hide()
    before = len(reads)
    qtbot.wait(200)
    assert len(reads) == before
    status.show()
    qtbot.waitUntil(lambda: len(reads) > before, timeout=TIMEOUT_MS)
    assert status.state.text().strip() == "DISCONNECTED"


def test_status_shows_protocol_errors_and_what_restarts_missed(qtbot, screenshot_dir: Path) -> None:
    batch = fake_batch(np.random.default_rng(3), 10)

    def script(index: int, conn: Conn) -> None:
        conn.handshake()
        # each connection is a restart of the publisher (a new epoch) that sent 30 events unseen
        conn.send(batch_message(batch, 0 if index == 0 else 30, epoch=index + 1))
        conn.send(frame_header(2**40))  # then a frame far over the limit: the subscriber hangs up
        conn.recv_exact(1)

    idle = ZmqEventSource("zmq://127.0.0.1:9")  # nothing to say yet: no peer, no protocol error
    feed = [idle.stats]
    status = StreamStatus(lambda: feed[0](), interval_ms=100)
    window = _window(status)
    qtbot.addWidget(window)
    qtbot.wait(250)
    assert not status.protocol.isVisibleTo(window)
    with RawPublisher(script) as pub, ZmqEventSource(pub.url) as source:
        feed[0] = source.stats
        qtbot.waitUntil(lambda: source.stats().protocol_errors_total >= 2, timeout=TIMEOUT_MS)
        qtbot.waitUntil(lambda: status.protocol.isVisibleTo(window), timeout=TIMEOUT_MS)
        stats = source.stats()
        assert status.protocol.text().startswith("protocol errors ")
        assert "frame size" in status.protocol.toolTip()
        assert "over the limit" in status.protocol.toolTip()
        assert MAJOR in status.protocol.styleSheet()
        assert "protocol error (frame size)" in status.error.toolTip()
        assert stats.missed_restart >= 30
        qtbot.waitUntil(lambda: "last restart:" in status.state.toolTip(), timeout=TIMEOUT_MS)
        restart = "publisher raw-peer started again, 30 events sent before it was joined"
        assert restart in status.state.toolTip()
        assert "sent by a restarted publisher before it was joined: " in status.dropped.toolTip()
        assert status.dropped.text() != "dropped 0"
        _snap(window, screenshot_dir / "stream_status_protocol_errors.png")
