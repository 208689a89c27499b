"""The alarm model: filters, enabling, latching, acknowledgement, shelving, clock steps, roll-up,
annunciation to a WAV file, the TOML definitions, and its feed from the monitoring model."""

from __future__ import annotations

import math
import tomllib
import wave
from pathlib import Path

import numpy as np
import pytest

from monitoring.alarms import (
    ASSETS_ALARMS,
    GLYPHS,
    SBL_VALUE,
    AlarmConfigError,
    AlarmDefinition,
    AlarmModel,
    Condition,
    Reading,
    WavFileSink,
    load_definitions,
    write_tone,
)
from monitoring.channels import CHANNELS, Severity
from monitoring.model import MonitorModel
from monitoring.source import Update

ROOT = Path(__file__).resolve().parents[2]
T0 = 1.7e9


class Clock:
    def __init__(self, now: float = T0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def lum_low(**kw: object) -> AlarmDefinition:
    args: dict = dict(
        name="lum_low",
        title="Luminosity low",
        severity=Severity.MINOR,
        condition=Condition("LUM", "below", 1e33),
    )
    args.update(kw)
    return AlarmDefinition(**args)


def lum(value: float, running: float | None = None) -> dict[str, Reading]:
    out = {"LUM": Reading(value)}
    if running is not None:
        out["RUNNING"] = Reading(running)
    return out


def model_of(*defs: AlarmDefinition, clock: Clock | None = None, **kw: object) -> tuple[AlarmModel, Clock]:
    clock = clock or Clock()
    return AlarmModel(defs, clock=clock, **kw), clock  # type: ignore[arg-type]


def actions(model: AlarmModel) -> list[tuple[str, str]]:
    return [(e.alarm, e.action) for e in model.log]


# --- filters ---------------------------------------------------------------------------------------
def test_delay_filter_raises_only_after_the_condition_held_the_whole_delay() -> None:
    model, clock = model_of(lum_low(delay_s=10.0))
    alarm = model.alarms["lum_low"]
    for t in range(10):  # 0 .. 9 s of low luminosity: not yet
        clock.now = T0 + t
        model.update(lum(1e32))
        assert not alarm.raised
    clock.now = T0 + 10
    assert model.update(lum(1e32)) == [alarm]
    assert alarm.state == "ACTIVE"
    assert "LUM < 1e+33 (now 1e+32)" in alarm.message


def test_delay_filter_restarts_when_the_condition_lapses() -> None:
    model, clock = model_of(lum_low(delay_s=10.0))
    for t, value in [(0, 1e32), (8, 1e32), (9, 5e34), (10, 1e32), (19, 1e32)]:
        clock.now = T0 + t
        model.update(lum(value))
    assert not model.alarms["lum_low"].raised  # held 9 s since the onset at 10 s
    clock.now = T0 + 20
    model.update(lum(1e32))
    assert model.alarms["lum_low"].raised


def test_count_filter_raises_a_flapping_value_that_never_holds_the_delay() -> None:
    model, clock = model_of(lum_low(delay_s=30.0, count=3))
    alarm = model.alarms["lum_low"]
    for k, value in enumerate([1e32, 5e34, 1e32, 5e34]):  # two onsets
        clock.now = T0 + 2 * k
        model.update(lum(value))
    assert not alarm.raised
    clock.now = T0 + 8
    model.update(lum(1e32))  # the third onset within 30 s
    assert alarm.raised
    assert "begun 3 times within 30 s" in alarm.message


def test_count_filter_forgets_onsets_older_than_the_delay() -> None:
    model, clock = model_of(lum_low(delay_s=10.0, count=3))
    for t, value in [(0, 1e32), (1, 5e34), (2, 1e32), (3, 5e34), (20, 1e32)]:
        clock.now = T0 + t
        model.update(lum(value))
    assert not model.alarms["lum_low"].raised  # the first two onsets are 18 and 20 s old


# --- enabling ----------------------------------------------------------------------------------------
def test_enabling_condition_judges_the_alarm_only_during_a_run() -> None:
    model, clock = model_of(lum_low(enabled_when=Condition("RUNNING", "above", 0.5), latch=False))
    alarm = model.alarms["lum_low"]
    model.update(lum(0.0, running=0))
    assert not alarm.raised  # no run: no luminosity alarm
    model.update(lum(0.0))  # no run control at all: cannot tell, so not judged
    assert not alarm.raised
    clock.now += 1
    model.update(lum(0.0, running=1))
    assert alarm.state == "ACTIVE"
    clock.now += 1
    model.update(lum(0.0, running=0))  # the run ends: not latched, back to OK
    assert alarm.state == "OK"
    assert "no longer RUNNING > 0.5" in model.log[-1].text


# --- latch and acknowledge ----------------------------------------------------------------------------
def test_a_latched_alarm_stays_until_acknowledged_and_the_ack_is_logged() -> None:
    model, clock = model_of(lum_low())
    alarm = model.alarms["lum_low"]
    model.update(lum(1e32))
    clock.now += 5
    model.update(lum(5e34))  # recovered
    assert alarm.state == "CLEARED_UNACK"
    assert alarm.severity == Severity.MINOR
    assert model.rollup().unacknowledged == 1
    clock.now += 5
    with pytest.raises(ValueError, match="who acknowledges"):
        model.acknowledge("lum_low", "  ")
    assert model.acknowledge("lum_low", "Yuki Tanaka", "collision tuning, SKB informed")
    assert alarm.state == "OK"
    assert not model.acknowledge("lum_low", "Yuki Tanaka")  # nothing left to acknowledge
    ack = model.log[-1]
    assert (ack.action, ack.who, ack.text, ack.time) == (
        "ack",
        "Yuki Tanaka",
        "collision tuning, SKB informed",
        T0 + 10,
    )
    assert actions(model) == [("lum_low", "raise"), ("lum_low", "clear"), ("lum_low", "ack")]


def test_an_acknowledged_active_alarm_ends_when_it_clears_and_a_new_raise_needs_a_new_ack() -> None:
    model, clock = model_of(lum_low())
    alarm = model.alarms["lum_low"]
    model.update(lum(1e32))
    model.acknowledge("lum_low", "shifter")
    assert alarm.state == "ACTIVE_ACK"
    assert model.rollup().marker == "✔ MINOR acknowledged"
    clock.now += 1
    model.update(lum(5e34))
    assert alarm.state == "OK"
    clock.now += 1
    assert model.update(lum(1e32)) == [alarm]
    assert alarm.needs_ack
    assert alarm.acknowledged_by == ""
    assert alarm.raises == 2


def test_an_unlatched_alarm_clears_by_itself() -> None:
    model, _ = model_of(lum_low(latch=False))
    model.update(lum(1e32))
    model.update(lum(5e34))
    assert model.alarms["lum_low"].state == "OK"
    assert model.rollup().marker == "✔ no alarm"


# --- shelving -------------------------------------------------------------------------------------------
def test_shelving_hides_an_alarm_for_a_limited_time_and_expires_by_itself() -> None:
    sink = Recorder()
    model, clock = model_of(lum_low(), sinks=[sink])
    with pytest.raises(ValueError, match="reason"):
        model.shelve("lum_low", "shifter", "", 600)
    with pytest.raises(ValueError, match="duration"):
        model.shelve("lum_low", "shifter", "known", 10 * 24 * 3600)  # not for ten days
    model.shelve("lum_low", "Ana", "machine study, luminosity low on purpose", 600)
    alarm = model.alarms["lum_low"]
    assert alarm.shelved
    assert alarm.shelved_until == T0 + 600
    clock.now += 1
    model.update(lum(1e32))
    assert alarm.raised
    assert sink.names == []
    assert model.rollup().marker == "✔ no alarm (1 shelved)"
    clock.now = T0 + 599
    model.update(lum(1e32))
    assert alarm.shelved
    clock.now = T0 + 600
    told = model.update(lum(1e32))
    assert not alarm.shelved
    assert told == [alarm]
    assert sink.names == ["lum_low"]
    assert model.rollup().marker == "■ MINOR (1 unacknowledged)".replace("■", GLYPHS[Severity.MINOR])
    unshelve = next(e for e in model.log if e.action == "unshelve")
    assert unshelve.text == "shelf expired"
    assert unshelve.time == T0 + 600
    shelve = next(e for e in model.log if e.action == "shelve")
    assert (shelve.who, shelve.text) == ("Ana", "for 600 s: machine study, luminosity low on purpose")


def test_unshelving_by_hand() -> None:
    model, _ = model_of(lum_low())
    model.shelve("lum_low", "Ana", "test", 60)
    assert model.unshelve("lum_low", "Ana")
    assert not model.unshelve("lum_low", "Ana")
    assert actions(model) == [("lum_low", "shelve"), ("lum_low", "unshelve")]


# --- the clock ---------------------------------------------------------------------------------------
def test_a_clock_stepping_back_neither_stretches_the_delay_nor_the_shelf() -> None:
    model, clock = model_of(
        lum_low(delay_s=10.0), lum_low(name="other", condition=Condition("X", "above", 0))
    )
    model.shelve("other", "Ana", "known", 60)
    model.update(lum(1e32))
    clock.now = T0 + 5
    model.update(lum(1e32))
    clock.now = T0 - 3600  # set back an hour (a bad NTP step)
    model.update(lum(1e32))
    assert model.clock_steps == 1
    assert model.log[-1].action == "clock"
    assert "went back 3605 s" in model.log[-1].text
    clock.now = T0 - 3600 + 4
    model.update(lum(1e32))
    assert not model.alarms["lum_low"].raised  # 9 s held in all
    clock.now = T0 - 3600 + 5
    model.update(lum(1e32))
    assert model.alarms["lum_low"].raised  # 10 s: not an hour and 10 s
    clock.now = T0 - 3600 + 54
    model.update(lum(1e32))
    assert model.alarms["other"].shelved  # 59 s of a 60 s shelf: the step used none of it
    clock.now = T0 - 3600 + 55
    model.update(lum(1e32))
    assert not model.alarms["other"].shelved


def test_a_clock_that_keeps_stepping_back_is_counted_without_flooding_the_log() -> None:
    model, clock = model_of(lum_low(delay_s=5.0))
    for k in range(1000):  # back and forth, a second forward and 0.5 s back each time
        clock.now = T0 + 0.5 * k + (1.0 if k % 2 == 0 else 0.0)
        model.update(lum(5e34))
    assert model.clock_steps == 500
    assert 1 <= sum(e.action == "clock" for e in model.log) <= 20


def test_a_clock_jumping_back_in_the_middle_of_a_count_window() -> None:
    model, clock = model_of(lum_low(delay_s=10.0, count=3))
    for t, value in [(0, 1e32), (1, 5e34), (-500, 1e32), (-499, 5e34), (-498, 1e32)]:
        clock.now = T0 + t
        model.update(lum(value))
    assert model.alarms["lum_low"].raised  # three onsets within 3 s of model time


# --- roll-up ------------------------------------------------------------------------------------------
def test_rollup_marker_says_severity_and_acknowledgement_in_words_and_shape() -> None:
    major = AlarmDefinition("sbl", "Sudden beam loss", Severity.MAJOR, Condition(SBL_VALUE, "above", 0))
    model, _ = model_of(lum_low(), major)
    snap = {"LUM": Reading(1e32), SBL_VALUE: Reading(1)}
    model.update(snap)
    up = model.rollup()
    assert (up.severity, up.raised, up.unacknowledged) == (Severity.MAJOR, 2, 2)
    assert up.marker == "■ MAJOR (2 unacknowledged)"
    model.acknowledge("sbl", "Ana")
    assert model.rollup().marker == "▲ MAJOR (1 unacknowledged)".replace("▲", "■")
    assert [a.name for a in model.raised()] == ["sbl", "lum_low"]  # highest first
    model.acknowledge_all("Ana")
    assert model.rollup().marker == "✔ MAJOR acknowledged"
    assert model.rollup().all_acknowledged


def test_glyphs_are_the_colour_tables() -> None:
    with (ROOT / "assets" / "colors.toml").open("rb") as f:
        table = tomllib.load(f)["alarm"]
    for severity, glyph in GLYPHS.items():
        assert table[severity.name.lower()]["glyph"] == glyph


def test_severities_keep_the_epics_order() -> None:
    assert Severity.NO_ALARM < Severity.MINOR < Severity.MAJOR < Severity.INVALID
    with pytest.raises(ValueError, match="severity"):
        lum_low(severity=Severity.NO_ALARM)


# --- annunciation ---------------------------------------------------------------------------------------
class Recorder:
    def __init__(self) -> None:
        self.names: list[str] = []

    def annunciate(self, alarm: object) -> None:
        self.names.append(alarm.name)  # type: ignore[attr-defined]


class Broken:
    def annunciate(self, alarm: object) -> None:
        raise OSError("no sound device")


def test_new_unacknowledged_raises_are_annunciated_once(tmp_path: Path) -> None:
    wav = WavFileSink(tmp_path / "alarm.wav")
    recorder = Recorder()
    model, clock = model_of(lum_low(), sinks=[Broken(), wav, recorder])
    for _ in range(5):
        clock.now += 1
        model.update(lum(1e32))
    assert recorder.names == ["lum_low"]
    assert list(wav.annunciated) == ["lum_low"]
    assert "no sound device" in model.sink_errors["Broken"]  # the other sinks were still told
    with wave.open(str(tmp_path / "alarm.wav"), "rb") as w:
        assert (w.getnchannels(), w.getsampwidth(), w.getframerate()) == (1, 2, 22050)
        frames = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2")
    assert len(frames) == int(0.15 * 22050)  # MINOR: one beep of 0.15 s
    assert 10000 < np.abs(frames).max() <= 0.5 * 32767 + 1
    # the tone's pitch is the one asked for: the strongest frequency of the beep
    spectrum = np.abs(np.fft.rfft(frames))
    assert np.fft.rfftfreq(len(frames), 1 / 22050)[spectrum.argmax()] == pytest.approx(660, abs=10)


def test_major_tone_has_three_beeps(tmp_path: Path) -> None:
    path = write_tone(tmp_path / "major.wav", Severity.MAJOR)
    with wave.open(str(path), "rb") as w:
        frames = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2")
    loud = np.abs(frames) > 1000
    sounding = np.r_[0, (np.convolve(loud, np.ones(50), "same") > 0).astype(int)]
    onsets = np.count_nonzero(np.diff(sounding) == 1)
    assert onsets == 3


# --- the TOML definitions ---------------------------------------------------------------------------------
def test_shipped_definitions_load_and_name_real_values() -> None:
    defs = {d.name: d for d in load_definitions()}
    assert set(defs) >= {
        "sudden_beam_loss", "luminosity_low", "her_current_low", "ler_current_low", "l1_dead_time_high",
        "dead_trigger_bit", "stalled_event_stream", "disconnected_pv", "dqm_histogram_error",
    }  # fmt: skip
    derived = {
        SBL_VALUE, "L1:SILENT_BITS", "CHANNELS:DISCONNECTED", "CHANNELS:STALE", "STREAM", "DQM:ERRORS",
        "ARCHIVE:STOPPED",
    }  # fmt: skip
    for d in defs.values():
        for cond in (d.condition, d.enabled_when):
            if cond is not None:
                assert cond.value in CHANNELS or cond.value in derived, (d.name, cond.value)
        assert d.guidance
        assert d.panel
    assert defs["luminosity_low"].condition == Condition("LUM", "below", 1e33)
    assert defs["l1_dead_time_high"].count == 5
    assert defs["stalled_event_stream"].condition.kind == "stale_s"


def test_every_derived_value_is_produced_by_the_monitoring_model() -> None:
    model = MonitorModel(["HER:I", "LUM", "L1:TOTAL", "L1:ffb"])
    names = set(model.readings())
    assert {SBL_VALUE, "L1:SILENT_BITS", "CHANNELS:DISCONNECTED", "CHANNELS:STALE"} <= names


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("[alarm.x\nseverity = 1", "not valid TOML"),
        ('[alarm.x]\nseverity = "MAJOR"\nvalue = "LUM"\nbelow = 1\ncolour = "red"', "unknown key 'colour'"),
        ('[alarm.x]\nseverity = "SEVERE"\nvalue = "LUM"\nbelow = 1', "severity must be"),
        ('[alarm.x]\nseverity = "MAJOR"\nvalue = "LUM"', "needs exactly one of"),
        ('[alarm.x]\nseverity = "MAJOR"\nvalue = "LUM"\nbelow = 1\nabove = 2', "needs exactly one of"),
        ('[alarm.x]\nseverity = "MAJOR"\nvalue = "LUM"\nbelow = "low"', "below must be a finite number"),
        ('[alarm.x]\nseverity = "MAJOR"\nvalue = "LUM"\nbelow = 1\ndelay_s = -1', "delay_s must be >= 0"),
        ('[alarm.x]\nseverity = "MAJOR"\nvalue = "LUM"\nbelow = 1\ncount = 3', "count needs a delay_s"),
        (
            '[alarm.x]\nseverity = "MAJOR"\nvalue = "LUM"\nbelow = 1\nenabled_when = { value = "RUNNING" }',
            "enabled_when: needs exactly one of",
        ),
        ('[alarms.x]\nseverity = "MAJOR"', "unknown top-level key 'alarms'"),
        ("", "no [alarm.NAME] tables"),
    ],
)
def test_a_bad_definition_file_is_one_line_naming_the_file(tmp_path: Path, text: str, problem: str) -> None:
    path = tmp_path / "alarms.toml"
    path.write_text(text)
    with pytest.raises(AlarmConfigError) as err:
        load_definitions(path)
    message = str(err.value)
    assert message.startswith(f"{path}: ")
    assert problem in message
    assert "\n" not in message


