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

from monitoring.accumulators import SBLAlarm
from monitoring.alarms import AlarmLogEntry, AlarmModel
from monitoring.channels import CHANNELS
from monitoring.source import Update

if TYPE_CHECKING:
    from monitoring.accumulators import LumiIntegrator
    from monitoring.model import MonitorModel

SCHEMA_VERSION = 2  # 1: one row-id table of (name, time, value) with two indexes, migrated on opening
PRUNE_EVERY_S = 3600.0
RECORD_INTERVAL_S = 1.0  # at most one archived sample per continuous channel per second
CHECKPOINT_S = 1.0  # the luminosity integral's checkpoint: at most once a second (of source time)
HISTORY_S = 3600.0  # replayed sample by sample at start (the integral comes whole from the checkpoint)
CHART_S = 8 * 3600.0  # the charts' history at start: a shift, the panels' longest span but one
COARSE_S = 30.0  # the coarse table: each continuous channel's mean, min and max per 30 s
REPLAY_BATCH = 20_000  # updates per ingest while replaying, as a source delivers them
# channels updated on change only (run, fill, injection): every change archived, never downsampled
DISCRETE = frozenset(name for name, spec in CHANNELS.items() if not spec.continuous)
# the channels the model derives from (integral, beam losses, runs, fills): replayed sample by sample
REPLAYED = frozenset({"LUM", "HER:I", "LER:I", *DISCRETE})

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS alarm_log (
    seq INTEGER PRIMARY KEY, time REAL NOT NULL, alarm TEXT NOT NULL, action TEXT NOT NULL,
    severity INTEGER NOT NULL, who TEXT NOT NULL, text TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS alarm_log_time ON alarm_log (time);
CREATE TABLE IF NOT EXISTS channels (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE);
CREATE TABLE IF NOT EXISTS samples (
    ch INTEGER NOT NULL, time REAL NOT NULL, value REAL NOT NULL, PRIMARY KEY (ch, time)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS coarse (
    ch INTEGER NOT NULL, time REAL NOT NULL, value REAL NOT NULL, low REAL NOT NULL, high REAL NOT NULL,
    PRIMARY KEY (ch, time)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS lumi_checkpoint (
    id INTEGER PRIMARY KEY CHECK (id = 1), time REAL NOT NULL, state TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS beam_losses (
    time REAL PRIMARY KEY, record TEXT NOT NULL, postmortem BLOB NOT NULL
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
            with self._transaction():
                row = self._db.execute("SELECT value FROM meta WHERE key = 'schema'").fetchone()
                if row is None:
                    self._db.execute("INSERT INTO meta VALUES ('schema', ?)", (str(SCHEMA_VERSION),))
                elif row[0] == "1":
                    self._migrate_from_1()
                elif row[0] != str(SCHEMA_VERSION):
                    raise ArchiveError(
                        f"{self.path}: archive schema {row[0]}, this program reads {SCHEMA_VERSION}"
                    )
            self.last_seq = int(self._db.execute("SELECT COALESCE(MAX(seq), 0) FROM alarm_log").fetchone()[0])
            self._ids: dict[str, int] = {n: i for i, n in self._db.execute("SELECT id, name FROM channels")}
            # the newest sample of each channel: a restarted recorder goes on from there, never twice
            # (one primary-key lookup per channel: a GROUP BY would read every row)
            self._last_recorded = self._newest("samples")
            # each channel's open coarse bucket: [bucket, n, sum t, sum v, low, high]; buckets already
            # stored are never opened again
            self._coarse: dict[str, list[float]] = {}
            self._coarse_done = {n: math.floor(t / COARSE_S) for n, t in self._newest("coarse").items()}
            self._pruned_at = -math.inf
            self._checkpoint_at = -math.inf  # source time of the last luminosity checkpoint written
            # each stored beam loss: (acknowledged, acknowledged_at), rewritten when that changes
            self._losses: dict[float, tuple[bool, float | None]] = {}
            for t, record in self._db.execute("SELECT time, record FROM beam_losses"):
                try:
                    fields = json.loads(record)
                    self._losses[float(t)] = (bool(fields["acknowledged"]), fields["acknowledged_at"])
                except (KeyError, TypeError, ValueError):
                    continue  # a record that cannot be read: written again if the loss is seen again
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
                self._insert_samples(rows)
        return len(rows)

    def _channel_id(self, name: str) -> int:
        """The channel's number in the tables (made on first use, inside the caller's transaction)."""
        ch = self._ids.get(name)
        if ch is None:
            self._db.execute("INSERT OR IGNORE INTO channels (name) VALUES (?)", (name,))
            ch = int(self._db.execute("SELECT id FROM channels WHERE name = ?", (name,)).fetchone()[0])
            self._ids[name] = ch
        return ch

    def _insert_samples(self, rows: list[tuple[str, float, float]]) -> None:
        ids = self._ids
        if any(name not in ids for name, _, _ in rows):
            for name in {r[0] for r in rows}:
                self._channel_id(name)
        self._db.executemany(
            "INSERT OR IGNORE INTO samples VALUES (?, ?, ?)", [(ids[n], t, v) for n, t, v in rows]
        )

    def _coarse_add(
        self, name: str, t: float, v: float, done: list[tuple[str, float, float, float, float]]
    ) -> None:
        """One sample into its channel's 30 s bucket; a bucket left behind goes to ``done``."""
        bucket = math.floor(t / COARSE_S)
        acc = self._coarse.get(name)
        if acc is None or bucket != acc[0]:
            if acc is not None and acc[1]:
                done.append((name, acc[2] / acc[1], acc[3] / acc[1], acc[4], acc[5]))
            if bucket <= self._coarse_done.get(name, -math.inf):
                self._coarse.pop(name, None)  # stored before a restart: not again
                return
            acc = self._coarse[name] = [bucket, 0.0, 0.0, 0.0, math.inf, -math.inf]
        acc[1] += 1
        acc[2] += t
        acc[3] += v
        acc[4] = min(acc[4], v)
        acc[5] = max(acc[5], v)

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
        coarse: list[tuple[str, float, float, float, float]] = []
        last = self._last_recorded
        for u in updates:
            v = u.value
            number = isinstance(v, int | float) and not isinstance(v, bool)
            if not (u.connected and number and math.isfinite(v)):
                continue
            before = last.get(u.channel, -math.inf)
            if u.timestamp <= before:
                continue
            if u.channel not in DISCRETE:
                self._coarse_add(u.channel, u.timestamp, v, coarse)  # every sample: its true min and max
                if u.timestamp - before < min_interval_s:
                    continue
            last[u.channel] = u.timestamp
            rows.append((u.channel, float(u.timestamp), float(v)))
        checkpoint = None
        seen = lumi.last_seen if lumi is not None else math.nan
        # a second on since the last one, or the source's clock went back
        if lumi is not None and math.isfinite(seen) and not 0 <= seen - self._checkpoint_at < CHECKPOINT_S:
            checkpoint = (seen, json.dumps(lumi.state()))
        if rows or checkpoint or coarse:
            with self._transaction():
                if rows:
                    self._insert_samples(rows)
                if coarse:
                    self._db.executemany(
                        "INSERT OR IGNORE INTO coarse VALUES (?, ?, ?, ?, ?)",
                        [(self._channel_id(n), *rest) for n, *rest in coarse],
                    )
                    for name, t, *_ in coarse:
                        self._coarse_done[name] = math.floor(t / COARSE_S)
                if checkpoint:
                    self._db.execute("INSERT OR REPLACE INTO lumi_checkpoint VALUES (1, ?, ?)", checkpoint)
            if checkpoint:
                self._checkpoint_at = checkpoint[0]
        return len(rows)

    def record_beam_losses(self, alarms: Iterable[SBLAlarm]) -> int:
        """Store each beam loss whose post-mortem is complete (one transaction), again when it has
        been acknowledged since; returns how many rows were written. Keyed by the loss's time."""
        rows = []
        for a in alarms:
            state = (a.acknowledged, a.acknowledged_at)
            if a.postmortem and self._losses.get(a.time) != state:
                rows.append((a.time, *_loss_row(a)))
        if rows:
            with self._transaction():
                self._db.executemany("INSERT OR REPLACE INTO beam_losses VALUES (?, ?, ?)", rows)
            for t, record, _ in rows:
                fields = json.loads(record)
                self._losses[t] = (fields["acknowledged"], fields["acknowledged_at"])
        return len(rows)

    def beam_losses(self, since: float = -math.inf) -> list[SBLAlarm]:
        """The archived beam losses from ``since`` on, and every one still latched whatever its age,
        oldest first (a row that cannot be read is skipped)."""
        cur = self._db.execute("SELECT time, record, postmortem FROM beam_losses ORDER BY time", ())
        out = []
        for t, record, blob in cur:
            try:
                alarm = _loss_from_row(float(t), record, blob)
            except (KeyError, TypeError, ValueError):
                continue
            if alarm.time >= since or not alarm.acknowledged:
                out.append(alarm)
        return out

    def newest_time(self) -> float:
        """The newest time the archive holds a value or a luminosity checkpoint of (-inf if none)."""
        checkpoint = self.lumi_checkpoint()
        return max([*self._last_recorded.values(), checkpoint[0] if checkpoint else -math.inf])

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
        updates: list[Update] = []
        for name, (t, v) in self.arrays(channels, since, in_force=in_force).items():
            updates += [Update(name, a, b) for a, b in zip(t.tolist(), v.tolist(), strict=True)]
        updates.sort(key=lambda u: u.timestamp)  # stable: each channel's order kept
        return updates

    def arrays(
        self, channels: Iterable[str], since: float, fine_since: float = -math.inf, in_force: bool = True
    ) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        """Per channel, (times, values) from ``since`` on: the coarse table's 30 s means before
        ``fine_since`` (continuous channels), every archived sample from then on; with ``in_force``
        a discrete channel's last value before ``since`` first. Indexed range reads, no sorting."""
        since = max(since, -1e300)
        out: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        for name in channels:
            ch = self._ids.get(name)
            if ch is None:
                continue
            fine_from = since if name in DISCRETE else max(fine_since, since)
            rows: list[tuple[float, float]] = []
            if name in DISCRETE and in_force:
                rows += self._db.execute(
                    "SELECT time, value FROM samples WHERE ch = ? AND time < ? ORDER BY time DESC LIMIT 1",
                    (ch, since),
                ).fetchall()
            elif fine_from > since:
                rows += self._db.execute(
                    "SELECT time, value FROM coarse WHERE ch = ? AND time >= ? AND time < ? ORDER BY time",
                    (ch, since, fine_from),
                ).fetchall()
            rows += self._db.execute(
                "SELECT time, value FROM samples WHERE ch = ? AND time >= ? ORDER BY time", (ch, fine_from)
            ).fetchall()
            if rows:
                data = np.array(rows, dtype=float)
                out[name] = (data[:, 0], data[:, 1])
        return out

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
            for ch in self._ids.values():  # a range of the primary key each
                self._db.execute("DELETE FROM samples WHERE ch = ? AND time < ?", (ch, cutoff))
                self._db.execute("DELETE FROM coarse WHERE ch = ? AND time < ?", (ch, cutoff))
            old = [t for t, (acknowledged, _) in self._losses.items() if acknowledged and t < cutoff]
            self._db.executemany("DELETE FROM beam_losses WHERE time = ?", [(t,) for t in old])
            for t in old:
                del self._losses[t]
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
        """Every archived sample of one channel in [t0, t1]."""
        ch = self._ids.get(name)
        if ch is None:
            return np.empty(0), np.empty(0)
        cur = self._db.execute(
            "SELECT time, value FROM samples WHERE ch = ? AND time >= ? AND time <= ? ORDER BY time",
            (ch, max(t0, -1e300), min(t1, 1e300)),
        )
        rows = cur.fetchall()
        if not rows:
            return np.empty(0), np.empty(0)
        data = np.asarray(rows, dtype=float)
        return data[:, 0], data[:, 1]

    def _newest(self, table: str) -> dict[str, float]:
        """Each channel's newest time in ``table`` (samples or coarse)."""
        out = {}
        for name, ch in self._ids.items():
            t = self._db.execute(f"SELECT MAX(time) FROM {table} WHERE ch = ?", (ch,)).fetchone()[0]
            if t is not None:
                out[name] = float(t)
        return out

    def _migrate_from_1(self) -> None:
        """Schema 1's ``vals`` table into ``channels`` and ``samples`` (inside the opening transaction)."""
        self._db.execute("INSERT OR IGNORE INTO channels (name) SELECT DISTINCT name FROM vals")
        self._db.execute(
            "INSERT OR IGNORE INTO samples "
            "SELECT c.id, v.time, v.value FROM vals v JOIN channels c USING (name)"
        )
        self._db.execute("DROP TABLE vals")
        self._db.execute("UPDATE meta SET value = ? WHERE key = 'schema'", (str(SCHEMA_VERSION),))

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> Archive:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _transaction(self) -> _Transaction:
        return _Transaction(self._db)


def _loss_row(alarm: SBLAlarm) -> tuple[str, bytes]:
    """A beam loss as (JSON of its fields, its post-mortem arrays as float64 bytes: per channel
    the times then the values, in the order and with the lengths the JSON names)."""
    channels = [(name, len(t)) for name, (t, _) in alarm.postmortem.items()]
    fields = {
        "ring": alarm.ring, "fraction": alarm.fraction, "duration": alarm.duration,
        "current_before": alarm.current_before, "rings": list(alarm.rings),
        "acknowledged": alarm.acknowledged, "acknowledged_at": alarm.acknowledged_at,
        "gap": list(alarm.gap) if alarm.gap is not None else None, "gap_reason": alarm.gap_reason,
        "postmortem": channels,
    }  # fmt: skip
    blob = b"".join(
        np.ascontiguousarray(a, dtype="<f8").tobytes() for t, v in alarm.postmortem.values() for a in (t, v)
    )
    return json.dumps(fields), blob


def _loss_from_row(t: float, record: str, blob: bytes) -> SBLAlarm:
    fields = json.loads(record)
    data = np.frombuffer(blob, dtype="<f8")
    postmortem: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    at = 0
    for name, n in fields["postmortem"]:
        n = int(n)
        if at + 2 * n > len(data):
            raise ValueError("post-mortem shorter than its record says")
        postmortem[str(name)] = (data[at : at + n].copy(), data[at + n : at + 2 * n].copy())
        at += 2 * n
    gap = fields["gap"]
    return SBLAlarm(
        time=t,
        ring=str(fields["ring"]),
        fraction=float(fields["fraction"]),
        duration=float(fields["duration"]),
        current_before=float(fields["current_before"]),
        rings=[str(r) for r in fields["rings"]],
        acknowledged=bool(fields["acknowledged"]),
        acknowledged_at=None if fields["acknowledged_at"] is None else float(fields["acknowledged_at"]),
        postmortem=postmortem,
        gap=(float(gap[0]), float(gap[1])) if gap is not None else None,
        gap_reason=str(fields["gap_reason"]),
    )


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
    archive: Archive,
    model: MonitorModel,
    now: float,
    history_s: float = HISTORY_S,
    chart_s: float = CHART_S,
) -> int:
    """Before a restarted source starts: the luminosity integral from the archive's checkpoint, then
    the archived history of the model's channels: the last ``chart_s`` into the strip charts (30 s
    means before the last ``history_s``, every archived sample after), and what the model derives
    things from (luminosity, beam currents, run, fill: :data:`REPLAYED`) ingested sample by sample
    over the last ``history_s`` (or from the checkpoint, if older), so the integral goes on from the
    checkpoint and a beam loss in that history is logged. Returns how many samples were restored."""
    fine_since = now - history_s
    # the shift's beam losses as they were recorded (a replayed one is not recorded twice)
    model.restore_beam_losses(archive.beam_losses(now - chart_s))
    checkpoint = archive.lumi_checkpoint()
    if checkpoint is not None:
        taken, state = checkpoint
        try:
            model.lumi.restore(state)
        except (KeyError, TypeError, ValueError):
            pass  # a checkpoint of another layout: the replayed history integrates anew
        else:
            fine_since = min(fine_since, taken)
    since = min(now - chart_s, fine_since)
    restored = 0
    replayed: list[Update] = []
    for name, (t, v) in archive.arrays(list(model.states), since, fine_since).items():
        restored += len(t)
        if name in REPLAYED:  # sample by sample from the fine history on, the coarse part charted
            k = int(np.searchsorted(t, fine_since)) if name not in DISCRETE else 0
            model.preload(name, t[:k], v[:k])
            replayed += [Update(name, a, b) for a, b in zip(t[k:].tolist(), v[k:].tolist(), strict=True)]
        else:
            model.preload(name, t, v)
    replayed.sort(key=lambda u: u.timestamp)  # the channels merged in time: each run credited its own
    for start in range(0, len(replayed), REPLAY_BATCH):
        model.ingest(replayed[start : start + REPLAY_BATCH])
    return restored


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
    return Archive(
        path, retention_days, clock, busy_timeout_s
    ), f"{problem}; set aside as {aside.name}, started afresh"
