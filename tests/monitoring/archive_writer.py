"""An alarm model writing to an archive until it is killed, for the archive's crash tests.

Run as ``python tests/monitoring/archive_writer.py DB churn|state``:

* ``churn``: raises, clears, acknowledges and shelves in a loop, syncing the log and writing values
  after each step, and prints ``synced SEQ VALUES`` once each step is committed;
* ``state``: leaves ``lum_low`` raised, acknowledged and still active, ``dead`` raised and cleared
  but unacknowledged, ``other`` shelved for 600 s, prints ``ready SEQ`` and waits to be killed.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from monitoring.alarms import AlarmDefinition, AlarmModel, Condition, Reading  # noqa: E402
from monitoring.archive import Archive  # noqa: E402
from monitoring.channels import Severity  # noqa: E402

DEFINITIONS = (
    AlarmDefinition("lum_low", "Luminosity low", Severity.MINOR, Condition("LUM", "below", 1e33)),
    AlarmDefinition("dead", "Dead time high", Severity.MAJOR, Condition("L1:DEAD", "above", 0.1)),
    AlarmDefinition("other", "Other", Severity.MINOR, Condition("X", "above", 0), latch=False),
)


def churn(archive: Archive, model: AlarmModel) -> None:
    values = 0
    k = 0
    t0 = time.time()
    while True:
        k += 1
        low = k % 2 == 0
        model.update({"LUM": Reading(1e32 if low else 5e34), "L1:DEAD": Reading(0.2 * (k % 3 == 0))})
        if k % 5 == 0:
            model.acknowledge_all("writer", f"step {k}")
        if k % 7 == 0:
            model.shelve("other", "writer", f"step {k}", 1.0)
        archive.sync(model)
        values += archive.record_values(t0 + 1e-3 * k, {"LUM": 1e32 if low else 5e34, "L1:DEAD": 0.01 * k})
        print(f"synced {archive.last_seq} {values}", flush=True)


def state(archive: Archive, model: AlarmModel) -> None:
    model.update({"LUM": Reading(1e32), "L1:DEAD": Reading(0.5), "X": Reading(0)})
    model.acknowledge("lum_low", "Ana", "tuning")
    model.update({"LUM": Reading(1e32), "L1:DEAD": Reading(0.0), "X": Reading(0)})
    model.shelve("other", "Ana", "machine study", 600)
    archive.sync(model)
    print(f"ready {archive.last_seq}", flush=True)
    while True:
        time.sleep(1)


def main(path: str, mode: str) -> None:
    archive = Archive(path)
    model = AlarmModel(DEFINITIONS)
    archive.restore(model)
    {"churn": churn, "state": state}[mode](archive, model)


if __name__ == "__main__":
    main(*sys.argv[1:3])
