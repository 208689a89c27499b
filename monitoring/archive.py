"""An SQLite archive of values and of the alarm log, so a restart keeps the shift's record
(docs/monitoring.md §2.6).

One file, stdlib ``sqlite3`` in WAL mode: a writer killed at any instant (SIGKILL, a crash) leaves
every committed transaction in the file and none half-written. :meth:`Archive.sync` writes the alarm
log entries the model added since the last sync in one transaction; entries are keyed by their
sequence number, so an entry is never stored twice, and :meth:`Archive.restore` gives a fresh
:class:`~monitoring.alarms.AlarmModel` its log, numbering, acknowledgements and shelves back.
Rows older than ``retention_days`` are deleted, except the log from the oldest entry a restart
needs (the raise of an alarm still raised, a shelf still on), whatever its age.
"""

from __future__ import annotations

import math
import sqlite3
import time
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path

import numpy as np

from monitoring.alarms import AlarmLogEntry, AlarmModel
from monitoring.source import Update

SCHEMA_VERSION = 1
PRUNE_EVERY_S = 3600.0
RECORD_INTERVAL_S = 1.0  # at most one archived sample per channel per second

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
"""


class ArchiveError(RuntimeError):
    """The archive file cannot be used; one line naming the file and the problem."""


class Archive:
    def __init__(
        self, path: str | Path, retention_days: float = 30.0, clock: Callable[[], float] = time.time
    ) -> None:
        if not (math.isfinite(retention_days) and retention_days > 0):
            raise ValueError("retention_days must be a number > 0")
        self.path = Path(path)
        self.retention_s = retention_days * 86400.0
        self.clock = clock
        try:
            self._db = sqlite3.connect(self.path, isolation_level=None, timeout=10.0)
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
        except sqlite3.DatabaseError as exc:
            raise ArchiveError(f"{self.path}: not a usable archive: {exc}") from None
        self._pruned_at = -math.inf
        self.prune()  # values only: which log entries a restart needs, the restored model says

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

    def record_updates(self, updates: Iterable[Update], min_interval_s: float = RECORD_INTERVAL_S) -> int:
        """Store what a source delivered, each value at its own time, at most one sample per channel
        every ``min_interval_s`` (a 10 Hz PV costs a tenth); numbers only, connected only."""
        rows = []
        last = self._last_recorded
        for u in updates:
            v = u.value
            number = isinstance(v, int | float) and not isinstance(v, bool)
            if not (u.connected and number and math.isfinite(v)):
                continue
            if u.timestamp - last.get(u.channel, -math.inf) < min_interval_s:
                continue
            last[u.channel] = u.timestamp
            rows.append((u.channel, float(u.timestamp), float(v)))
        if rows:
            with self._transaction():
                self._db.executemany("INSERT INTO vals VALUES (?, ?, ?)", rows)
        return len(rows)

    def history(self, channels: Iterable[str], since: float) -> list[Update]:
        """The archived values of ``channels`` from ``since`` on, oldest first, as updates (replayed
        history for a source that has none of its own: ``ca://``, ``pva://``)."""
        names = list(channels)
        if not names:
            return []
        marks = ",".join("?" * len(names))
        cur = self._db.execute(
            f"SELECT name, time, value FROM vals WHERE time >= ? AND name IN ({marks}) ORDER BY time",
            (max(since, -1e300), *names),
        )
        return [Update(name, t, value) for name, t, value in cur]

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
    """BEGIN IMMEDIATE ... COMMIT (ROLLBACK on an exception), on an autocommit connection."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self.db = db

    def __enter__(self) -> None:
        self.db.execute("BEGIN IMMEDIATE")

    def __exit__(self, kind: object, *exc: object) -> None:
        self.db.execute("COMMIT" if kind is None else "ROLLBACK")