def test_a_missing_or_binary_definition_file(tmp_path: Path) -> None:
    with pytest.raises(AlarmConfigError, match="cannot read"):
        load_definitions(tmp_path / "nope.toml")
    (tmp_path / "bin.toml").write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(AlarmConfigError, match=r"bin\.toml: not"):
        load_definitions(tmp_path / "bin.toml")


def test_the_shipped_file_documents_every_key() -> None:
    text = ASSETS_ALARMS.read_text()
    for key in ("severity", "value", "above", "below", "stale_s", "disconnected", "delay_s", "count",
                "enabled_when", "guidance", "panel", "latch"):  # fmt: skip
        assert f"#   {key}" in text or f"#     {key}" in text, key


# --- fed by the monitoring model ----------------------------------------------------------------------------
def ler(t0: float, n: int, current: float = 1.35, dt: float = 0.1) -> list[Update]:
    return [Update("LER:I", t0 + k * dt, current) for k in range(n)]


def test_a_beam_loss_in_the_model_raises_the_alarm_and_one_acknowledgement_ends_both() -> None:
    wall = Clock()
    sink = Recorder()
    alarms = AlarmModel(load_definitions(), clock=wall, sinks=[sink])
    mono = Clock(100.0)
    model = MonitorModel(["LER:I", "HER:I", "RUNNING"], alarms=alarms, clock=mono)
    model.ingest([*ler(T0, 30), Update("HER:I", T0, 1.05), Update("RUNNING", T0, 1)])
    model.check()
    assert alarms.rollup().marker == "✔ no alarm"
    model.ingest([Update("LER:I", T0 + 3.0 + k * 1e-5, 1.35 * (1 - 0.2 * k)) for k in range(5)])
    assert model.sbl.latched
    wall.now += 1
    model.check()
    sbl = alarms.alarms["sudden_beam_loss"]
    assert sbl.state == "ACTIVE"
    assert sink.names == ["sudden_beam_loss"]
    assert "LER lost 80%" in sbl.message
    version = model.version
    model.acknowledge_alarm("sudden_beam_loss", "Ana", "abort seen by SKB")
    assert model.version > version
    assert not model.sbl.latched  # the beam-loss panel's banner clears too
    wall.now += 1
    model.check()
    assert sbl.state == "OK"
    assert [e.action for e in alarms.log if e.alarm == "sudden_beam_loss"] == ["raise", "ack", "clear"]


