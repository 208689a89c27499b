"""An SQLite archive of values and of the alarm log, so a restart keeps the shift's record
(docs/monitoring.md §2.6).

One file, stdlib ``sqlite3`` in WAL mode: a writer killed at any instant (SIGKILL, a crash) leaves
every committed transaction in the file and none half-written. :meth:`Archive.sync` writes the alarm
log entries the model added since the last sync in one transaction; entries are keyed by their
sequence number, so an entry is never stored twice, and :meth:`Archive.restore` gives a fresh
:class:`~monitoring.alarms.AlarmModel` its log, numbering, acknowledgements and shelves back.
Rows older than ``retention_days`` are deleted, except the log from the oldest entry a restart
needs (the raise of an alarm still raised, a shelf still on), whatever its age.

The integrated luminosity survives a restart whole: :meth:`Archive.record_updates` given the model's
:class:`~monitoring.accumulators.LumiIntegrator` writes its state (per run, per day, total, gaps, the
last sample taken) as a checkpoint at most once a second, in the transaction of that tick's values.
:func:`restore_history` gives a restarted model that checkpoint and then replays the archived values
from before it on: samples up to the checkpoint are not integrated again, the archived ones after it
(up to the kill) are, so nothing is lost and nothing counted twice, however long the shift was.
:func:`open_archive` sets a damaged or foreign file aside (renamed) and starts afresh.
"""

from __future__ import annotations

import json
import math
import sqlite3
import time
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from monitoring.alarms import AlarmLogEntry, AlarmModel
from monitoring.channels import CHANNELS
from monitoring.source import Update

if TYPE_CHECKING:
    from monitoring.accumulators import LumiIntegrator
    from monitoring.model import MonitorModel

