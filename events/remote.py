"""Files over the network: ``root://``, ``roots://`` (XRootD, plain and TLS), ``https://``, ``davs://``.

docs/datasets.md §6 says what is read how.

The ROOT readers (``events.rootio``, ``events.mdst``) open a URL through :func:`open_file`, and a
data set may list URLs among its files. uproot reads ``root://`` through fsspec-xrootd (the
``xrootd`` Python bindings) and ``http(s)://`` with its own HTTP source (range requests);
``davs://`` and ``dav://`` are WebDAV, whose reads are plain HTTP range requests, so they are read
as ``https://`` and ``http://`` (and ``xroot://`` as ``root://``).

Every failure is one :class:`EventFileError` line naming the URL and the problem in plain words
(:func:`explain`): the server cannot be reached (refused, unknown host, unreachable: checked with one
TCP connection before uproot is asked, so the XRootD client's reconnection attempts do not stand
in for an answer), the file is not there, permission denied, no answer within ``settings.timeout``
seconds, the connection lost part-way through a read.

Progress: uproot has no progress callback, so the source classes here count the bytes they request
from the server and, every ``settings.progress_step`` bytes, log one INFO line
(``root://…/f.root: 32 MB requested from the server``) and call ``settings.progress(url, nbytes)``
when one is set.
"""

from __future__ import annotations

import contextlib
import io
import logging
import os
import queue
import re
import socket
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import uproot
import uproot.source.chunk
import uproot.source.fsspec
import uproot.source.http

from events.source import EventFileError, Location, is_url

log = logging.getLogger(__name__)

# scheme -> the scheme it is read as: xroot:// is another name of root://, WebDAV reads are HTTP ones
XROOTD_SCHEMES = {"root": "root", "xroot": "root", "roots": "roots", "xroots": "roots"}
HTTP_SCHEMES = {"http": "http", "https": "https", "dav": "http", "davs": "https"}
READ_AS = {**XROOTD_SCHEMES, **HTTP_SCHEMES}
SCHEMES = tuple(READ_AS)
DEFAULT_PORTS = {"root": 1094, "roots": 1094, "http": 80, "https": 443}  # of the scheme a URL is read as

# The XRootD client checks its timeouts every TimeoutResolution seconds (15 by default), which would
# stretch a 3 s timeout to 15 s; read once, when the client library loads (fsspec-xrootd's first use).
os.environ.setdefault("XRD_TIMEOUTRESOLUTION", "1")

ProgressCallback = Callable[[str, int], None]  # (URL, bytes requested from it so far)


DEFAULT_TIMEOUT = 30  # seconds


def _timeout_from_environment() -> int:
    """``$BELLE2_REMOTE_TIMEOUT`` (whole seconds, at least 1), else :data:`DEFAULT_TIMEOUT`."""
    given = os.environ.get("BELLE2_REMOTE_TIMEOUT", "").strip()
    if not given:
        return DEFAULT_TIMEOUT
    try:
        return max(int(float(given)), 1)
    except (ValueError, OverflowError):  # not a number, NaN, infinite
        log.warning("BELLE2_REMOTE_TIMEOUT=%r is no number of seconds; %d s used", given, DEFAULT_TIMEOUT)
        return DEFAULT_TIMEOUT


@dataclass
class RemoteSettings:
    """How remote files are read; change :data:`settings` before opening them."""

    timeout: int = _timeout_from_environment()  # seconds uproot's clients wait for a server
    progress_step: int = 16 * 2**20  # a progress line per this many bytes requested
    progress: ProgressCallback | None = None


settings = RemoteSettings()


def scheme_of(url: str) -> str:
    return urlsplit(url).scheme.lower()


def _host_port(url: str) -> tuple[str, int]:
    parts = urlsplit(url)
    host = parts.hostname
    if not host:
        raise EventFileError(url, "the URL names no server (expected scheme://host[:port]//path)")
    try:
        port = parts.port
    except ValueError:
        raise EventFileError(url, "the port in the URL is not a number from 0 to 65535") from None
    return host, port or DEFAULT_PORTS[READ_AS[scheme_of(url)]]