def test_the_sbl_panels_acknowledge_acknowledges_the_alarm_too() -> None:
    alarms = AlarmModel(load_definitions(), clock=Clock())
    model = MonitorModel(["LER:I"], alarms=alarms)
    model.ingest(ler(T0, 30))
    model.ingest([Update("LER:I", T0 + 3.0, 0.0)])
    model.check()
    assert alarms.alarms["sudden_beam_loss"].needs_ack
    assert model.acknowledge() == 1  # the beam-loss panel's button, as before
    assert alarms.alarms["sudden_beam_loss"].acknowledged_by == "shifter"


def test_a_disconnected_channel_raises_invalid_after_its_delay_naming_it() -> None:
    wall = Clock()
    alarms = AlarmModel(load_definitions(), clock=wall)
    model = MonitorModel(["LUM", "HER:I"], alarms=alarms)
    model.ingest([Update("LUM", T0, 5e34), Update("HER:I", T0, 1.0)])
    model.ingest([Update("HER:I", T0 + 1, math.nan, Severity.INVALID, False, "HER:I disconnected")])
    for _ in range(11):
        model.check()
        wall.now += 1
    alarm = alarms.alarms["disconnected_pv"]
    assert alarm.raised
    assert alarm.definition.severity == Severity.INVALID
    assert alarm.message.endswith(": HER:I")
    assert alarms.rollup().marker == "◆ INVALID (1 unacknowledged)"


