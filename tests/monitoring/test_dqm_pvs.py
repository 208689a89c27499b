"""The DQM status PVs of ``main.py ioc``, read from the real IOC in a subprocess by real clients:
caproto's Channel Access client and p4p's PV Access client."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from monitoring.dqm_feed import STATUS_LIMITS, DqmPV, dqm_pv_table, pvalue_limits, read_status_pvs
from monitoring.histograms.definitions import STANDARD, by_name
from monitoring.histograms.export import write_histograms
from tests.monitoring.conftest import IOCProcess, wait_for
from tests.monitoring.test_pva import pva_env, server  # noqa: F401  (fixtures: PV Access on private ports)

PLANE = by_name("dark_higgs_plane")


def spike_reference(path: Path) -> Path:
    """A reference for the M(mu mu) x M_recoil plane with every entry in one bin: the simulated
    events, spread over the plane, are an error against it as soon as there are enough of them."""
    spike = np.zeros(tuple(a.bins for a in PLANE.axes))
    spike[30, 40] = 1000.0
    write_histograms(path, {PLANE.name: (spike, PLANE.axes, "spike")})
    return path


def test_no_status_pvs_where_nothing_serves_them() -> None:
    assert read_status_pvs("sim://") == {}


def test_the_pv_table_follows_belle2s_status_numbers_and_the_thresholds() -> None:
    table = {pv.name: pv for pv in dqm_pv_table("T:")}
    status, p_value = table["T:DQM:dark_higgs_plane:STATUS"], table["T:DQM:dark_higgs_plane:PVALUE"]
    assert [int(status.severity(v)) for v in (0, 1, 2, 3, 4)] == [0, 0, 0, 1, 2]  # warning MINOR, error MAJOR
    assert status.limits == STATUS_LIMITS
    assert p_value.limits == pvalue_limits(PLANE.check)
    assert [int(p_value.severity(p)) for p in (0.5, 0.005, 0.00001, float("nan"))] == [0, 1, 2, 3]
    assert len(table) == 8


def test_status_pvs_over_channel_access(
    ioc_process: Callable[[list[str]], IOCProcess], tmp_path: Path
) -> None:
    from caproto import ChannelType
    from caproto.sync.client import read

    reference = spike_reference(tmp_path / "spike.root")
    ioc = ioc_process(["main.py", "ioc", "--prefix", "TD:", "--sbl-rate", "0", "--dqm-rate", "1000",
                       "--dqm-reference", str(reference)])  # fmt: skip
    assert "(and 8 DQM PVs, 1000 events/s)" in ioc.banner
    # the file has only the plane: one line for each histogram it lacks, naming the file
    notes = [line for line in ioc._lines if "DQM reference" in line]
    assert notes[0].strip() == (
        f"main.py ioc: DQM reference: {reference}: no histogram 'zprime_recoil_mass'; using the previous run"
    )
    assert len(notes) == 3

    def status() -> tuple[int, int]:
        got = read("TD:DQM:dark_higgs_plane:STATUS", data_type=ChannelType.CTRL_LONG, timeout=5)
        return int(got.data[0]), int(got.metadata.severity)

    assert wait_for(lambda: status()[0] == 4, timeout=30, step=0.5), status()
    assert status() == (4, 2)  # error, MAJOR
    ctrl = read("TD:DQM:dark_higgs_plane:STATUS", data_type=ChannelType.CTRL_LONG, timeout=5).metadata
    c = ctrl
    limits = (c.lower_alarm_limit, c.lower_warning_limit, c.upper_warning_limit, c.upper_alarm_limit)
    assert limits == (-1, -1, 3, 4)
    p_value = read("TD:DQM:dark_higgs_plane:PVALUE", data_type=ChannelType.CTRL_DOUBLE, timeout=5)
    assert p_value.data[0] < PLANE.check.error
    assert p_value.metadata.lower_alarm_limit == pytest.approx(PLANE.check.error)
    assert p_value.metadata.lower_warning_limit == pytest.approx(PLANE.check.warning)
    # no reference for the Z' recoil mass until a run has ended: "Default" (1), no alarm
    zprime = read("TD:DQM:zprime_recoil_mass:STATUS", data_type=ChannelType.TIME_LONG, timeout=5)
    assert (int(zprime.data[0]), int(zprime.metadata.severity)) == (1, 0)

    # the shift report reads them back through the same URL as the machine's channels
    from monitoring.alarms import ASSETS_ALARMS
    from panels.shift_report import _dqm_section, gather

    model = gather("ca://?prefix=TD:", 0.5, 3600.0, str(ASSETS_ALARMS), None)
    dqm = "".join(_dqm_section(model))
    assert "<p>histograms in error: 1 (dark_higgs_plane)</p>" in dqm
    assert "<td>dark_higgs_plane</td><td>4 error</td><td>error, p = " in dqm
    assert "; from TD:DQM:dark_higgs_plane:STATUS</td>" in dqm
    assert "<td>zprime_recoil_mass</td><td>1 no reference</td>" in dqm


def test_status_pvs_over_pv_access_and_a_damaged_reference(
    server: Callable[[list[str]], IOCProcess],  # noqa: F811
    tmp_path: Path,
) -> None:
    from p4p.client.thread import Context

    damaged = tmp_path / "damaged.root"
    damaged.write_bytes(b"root\x00" * 100)
    ioc = server(["main.py", "ioc", "--protocol", "pva", "--prefix", "TP:", "--dqm-rate", "400",
                  "--dqm-reference", str(damaged)])  # fmt: skip
    assert "(and 8 DQM PVs, 400 events/s)" in ioc.banner
    notes = [line for line in ioc._lines if "DQM reference" in line]
    assert len(notes) == 1
    assert notes[0].startswith(f"main.py ioc: DQM reference: {damaged}: not a readable ROOT file (")
    assert notes[0].rstrip().endswith("; using the previous run")
    pv: DqmPV = next(p for p in dqm_pv_table("TP:") if p.kind == "STATUS" and p.histogram == PLANE.name)
    with Context("pva") as ctx:
        value = ctx.get(pv.name, timeout=20)
        fields = value.raw.todict()
        assert int(value) in (0, 1)  # too few entries yet, or no reference: the previous run is the default
        assert fields["alarm"]["severity"] == 0
        alarm = fields["valueAlarm"]
        assert (alarm["lowAlarmLimit"], alarm["lowWarningLimit"], alarm["highWarningLimit"],
                alarm["highAlarmLimit"]) == (-1, -1, 3, 4)  # fmt: skip
        p_value = ctx.get(pv.name.replace(":STATUS", ":PVALUE"), timeout=20).raw.todict()
        assert p_value["alarm"]["severity"] == 3  # no test made: NaN, INVALID
        assert p_value["valueAlarm"]["lowAlarmLimit"] == pytest.approx(PLANE.check.error)
        with pytest.raises(Exception, match="read-only"):
            ctx.put(pv.name, 4, timeout=10)
    statuses = read_status_pvs("pva://?prefix=TP:")
    assert {k for k in statuses if k != "DQM:ERRORS"} == {f"DQM:{d.name}" for d in STANDARD}
    assert statuses["DQM:ERRORS"].value == 0
