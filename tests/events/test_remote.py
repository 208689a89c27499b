"""Remote ROOT files from a real XRootD server (``xrootd``, Debian's xrootd-server) on 127.0.0.1:
the Belle II mdst sample and an ntuple written here, read over root:// (and http:// from the same
server's XrdHttp), alone and as a data set; not found, refused, permission denied and a server
killed during a scan, each one line naming the URL."""

from __future__ import annotations

import json
import os
import shutil
import socket
import stat
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from events import io, remote
from events.dataset import expand, open_dataset
from events.generator import samples
from events.model import EventBatch
from events.source import EventFileError, location_name
from tests.conftest import run_main
from tests.events.test_dataset import assert_same_events

TIMEOUT = 5  # seconds the client waits for the server (remote.settings.timeout) in these tests
NTUPLE_EVENTS = 3000  # the sample ten times, ten baskets: a scan of 1500-event chunks reads it in two


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _accepts(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True
    except OSError:
        return False


class XRootDServer:
    """``xrootd`` exporting ``data`` (its ``oss.localroot``) over root:// and http:// on 127.0.0.1.

    xrootd refuses to run as root, so as root it runs as ``nobody`` (-R), which then reads the
    files through their "other" permission bits, as any user's files are read by a server.
    """

    def __init__(self, base: Path, tls: bool = False) -> None:
        binary = shutil.which("xrootd")
        if binary is None:
            pytest.skip("no xrootd binary (Debian's xrootd-server; `make system-packages` installs it)")
        self.base = base
        self.data = base / "data"
        self.data.mkdir()
        (base / "admin").mkdir()
        self.port, self.http_port = _free_port(), _free_port()
        config = base / "xrootd.cfg"
        lines = [
            "all.export /",
            f"xrd.port {self.port}",
            f"xrd.protocol XrdHttp:{self.http_port} libXrdHttp.so",
            f"oss.localroot {self.data}",
            f"all.adminpath {base / 'admin'}",
            f"all.pidpath {base / 'admin'}",
        ]
        self.authority = base / "ca"  # the folder of hashed CA certificates a client is told of
        if tls:  # roots:// and https:// with a self-signed certificate for 127.0.0.1
            cert, key = self._certificate(base)
            lines += [f"xrd.tls {cert} {key}", f"xrd.tlsca certdir {self.authority}"]
        config.write_text("\n".join(lines) + "\n")
        as_user: list[str] = []
        if os.geteuid() == 0:
            shutil.chown(base / "admin", "nobody")
            shutil.chown(base, "nobody")  # the log folder -l makes
            if tls:
                shutil.chown(base / "key.pem", "nobody")  # xrootd reads its key as the user it runs as
            as_user = ["-R", "nobody"]
        self.log = base / "server.out"
        with self.log.open("wb") as out:
            self.process = subprocess.Popen(
                [binary, "-c", str(config), "-l", str(base / "xrootd.log"), "-n", "test", *as_user],
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        for _ in range(300):  # until it accepts connections (or has died)
            if self.process.poll() is not None:
                break
            if _accepts(self.port) and _accepts(self.http_port):
                return
            time.sleep(0.1)
        self.stop()
        logs = " | ".join(p.read_text(errors="replace")[-600:] for p in base.rglob("*.log"))
        pytest.skip(f"xrootd could not be started: {self.log.read_text(errors='replace')[-600:]} {logs}")

    def _certificate(self, base: Path) -> tuple[Path, Path]:
        """A self-signed certificate for 127.0.0.1 and its key; the CA folder holding it, hashed."""
        openssl = shutil.which("openssl")
        if openssl is None:
            pytest.skip("no openssl binary to make the test server's certificate (Debian's openssl)")
        cert, key = base / "cert.pem", base / "key.pem"
        subprocess.run(
            [openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-keyout", str(key),
             "-out", str(cert), "-subj", "/CN=127.0.0.1",
             "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost"],
            check=True, capture_output=True,
        )  # fmt: skip
        cert.chmod(0o644)
        key.chmod(0o400)
        self.authority.mkdir()
        shutil.copy(cert, self.authority / "test-ca.pem")
        subprocess.run([openssl, "rehash", str(self.authority)], check=True, capture_output=True)
        self.authority.chmod(0o755)
        return cert, key

    def put(self, source: Path, name: str) -> str:
        """Copy a file into the exported folder (readable by the server); its root:// URL."""
        target = self.data / name
        shutil.copy(source, target)
        target.chmod(0o644)
        return self.url(name)

    def url(self, name: str, scheme: str = "root") -> str:
        port = self.port if scheme in remote.XROOTD_SCHEMES else self.http_port
        return f"{scheme}://127.0.0.1:{port}//{name}"

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait()


@pytest.fixture
def quick_timeout(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(remote.settings, "timeout", TIMEOUT)


def _server_folder() -> Path:
    base = Path(tempfile.mkdtemp(prefix="belle2-xrootd-"))
    base.chmod(0o755)  # the server, possibly another user, walks into it
    return base


@pytest.fixture(scope="module")
def ntuple(tmp_path_factory: pytest.TempPathFactory) -> Path:
    sample = io.load(samples.SAMPLE)
    path = tmp_path_factory.mktemp("remote") / "ntuple.root"
    io.write(path, [sample] * (NTUPLE_EVENTS // len(sample)))
    return path


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Our HDF5 event store of the sample, several chunks long."""
    sample = io.load(samples.SAMPLE)
    path = tmp_path_factory.mktemp("remote") / "events.h5"
    io.write(path, [sample] * (NTUPLE_EVENTS // len(sample)))
    return path


@pytest.fixture(scope="module")
def server(ntuple: Path, mdst_sample: Path, store: Path) -> Iterator[XRootDServer]:
    base = _server_folder()
    srv = XRootDServer(base)
    srv.put(mdst_sample, "mdst.root")
    srv.put(ntuple, "ntuple.root")
    srv.put(store, "events.h5")
    srv.put(ntuple, "secret.root")
    (srv.data / "secret.root").chmod(0)  # exported, but nobody may read it
    yield srv
    srv.stop()
    shutil.rmtree(base, ignore_errors=True)


@pytest.mark.usefixtures("quick_timeout")
@pytest.mark.parametrize("name", ["mdst.root", "ntuple.root"])
def test_a_root_url_reads_the_same_events_as_the_local_file(
    server: XRootDServer, name: str, ntuple: Path, mdst_sample: Path
) -> None:
    local = mdst_sample if name == "mdst.root" else ntuple
    url = server.url(name)
    with io.open_events(url) as source, io.open_events(local) as local_source:
        assert source.path == url  # the URL kept as given, double slash and all
        assert type(source) is type(local_source)
        remote_events = source.read()
    assert len(remote_events) > 0
    assert_same_events(remote_events, io.load(local))


@pytest.mark.usefixtures("quick_timeout")
@pytest.mark.parametrize("scheme", ["root", "http"])
def test_an_hdf5_store_is_read_over_the_network_a_range_at_a_time(
    server: XRootDServer, store: Path, scheme: str
) -> None:
    url = server.url("events.h5", scheme)
    local = io.load(store)
    with io.open_events(url) as source:
        assert source.path == url
        assert len(source) == len(local)
        assert_same_events(source.read(1234, 1237), local.slice(1234, 1237))  # a few events, far in
        assert_same_events(source.read(), local)
    missing = server.url("nope.h5", scheme)
    with pytest.raises(EventFileError) as caught:
        io.open_events(missing)
    assert str(caught.value).startswith(f"{missing}: ")
    assert "not found on the server" in str(caught.value)
    assert "\n" not in str(caught.value)


def test_a_remote_store_reads_what_an_event_needs_once_and_again_from_its_cache(
    server: XRootDServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    thousand = EventBatch.concat([io.load(samples.SAMPLE)] * 100)
    big = tmp_path / "big.h5"
    io.write(big, [thousand] * 10)  # 10 000 events: three header chunks, several row chunks
    url = server.put(big, "big.h5")
    requested: list[int] = []
    monkeypatch.setattr(remote.settings, "progress_step", 1)  # a callback per request
    monkeypatch.setattr(remote.settings, "progress", lambda url, n: requested.append(n))
    with io.open_events(url) as source:
        first = source.read(9345, 9346)
        one_event = requested[-1]
        again = source.read(9345, 9346)
        assert requested[-1] == one_event  # nothing asked of the server twice
    assert_same_events(again, first)
    assert_same_events(first, thousand.slice(345, 346))
    assert one_event < big.stat().st_size / 2, (one_event, big.stat().st_size)


@pytest.mark.usefixtures("quick_timeout")
def test_http_and_dav_urls_of_the_same_server_read_the_same_events(
    server: XRootDServer, mdst_sample: Path
) -> None:
    local = io.load(mdst_sample)
    for scheme in ("http", "dav"):  # dav:// is read as http://: WebDAV reads are HTTP range requests
        assert_same_events(io.load(server.url("mdst.root", scheme)), local)
    assert_same_events(io.load(server.url("mdst.root", "xroot")), local)  # another name of root://


def test_urls_are_read_as_the_protocol_they_name_on_its_usual_port() -> None:
    assert remote.as_read("davs://host/data/f.root") == "https://host/data/f.root"
    assert remote.as_read("dav://host:8080/f.root?x=1") == "http://host:8080/f.root?x=1"
    assert remote.as_read("xroot://host//f.root") == "root://host//f.root"
    assert remote.as_read("root://host//f.root") == "root://host//f.root"
    ports = {scheme: remote.DEFAULT_PORTS[remote.READ_AS[scheme]] for scheme in remote.SCHEMES}
    xrootd = {"root": 1094, "xroot": 1094, "roots": 1094, "xroots": 1094}
    assert ports == {**xrootd, "http": 80, "dav": 80, "https": 443, "davs": 443}
    assert remote.as_read("xroots://host//f.root") == "roots://host//f.root"
    assert location_name("davs://host/data/run.root?authz=token") == "run.root"


@pytest.mark.usefixtures("quick_timeout")
def test_a_data_set_of_two_remote_files(server: XRootDServer, ntuple: Path, mdst_sample: Path) -> None:
    urls = [server.url("ntuple.root"), server.url("mdst.root")]
    assert expand(urls) == urls
    with open_dataset(urls) as data:
        assert data.files == urls
        assert [location_name(f) for f in data.files] == ["ntuple.root", "mdst.root"]
        assert data.issues == []
        local_mdst = io.load(mdst_sample)
        assert len(data) == NTUPLE_EVENTS + len(local_mdst)
        across = data.read(NTUPLE_EVENTS - 3, NTUPLE_EVENTS + 4)  # spans the two files
        expected = [io.load(ntuple).slice(NTUPLE_EVENTS - 3, NTUPLE_EVENTS), local_mdst.slice(0, 4)]
        assert_same_events(across, EventBatch.concat(expected))
        seen = np.concatenate([chunk.index for chunk in data.scan(1500)])
        np.testing.assert_array_equal(seen, np.arange(len(data)))


@pytest.mark.usefixtures("quick_timeout")
def test_a_file_that_is_not_there_is_one_line_naming_the_url(server: XRootDServer) -> None:
    url = server.url("nope.root")
    with pytest.raises(EventFileError) as caught:
        io.open_events(url)
    assert str(caught.value).startswith(f"{url}: ")
    assert "not found on the server" in str(caught.value)
    assert "\n" not in str(caught.value)
    http = server.url("nope.root", "http")
    with pytest.raises(EventFileError, match="not found on the server") as caught:
        io.open_events(http)
    assert str(caught.value).startswith(f"{http}: ")
    assert "\n" not in str(caught.value)


@pytest.mark.usefixtures("quick_timeout")
def test_a_file_the_server_may_not_read_is_permission_denied(server: XRootDServer) -> None:
    assert stat.S_IMODE((server.data / "secret.root").stat().st_mode) == 0
    for url in (server.url("secret.root"), server.url("secret.root", "http")):
        with pytest.raises(EventFileError) as caught:
            io.open_events(url)
        line = str(caught.value)
        assert line.startswith(f"{url}: ")
        assert "permission denied" in line
        assert "\n" not in line


@pytest.mark.usefixtures("quick_timeout")
def test_a_closed_port_is_connection_refused() -> None:
    url = f"root://127.0.0.1:{_free_port()}//data/file.root"  # nothing listens there
    with pytest.raises(EventFileError) as caught:
        io.open_events(url)
    line = str(caught.value)
    assert line.startswith(f"{url}: connection refused by 127.0.0.1:")
    assert "\n" not in line


@pytest.mark.usefixtures("quick_timeout")
def test_urls_the_readers_cannot_take_are_named() -> None:
    with pytest.raises(EventFileError, match=r"unknown host 'no-such-host\.invalid'"):
        io.open_events("root://no-such-host.invalid//data/file.root")
    with pytest.raises(EventFileError, match="local disk only"):
        io.open_events("root://127.0.0.1//data/events.json")  # Phoenix JSON is not read over the network
    with pytest.raises(EventFileError, match=r"^ftp://host/f\.root: cannot read ftp:// URLs"):
        io.open_events("ftp://host/f.root")


@pytest.mark.usefixtures("quick_timeout")
def test_a_data_set_leaves_out_a_remote_file_it_cannot_open(server: XRootDServer, mdst_sample: Path) -> None:
    missing = server.url("nope.root")
    with open_dataset([missing, server.url("mdst.root")]) as data:
        assert data.files == [server.url("mdst.root")]
        assert data.left_out == [missing]
        assert len(data.issues) == 1
        assert data.issues[0].startswith(f"{missing}: ")
        assert "not found" in data.issues[0]
        assert len(data) == len(io.load(mdst_sample))


@pytest.mark.usefixtures("quick_timeout")
def test_progress_is_reported_per_step_of_bytes_requested(
    server: XRootDServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[tuple[str, int]] = []
    monkeypatch.setattr(remote.settings, "progress_step", 50_000)
    monkeypatch.setattr(remote.settings, "progress", lambda url, n: calls.append((url, n)))
    url = server.url("ntuple.root")
    size = (server.data / "ntuple.root").stat().st_size
    io.load(url)
    assert calls, "no progress reported"
    assert {u for u, _ in calls} == {url}
    counts = [n for _, n in calls]
    assert counts == sorted(counts)
    assert counts[-1] >= size // 2
    assert len(calls) <= counts[-1] // 50_000  # at most one call per step


@pytest.mark.usefixtures("quick_timeout")
def test_a_server_killed_during_a_scan_ends_that_files_part_of_the_pass(
    ntuple: Path, mdst_sample: Path
) -> None:
    base = _server_folder()
    try:
        srv = XRootDServer(base)
        url = srv.put(ntuple, "ntuple.root")
        local = mdst_sample
        with open_dataset([url, local]) as data:
            chunks = data.scan(1500)
            first = next(chunks)  # entries 0:1500 of the remote file
            assert first.index.tolist() == list(range(1500))
            srv.stop()  # the server goes away between two reads
            rest = list(chunks)
        assert_same_events(first.batch, io.load(ntuple).slice(0, 1500))
        # the rest of the remote file is left out; the local file after it is still read
        assert [c.index.tolist() for c in rest] == [list(range(NTUPLE_EVENTS, NTUPLE_EVENTS + 10))]
        assert_same_events(rest[0].batch, io.load(local))
        assert data.left_out == [url]
        lines = [line for line in data.issues if line.startswith(f"{url}: ")]
        assert len(lines) == 1, data.issues
        assert "cannot read entries 1500:3000" in lines[0]
        assert "the server went away during the read (connection refused" in lines[0]
        assert "the rest of the file is left out" in lines[0]
        assert "\n" not in lines[0]
    finally:
        shutil.rmtree(base, ignore_errors=True)


def test_the_summary_command_reads_urls_and_names_the_one_it_cannot(
    server: XRootDServer, mdst_sample: Path
) -> None:
    missing = server.url("nope.root")
    done = run_main(
        "summary", server.url("mdst.root"), missing, "--json", set_env={"BELLE2_REMOTE_TIMEOUT": str(TIMEOUT)}
    )
    assert done.returncode == 1, done.stderr  # a file could not be read; the others' events are shown
    rows = json.loads(done.stdout)["events"]
    assert len(rows) == len(io.load(mdst_sample))
    assert {row["file"] for row in rows} == {server.url("mdst.root")}
    assert "Traceback" not in done.stderr
    lines = [line for line in done.stderr.splitlines() if missing in line]
    assert len(lines) == 1
    assert "not found on the server" in lines[0]


@pytest.fixture(scope="module")
def tls_server(mdst_sample: Path) -> Iterator[XRootDServer]:
    base = _server_folder()
    srv = XRootDServer(base, tls=True)
    srv.put(mdst_sample, "mdst.root")
    yield srv
    srv.stop()
    shutil.rmtree(base, ignore_errors=True)


def test_roots_urls_are_read_over_tls_and_an_unknown_authority_is_one_line(
    tls_server: XRootDServer, mdst_sample: Path
) -> None:
    """In subprocesses: the xrootd client reads $X509_CERT_DIR once, when its TLS context is made."""
    url = tls_server.url("mdst.root", "roots")
    trusted = run_main(
        "summary", url, "--json",
        set_env={"X509_CERT_DIR": str(tls_server.authority), "BELLE2_REMOTE_TIMEOUT": str(TIMEOUT)},
    )  # fmt: skip
    assert trusted.returncode == 0, trusted.stderr
    rows = json.loads(trusted.stdout)["events"]
    assert len(rows) == len(io.load(mdst_sample))
    assert {row["file"] for row in rows} == {url}
    unknown = run_main(
        "summary",
        url,
        "--json",
        set_env={"X509_CERT_DIR": str(tls_server.base / "data"), "BELLE2_REMOTE_TIMEOUT": "3"},
    )
    assert unknown.returncode != 0
    assert "Traceback" not in unknown.stderr
    lines = [line for line in unknown.stderr.splitlines() if url in line]
    assert len(lines) == 1, unknown.stderr
    assert "the TLS connection failed" in lines[0]
    assert "X509_CERT_DIR" in lines[0]


@pytest.mark.usefixtures("quick_timeout")
def test_https_checks_the_servers_certificate(
    tls_server: XRootDServer, mdst_sample: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = tls_server.url("mdst.root", "https")
    monkeypatch.setenv("SSL_CERT_FILE", str(tls_server.base / "cert.pem"))
    monkeypatch.delenv("SSL_CERT_DIR", raising=False)
    assert_same_events(io.load(url), io.load(mdst_sample))
    davs = tls_server.url("mdst.root", "davs")
    assert_same_events(io.load(davs), io.load(mdst_sample))
    monkeypatch.setenv("SSL_CERT_FILE", str(tls_server.base / "data" / "mdst.root"))  # no certificate in it
    monkeypatch.setenv("SSL_CERT_DIR", str(tls_server.base / "data"))
    with pytest.raises(EventFileError) as caught:
        io.open_events(url)
    line = str(caught.value)
    assert line.startswith(f"{url}: ")
    assert "the TLS connection failed" in line
    assert "\n" not in line