def test_the_stream_and_dqm_values_come_in_through_extra_readings() -> None:
    from monitoring.alarms import stream_reading
    from monitoring.zmq_source import StreamStats

    wall = Clock()
    alarms = AlarmModel(load_definitions(), clock=wall)
    model = MonitorModel(["RUNNING"], alarms=alarms)
    model.ingest([Update("RUNNING", T0, 1)])
    model.extra_readings["STREAM"] = stream_reading(StreamStats("zmq://127.0.0.1:5556", True, age_s=12.0))
    model.check()
    alarm = alarms.alarms["stalled_event_stream"]
    assert alarm.raised
    assert "last event 12 s ago" in alarm.message


def test_a_trigger_line_that_stops_firing_during_a_run_raises_dead_trigger_bit() -> None:
    from monitoring.machine import MachineConfig
    from monitoring.rates import quick_menu
    from monitoring.sim import CONTINUOUS, DISCRETE, Simulation

    sim = Simulation(MachineConfig(sbl_per_hour=0.0), T0, seed=3, menu=quick_menu())
    wall, mono = Clock(), Clock(0.0)
    alarms = AlarmModel(load_definitions(), clock=wall)
    model = MonitorModel(list(CONTINUOUS + DISCRETE), alarms=alarms, clock=mono)

    def step(k: int) -> None:
        model.ingest(sim.step(T0 + 6.0 * k, 6))
        wall.now += 6.0
        mono.now += 6.0
        model.check()

    k = 1
    while not (sim.machine.stable and sim.machine.now - sim.machine.run_starts[-1] > 660):
        step(k)
        k += 1
    assert not alarms.alarms["dead_trigger_bit"].raised
    sim.kill_bits({"mu_pair"})
    for j in range(k, k + 15):  # 90 s: 30 s to be found silent, 30 s of delay, and the 5 s cache
        step(j)
    alarm = alarms.alarms["dead_trigger_bit"]
    assert alarm.raised
    assert alarm.message.endswith(": mu_pair")
    # nothing else on a run without losses, but an injection-background burst's dead time (~40 %)
    raised = {a.name for a in alarms.raised()}
    assert raised <= {"dead_trigger_bit", "l1_dead_time_high"}
    if "l1_dead_time_high" in raised:
        assert sim.machine.bursts