def check_reachable(url: str, timeout: float) -> None:
    """Connect once to the URL's server; an :class:`EventFileError` in plain words if that fails."""
    host, port = _host_port(url)
    where = f"{host}:{port}"
    try:
        with socket.create_connection((host, port), timeout=timeout):
            pass
    except socket.gaierror:
        raise EventFileError(url, f"unknown host {host!r} (no such server name)") from None
    except ConnectionRefusedError:
        raise EventFileError(
            url, f"connection refused by {where}: no server is listening on that port"
        ) from None
    except TimeoutError:
        raise EventFileError(
            url, f"no answer from {where} within {timeout:g} s (host unreachable or behind a firewall?)"
        ) from None
    except OSError as exc:
        raise EventFileError(url, f"cannot connect to {where}: {exc.strerror or exc}") from None


_HTTP_STATUS = re.compile(r"(?:response was|with status) (\d{3})\b")


def explain(url: str, exc: BaseException, doing: str = "cannot open") -> EventFileError:
    """What went wrong with a remote file, as one line naming the URL (the library's words last)."""
    text = " ".join(str(exc).split())
    if isinstance(exc, FileNotFoundError):
        text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""  # uproot appends a page of help
    low = text.lower()
    match = _HTTP_STATUS.search(text)
    status = int(match.group(1)) if match else None
    if isinstance(exc, FileNotFoundError) or "[3011]" in text or "no such file" in low or status == 404:
        return EventFileError(url, f"{doing}: not found on the server ({text})")
    if (
        isinstance(exc, PermissionError)
        or "[3010]" in text
        or "permission denied" in low
        or status in (401, 403)
    ):
        return EventFileError(url, f"{doing}: permission denied by the server ({text})")
    if isinstance(exc, TimeoutError) or "operation expired" in low or "timed out" in low:
        return EventFileError(
            url, f"{doing}: the server did not answer within {settings.timeout} s (timed out; {text})"
        )
    if "certificate" in low or "tls error" in low or "ssl" in low:
        return EventFileError(
            url,
            f"{doing}: the TLS connection failed; is the server's certificate authority known here? "
            f"(X509_CERT_DIR for roots://, SSL_CERT_FILE or SSL_CERT_DIR for https://; {text})",
        )
    if isinstance(exc, ConnectionError) or "socket error" in low or "connection" in low:
        return EventFileError(url, f"{doing}: the connection to the server was lost ({text})")
    if isinstance(exc, ImportError) or "protocol not known" in low:
        return EventFileError(
            url,
            f"{doing}: reading {scheme_of(url)}:// URLs needs fsspec-xrootd and the xrootd Python "
            f"bindings (pip install fsspec-xrootd xrootd): {text}",
        )
    return EventFileError(url, f"{doing}: {type(exc).__name__}: {text}")


def read_error(where: Location, exc: BaseException, doing: str) -> EventFileError:
    """A failed read as one line: for a URL what the network did, for a local file a damaged file."""
    if isinstance(where, str) and is_url(where):
        error = explain(where, exc, doing)
        if "timed out" in error.message or "connection" in error.message:
            try:  # a server that stopped answering: is it still there at all?
                check_reachable(where, min(settings.timeout, 2))
            except EventFileError as gone:
                why = f"the server went away during the read ({gone.message})"
                return EventFileError(where, f"{doing}: {why}")
        return error
    return EventFileError(where, f"{doing} (corrupted file?): {exc}")