SCHEMA_VERSION = 1
PRUNE_EVERY_S = 3600.0
RECORD_INTERVAL_S = 1.0  # at most one archived sample per continuous channel per second
CHECKPOINT_S = 1.0  # the luminosity integral's checkpoint: at most once a second (of source time)
HISTORY_S = 3600.0  # replayed into the charts at start (the integral comes whole from the checkpoint)
REPLAY_BATCH = 20_000  # updates per ingest while replaying, as a source delivers them
# channels updated on change only (run, fill, injection): every change archived, never downsampled
DISCRETE = frozenset(name for name, spec in CHANNELS.items() if not spec.continuous)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS alarm_log (
    seq INTEGER PRIMARY KEY, time REAL NOT NULL, alarm TEXT NOT NULL, action TEXT NOT NULL,
    severity INTEGER NOT NULL, who TEXT NOT NULL, text TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS alarm_log_time ON alarm_log (time);
CREATE TABLE IF NOT EXISTS vals (name TEXT NOT NULL, time REAL NOT NULL, value REAL NOT NULL);
CREATE INDEX IF NOT EXISTS vals_name_time ON vals (name, time);
CREATE INDEX IF NOT EXISTS vals_time ON vals (time);
CREATE TABLE IF NOT EXISTS lumi_checkpoint (
    id INTEGER PRIMARY KEY CHECK (id = 1), time REAL NOT NULL, state TEXT NOT NULL
);
"""


class ArchiveError(RuntimeError):
    """The archive file cannot be used; one line naming the file and the problem."""


class Archive:
    def __init__(
        self,
        path: str | Path,
        retention_days: float = 30.0,
        clock: Callable[[], float] = time.time,
        busy_timeout_s: float = 10.0,
    ) -> None:
        if not (math.isfinite(retention_days) and retention_days > 0):
            raise ValueError("retention_days must be a number > 0")
        self.path = Path(path)
        self.retention_s = retention_days * 86400.0
        self.clock = clock
        try:
            self._db = sqlite3.connect(self.path, isolation_level=None, timeout=busy_timeout_s)
            mode = self._db.execute("PRAGMA journal_mode=WAL").fetchone()[0]
            if mode != "wal":
                raise ArchiveError(f"{self.path}: cannot use write-ahead logging (journal mode {mode})")
            # WAL with NORMAL: a killed process loses nothing committed; only a power cut may lose
            # the last transactions (never the file's consistency)
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.executescript(_SCHEMA)
            row = self._db.execute("SELECT value FROM meta WHERE key = 'schema'").fetchone()
            if row is None:
                self._db.execute("INSERT INTO meta VALUES ('schema', ?)", (str(SCHEMA_VERSION),))
            elif row[0] != str(SCHEMA_VERSION):
                raise ArchiveError(
                    f"{self.path}: archive schema {row[0]}, this program reads {SCHEMA_VERSION}"
                )
            self.last_seq = int(self._db.execute("SELECT COALESCE(MAX(seq), 0) FROM alarm_log").fetchone()[0])
            # the newest sample of each channel: a restarted recorder goes on from there, never twice
            self._last_recorded: dict[str, float] = dict(
                self._db.execute("SELECT name, MAX(time) FROM vals GROUP BY name").fetchall()
            )
            self._pruned_at = -math.inf
            self._checkpoint_at = -math.inf  # source time of the last luminosity checkpoint written
            self.prune()  # values only: which log entries a restart needs, the restored model says
        except (sqlite3.DatabaseError, ArchiveError) as exc:  # damaged, locked, not a database
            if hasattr(self, "_db"):
                self._db.close()  # nothing of it held open: the file can be set aside
            if isinstance(exc, ArchiveError):
                raise
            raise ArchiveError(f"{self.path}: not a usable archive: {exc}") from None

    # --- writing -------------------------------------------------------------------------------
    def write_log(self, entries: Iterable[AlarmLogEntry]) -> int:
        """Store entries (one transaction); returns how many were new."""
        rows = [(e.seq, e.time, e.alarm, e.action, e.severity, e.who, e.text) for e in entries]
        if not rows:
            return 0
        with self._transaction():
            before = self._db.total_changes
            self._db.executemany("INSERT OR IGNORE INTO alarm_log VALUES (?, ?, ?, ?, ?, ?, ?)", rows)
            added = self._db.total_changes - before
        self.last_seq = max(self.last_seq, max(r[0] for r in rows))
        return added

    def sync(self, model: AlarmModel) -> int:
        """Store what the model logged since the last sync; prune once an hour."""
        added = self.write_log(model.log_since(self.last_seq))
        if self.clock() - self._pruned_at >= PRUNE_EVERY_S:
            self.prune(model)
        return added

    def record_values(self, t: float, values: Mapping[str, float]) -> int:
        """Store one sample of each finite value at time ``t`` (one transaction)."""
        rows = [(name, t, float(v)) for name, v in values.items() if math.isfinite(v)]
        if rows:
            with self._transaction():
                self._db.executemany("INSERT INTO vals VALUES (?, ?, ?)", rows)
        return len(rows)

    def record_updates(
        self,
        updates: Iterable[Update],
        min_interval_s: float = RECORD_INTERVAL_S,
        lumi: LumiIntegrator | None = None,
    ) -> int:
        """Store what a source delivered, each value at its own time, at most one sample per
        continuous channel every ``min_interval_s`` (a 10 Hz PV costs a tenth) and every change of a
        discrete one (a run number); numbers only, connected only. Given ``lumi`` (the model's, after
        it ingested ``updates``), its checkpoint goes into the same transaction, at most once every
        :data:`CHECKPOINT_S` of source time."""
        rows = []
        last = self._last_recorded
        for u in updates:
            v = u.value
            number = isinstance(v, int | float) and not isinstance(v, bool)
            if not (u.connected and number and math.isfinite(v)):
                continue
            before = last.get(u.channel, -math.inf)
            if u.timestamp <= before or (u.channel not in DISCRETE and u.timestamp - before < min_interval_s):
                continue
            last[u.channel] = u.timestamp
            rows.append((u.channel, float(u.timestamp), float(v)))
        checkpoint = None
        if lumi is not None and math.isfinite(lumi.last_seen):
            if lumi.last_seen - self._checkpoint_at >= CHECKPOINT_S or lumi.last_seen < self._checkpoint_at:
                checkpoint = (lumi.last_seen, json.dumps(lumi.state()))
        if rows or checkpoint:
            with self._transaction():
                if rows:
                    self._db.executemany("INSERT INTO vals VALUES (?, ?, ?)", rows)
                if checkpoint:
                    self._db.execute("INSERT OR REPLACE INTO lumi_checkpoint VALUES (1, ?, ?)", checkpoint)
            if checkpoint:
                self._checkpoint_at = checkpoint[0]
        return len(rows)

    def newest_time(self) -> float:
        """The newest time the archive holds a value or a luminosity checkpoint of (-inf if none)."""
        row = self._db.execute(
            "SELECT MAX(t) FROM (SELECT MAX(time) AS t FROM vals UNION ALL SELECT time FROM lumi_checkpoint)"
        ).fetchone()
        return float(row[0]) if row[0] is not None else -math.inf

    def lumi_checkpoint(self) -> tuple[float, dict[str, Any]] | None:
        """(source time, :meth:`LumiIntegrator.state`) of the newest checkpoint, or None."""
        row = self._db.execute("SELECT time, state FROM lumi_checkpoint WHERE id = 1").fetchone()
        if row is None:
            return None
        try:
            return float(row[0]), json.loads(row[1])
        except ValueError:
            return None  # a checkpoint that cannot be read: the replayed history integrates anew

    def history(self, channels: Iterable[str], since: float, in_force: bool = True) -> list[Update]:
        """The archived values of ``channels`` from ``since`` on, oldest first, as updates (replayed
        history for a source that has none of its own: ``ca://``, ``pva://``); with ``in_force``,
        each discrete channel's last value before ``since`` first (the run going on then)."""
        names = list(channels)
        if not names:
            return []
        since = max(since, -1e300)
        head: list[Update] = []
        if in_force:
            for name in (n for n in names if n in DISCRETE):
                row = self._db.execute(
                    "SELECT time, value FROM vals WHERE name = ? AND time < ? ORDER BY time DESC LIMIT 1",
                    (name, since),
                ).fetchone()
                if row is not None:
                    head.append(Update(name, row[0], row[1]))
        marks = ",".join("?" * len(names))
        cur = self._db.execute(
            f"SELECT name, time, value FROM vals WHERE time >= ? AND name IN ({marks}) ORDER BY time",
            (since, *names),
        )
        return sorted(head, key=lambda u: u.timestamp) + [Update(name, t, value) for name, t, value in cur]

    def prune(self, model: AlarmModel | None = None) -> int:
        """Delete values older than the retention and, given the model that writes here (synced),
        log entries older than it from before the oldest entry the model would need after a restart."""
        now = self.clock()
        self._pruned_at = now
        cutoff = now - self.retention_s
        with self._transaction():
            before = self._db.total_changes
            if model is not None:
                needed = model.oldest_needed_seq()
                keep_from = min(needed if needed is not None else model.seq + 1, self.last_seq + 1)
                self._db.execute("DELETE FROM alarm_log WHERE time < ? AND seq < ?", (cutoff, keep_from))
            self._db.execute("DELETE FROM vals WHERE time < ?", (cutoff,))
            return self._db.total_changes - before

    # --- reading -------------------------------------------------------------------------------
    def log_entries(self, since_seq: int = 0) -> list[AlarmLogEntry]:
        cur = self._db.execute(
            "SELECT seq, time, alarm, action, severity, who, text FROM alarm_log WHERE seq > ? ORDER BY seq",
            (since_seq,),
        )
        return [AlarmLogEntry(*row) for row in cur]

    def restore(self, model: AlarmModel) -> int:
        """Give a model started after a restart the archived log; returns the entries taken."""
        n = model.restore(self.log_entries(model.seq))
        self.last_seq = max(self.last_seq, model.seq)
        return n

    def values(self, name: str, t0: float = -math.inf, t1: float = math.inf) -> tuple[np.ndarray, np.ndarray]:
        cur = self._db.execute(
            "SELECT time, value FROM vals WHERE name = ? AND time >= ? AND time <= ? ORDER BY time",
            (name, max(t0, -1e300), min(t1, 1e300)),
        )
        rows = cur.fetchall()
        if not rows:
            return np.empty(0), np.empty(0)
        data = np.asarray(rows, dtype=float)
        return data[:, 0], data[:, 1]

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> Archive:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _transaction(self) -> _Transaction:
        return _Transaction(self._db)


class _Transaction:
    """BEGIN IMMEDIATE ... COMMIT (ROLLBACK on an exception, so the exception is the one raised), on
    an autocommit connection."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self.db = db

    def __enter__(self) -> None:
        self.db.execute("BEGIN IMMEDIATE")

    def __exit__(self, kind: object, *exc: object) -> None:
        if kind is None:
            self.db.execute("COMMIT")
        elif self.db.in_transaction:  # SQLite rolls back by itself on some errors (a full disk)
            self.db.execute("ROLLBACK")


def restore_history(
    archive: Archive, model: MonitorModel, now: float, history_s: float = HISTORY_S
) -> int:
    """Before a restarted source starts: the luminosity integral from the archive's checkpoint, then
    the archived values of the model's channels from ``now - history_s`` (or from the checkpoint, if
    older) ingested as history; returns how many updates were replayed."""
    since = now - history_s
    checkpoint = archive.lumi_checkpoint()
    if checkpoint is not None:
        t, state = checkpoint
        try:
            model.lumi.restore(state)
        except (KeyError, TypeError, ValueError):
            pass  # a checkpoint of another layout: the replayed history integrates anew
        else:
            since = min(since, t)
    history = archive.history(list(model.states), since)
    for start in range(0, len(history), REPLAY_BATCH):
        model.ingest(history[start : start + REPLAY_BATCH])
    return len(history)


def open_archive(
    path: str | Path,
    retention_days: float = 30.0,
    clock: Callable[[], float] = time.time,
    busy_timeout_s: float = 10.0,
) -> tuple[Archive, str]:
    """An :class:`Archive` at ``path``, and "" or the line saying that the file there could not be
    used (damaged, locked, another schema) and was set aside, renamed, for a fresh one. A path that
    cannot hold an archive at all (a directory, no permission) raises :class:`ArchiveError`."""
    path = Path(path)
    try:
        return Archive(path, retention_days, clock, busy_timeout_s), ""
    except ArchiveError as exc:
        if not path.is_file():
            raise
        problem = str(exc)
    aside = path.with_name(f"{path.name}.unusable-{time.strftime('%Y%m%d-%H%M%S')}")
    try:
        for suffix in ("", "-wal", "-shm"):  # the file with its write-ahead log, or none of it
            part = Path(f"{path}{suffix}")
            if part.exists():
                part.rename(f"{aside}{suffix}")
    except OSError as err:
        raise ArchiveError(f"{problem}; cannot set it aside: {err.strerror}") from None
    return Archive(path, retention_days, clock, busy_timeout_s), f"{problem}; set aside as {aside.name}, started afresh"
