"""Real peers for the monitoring fault tests: caproto IOCs in subprocesses on a private port."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from monitoring.ioc import free_port

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def ca_env(monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """Point Channel Access at a private localhost port, for this process and its children."""
    port = free_port()
    env = {
        "EPICS_CA_SERVER_PORT": str(port),
        "EPICS_CA_ADDR_LIST": f"127.0.0.1:{port}",
        "EPICS_CA_AUTO_ADDR_LIST": "NO",
        "EPICS_CAS_INTF_ADDR_LIST": "127.0.0.1",
        "EPICS_CAS_BEACON_ADDR_LIST": "127.0.0.1",
        "EPICS_CAS_AUTO_BEACON_ADDR_LIST": "NO",
    }
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    return env


class IOCProcess:
    def __init__(self, argv: list[str]) -> None:
        self.argv = argv
        self.proc: subprocess.Popen[str] | None = None
        self.banner = ""  # the line saying where it serves
        self.output: str | None = None  # everything it printed, once stopped

    def start(self) -> None:
        self.proc = subprocess.Popen(
            self.argv,
            cwd=ROOT,
            env=os.environ.copy(),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        assert self.proc.stdout is not None
        self._lines: list[str] = []
        for _ in range(20):  # the IOC says "serving ..." once its PVs exist (remarks may come first)
            line = self.proc.stdout.readline()
            self._lines.append(line)
            if not line or line.startswith("serving"):
                break
        assert self._lines[-1].startswith("serving"), f"IOC did not start: {''.join(self._lines)!r}"
        self.banner = self._lines[-1].strip()

    def _collect(self) -> None:
        assert self.proc is not None
        assert self.proc.stdout is not None
        self.output = "".join(self._lines) + self.proc.stdout.read()
        self.proc.stdout.close()

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(timeout=10)
            self._collect()
        self.proc = None

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)
            self._collect()
        self.proc = None


def started_processes() -> Iterator[Callable[[list[str]], IOCProcess]]:
    """Yield a factory of server processes (this Python, unbuffered); stop each one afterwards."""
    started: list[IOCProcess] = []

    def make(args: list[str]) -> IOCProcess:
        ioc = IOCProcess([sys.executable, "-u", *args])
        ioc.start()
        started.append(ioc)
        return ioc

    yield make
    for ioc in started:
        ioc.stop()


@pytest.fixture
def ioc_process(ca_env: dict[str, str]) -> Iterator[Callable[[list[str]], IOCProcess]]:
    yield from started_processes()


def wait_for(condition: Callable[[], bool], timeout: float = 20.0, step: float = 0.05) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if condition():
            return True
        time.sleep(step)
    return condition()