class _Counting:
    """Mixed in before one of uproot's sources: counts the bytes it requests, with a progress line
    and callback every ``progress_step``."""

    _url = ""
    _requested = 0
    _reported = 0

    def __init__(self, file_path: str, **options: Any) -> None:
        self._url = file_path
        super().__init__(file_path, **options)  # type: ignore[call-arg]  # the uproot source's

    def chunk(self, start: int, stop: int) -> uproot.source.chunk.Chunk:
        self._count(stop - start)
        return super().chunk(start, stop)  # type: ignore[misc]

    def chunks(
        self, ranges: list[tuple[int, int]], notifications: queue.Queue
    ) -> list[uproot.source.chunk.Chunk]:
        self._count(sum(stop - start for start, stop in ranges))
        return super().chunks(ranges, notifications)  # type: ignore[misc]

    def _count(self, nbytes: int) -> None:
        self._requested += nbytes
        step = max(settings.progress_step, 1)
        if self._requested // step > self._reported // step:
            self._reported = self._requested
            log.info("%s: %.1f MB requested from the server", self._url, self._requested / 1e6)
            if settings.progress is not None:
                settings.progress(self._url, self._requested)


def _register_roots() -> None:
    """Teach fsspec ``roots://``: fsspec-xrootd's file system with TLS (the xrootd client's own).

    fsspec-xrootd registers ``root://`` only, and talks to the server's namespace as ``root://``; the
    same class with the ``roots`` protocol opens files and the namespace as ``roots://``, which the
    xrootd client reads over TLS, checking the server's certificate against ``$X509_CERT_DIR``."""
    import fsspec
    from fsspec_xrootd import XRootDFileSystem
    from XRootD import client

    class TLSXRootDFileSystem(XRootDFileSystem):
        protocol = "roots"

        def __init__(self, *args: Any, **options: Any) -> None:
            super().__init__(*args, **options)
            self._myclient = client.FileSystem("roots://" + self.hostid)

    fsspec.register_implementation("roots", TLSXRootDFileSystem, clobber=True)


class XRootDSource(_Counting, uproot.source.fsspec.FSSpecSource):
    """uproot's fsspec source (fsspec-xrootd for ``root://``), counting what it requests."""

    def __exit__(self, *exc: object) -> None:
        super().__exit__(*exc)
        self._forget_handle()

    def _forget_handle(self) -> None:
        """Drop this file's handle from fsspec-xrootd's cache, closing it without waiting.

        The cache closes what it holds when the program exits, and a handle to a server that went
        away would print a traceback then; waiting on fsspec's event loop here could hang at exit."""
        cache = getattr(getattr(self, "_fs", None), "_readonly_filehandle_cache", None)
        handles = getattr(cache, "_cache", None)
        if not isinstance(handles, dict):
            return
        with contextlib.suppress(Exception):
            item = handles.pop(self._fs.unstrip_protocol(self._file_path), None)
            if item is not None:
                item.handle.close(callback=lambda *args: None)


class HTTPSource(_Counting, uproot.source.http.HTTPSource):
    """uproot's HTTP source (range requests, Python's own http.client), counting what it requests."""


def as_read(url: str) -> str:
    """The URL uproot is given: ``davs://`` as ``https://``, ``dav://`` as ``http://``, ``xroot://`` as ``root://``."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    read_as = READ_AS.get(scheme, scheme)
    return url if read_as == parts.scheme else urlunsplit(parts._replace(scheme=read_as))


def _source_class(url: str) -> type[XRootDSource] | type[HTTPSource]:
    """The uproot source that reads the URL, once its server answers; :class:`EventFileError` if not."""
    scheme = scheme_of(url)
    if scheme not in SCHEMES:
        raise EventFileError(
            url,
            f"cannot read {scheme}:// URLs; remote files are read over root://, roots://, https:// or davs://",
        )
    check_reachable(url, settings.timeout)
    if READ_AS[scheme] == "roots":
        try:
            _register_roots()
        except ImportError as exc:
            raise explain(url, exc) from exc
    return XRootDSource if scheme in XROOTD_SCHEMES else HTTPSource


def open_file(url: str) -> Any:
    """Open a remote ROOT file with uproot (its root directory); :class:`EventFileError` if it fails."""
    handler = _source_class(url)
    try:
        # a one-entry dict: uproot reads no "file.root:object" out of the URL
        return uproot.open({as_read(url): None}, handler=handler, timeout=settings.timeout)
    except EventFileError:
        raise
    except Exception as exc:
        raise explain(url, exc) from exc


def open_uproot(where: Location) -> Any:
    """uproot's view of a local file (``uproot.open``) or of a URL (:func:`open_file`)."""
    return open_file(where) if isinstance(where, str) and is_url(where) else uproot.open(where)