def test_the_documented_table_of_shipped_alarms_is_the_file() -> None:
    text = (ROOT / "docs" / "monitoring.md").read_text()
    section = text.split("### 2.5", 1)[1].split("\n### ", 1)[0]
    rows = [line for line in section.splitlines() if line.startswith("| `")]
    defs = load_definitions()
    documented: dict[str, list[str]] = {}
    for row in rows:
        cells = [c.strip() for c in row.strip("|").split("|")]
        for name in cells[0].replace("`", "").split(", "):
            documented[name] = cells
    assert set(documented) == {d.name for d in defs}
    for d in defs:
        _, condition, severity, _, enabled, latch = documented[d.name]
        assert severity == d.severity.name, d.name
        assert f"`{d.condition.value}`" in condition or d.condition.value.split(":")[0] in condition, d.name
        assert (enabled == "during a run") == (d.enabled_when is not None), d.name
        assert latch == ("yes" if d.latch else "no"), d.name


def test_a_histogram_whose_check_says_error_for_a_minute_raises_dqm_histogram_error() -> None:
    from types import SimpleNamespace

    from monitoring.alarms import dqm_reading
    from monitoring.histograms.compare import check

    rng = np.random.default_rng(1)
    reference = np.histogram(rng.normal(0, 1, 20_000), bins=40, range=(-4, 4))[0].astype(float)
    shifted = np.histogram(rng.normal(0.5, 1, 5_000), bins=40, range=(-4, 4))[0]
    same = np.histogram(rng.normal(0, 1, 5_000), bins=40, range=(-4, 4))[0]
    good = SimpleNamespace(name="zprime_recoil", check=check(same, reference))
    bad = SimpleNamespace(name="single_photon", check=check(shifted, reference))
    assert (good.check.status.value, bad.check.status.value) == ("good", "error")

    wall = Clock()
    alarms = AlarmModel(load_definitions(), clock=wall)
    model = MonitorModel(["RUNNING"], alarms=alarms)
    model.ingest([Update("RUNNING", T0, 1)])
    model.extra_readings["DQM:ERRORS"] = dqm_reading([good, bad])  # type: ignore[list-item]
    for _ in range(60):
        model.check()
        wall.now += 1
    alarm = alarms.alarms["dqm_histogram_error"]
    assert not alarm.raised  # 59 s
    model.check()
    assert alarm.raised
    assert alarm.message.endswith(": single_photon")
    assert alarm.definition.panel == "histograms"


def test_a_channel_with_invalid_data_is_not_judged_on_its_last_good_value() -> None:
    model = MonitorModel(["LUM"])
    model.ingest([Update("LUM", T0, 1e32)])
    assert model.readings()["LUM"].value == 1e32
    model.ingest([Update("LUM", T0 + 1, "garbage")])
    reading = model.readings()["LUM"]
    assert math.isnan(reading.value)
    assert reading.detail.startswith("invalid data")
    assert Condition("LUM", "below", 1e33).holds({"LUM": reading}) is False