def file_size(file: Any) -> int | None:
    """The size of an open uproot file as its source knows it (a remote file's size on the server)."""
    try:
        size = file.file.source.num_bytes
    except Exception:
        return None
    return int(size) if isinstance(size, int) else None


class RemoteFile(io.RawIOBase):
    """A remote file as a seekable binary stream (for h5py), read in cached blocks through uproot's sources.

    The file is read in aligned blocks of ``block_size`` bytes, the missing blocks of one read in one
    range request of :class:`XRootDSource` or :class:`HTTPSource` (so the byte counting, the progress
    lines and the timeouts are those of the ROOT reads), and the last ``cache_blocks`` blocks kept:
    h5py asks for many small, scattered pieces (superblock, B-tree nodes, chunks), most of them
    again and again. A failed read is one :class:`EventFileError` naming the URL (:func:`read_error`).
    """

    def __init__(self, url: str, block_size: int = 2**16, cache_blocks: int = 1024) -> None:
        super().__init__()
        handler = _source_class(url)
        self.url = url
        self.block_size = block_size
        self._cache_blocks = cache_blocks
        self._blocks: OrderedDict[int, bytes] = OrderedDict()
        try:
            self._source: Any = handler(as_read(url), timeout=settings.timeout)
            self._size = int(self._source.num_bytes)
        except EventFileError:
            raise
        except Exception as exc:
            raise explain(url, exc) from exc
        self._position = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._position

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._position, io.SEEK_END: self._size}[whence]
        if base + offset < 0:
            raise OSError(f"{self.url}: seek to a negative position {base + offset}")
        self._position = base + offset
        return self._position

    def readinto(self, buffer: Any) -> int:
        view = memoryview(buffer).cast("B")
        start, stop = self._position, min(self._position + len(view), self._size)
        if stop <= start:
            return 0
        first, last = start // self.block_size, (stop - 1) // self.block_size
        self._fetch([b for b in range(first, last + 1) if b not in self._blocks])
        at = 0
        for block in range(first, last + 1):
            data = self._blocks[block]
            self._blocks.move_to_end(block)
            lo = max(start - block * self.block_size, 0)
            hi = min(stop - block * self.block_size, len(data))
            view[at : at + hi - lo] = data[lo:hi]
            at += hi - lo
        self._position = stop
        return at

    def _fetch(self, blocks: list[int]) -> None:
        """Read the blocks (consecutive runs in one request each) into the cache."""
        runs: list[list[int]] = []
        for block in blocks:
            if runs and block == runs[-1][-1] + 1:
                runs[-1].append(block)
            else:
                runs.append([block])
        for run in runs:
            lo, hi = run[0] * self.block_size, min((run[-1] + 1) * self.block_size, self._size)
            try:
                data = bytes(self._source.chunk(lo, hi).raw_data)
            except Exception as exc:
                raise read_error(self.url, exc, f"cannot read bytes {lo}:{hi}") from exc
            if len(data) != hi - lo:
                raise EventFileError(self.url, f"the server sent {len(data)} of bytes {lo}:{hi}")
            for i, block in enumerate(run):
                self._blocks[block] = data[i * self.block_size : (i + 1) * self.block_size]
        while len(self._blocks) > max(self._cache_blocks, len(blocks)):
            self._blocks.popitem(last=False)

    def close(self) -> None:
        if not self.closed:
            self._blocks.clear()
            with contextlib.suppress(Exception):
                self._source.__exit__(None, None, None)
        super().close()


def open_binary(url: str) -> RemoteFile:
    """A remote file for h5py (or any reader of seekable file objects); see :class:`RemoteFile`."""
    return RemoteFile(url)
