"""The window sounds its alarms: the annunciator is one of the alarm model's sinks, plays the
severity's tone through the player it finds (a stand-in player script on PATH here, which keeps
what it was given), speaks when set to, is silent when off, and keeps the choice in the settings."""

from __future__ import annotations

import os
import stat
import time
import wave
from pathlib import Path

import pytest

from monitoring.alarms import BEEPS, Reading, write_tone
from monitoring.channels import Severity


def stand_in(folder: Path, name: str, line: str) -> None:
    """An executable ``name`` that records what it is asked to play or say into ``folder``."""
    script = folder / "bin" / name
    script.parent.mkdir(exist_ok=True)
    script.write_text(f"#!/bin/sh\n{line}\n")
    script.chmod(script.stat().st_mode | stat.S_IEXEC)


@pytest.mark.gl
def test_the_window_sounds_a_raised_alarm_as_its_setting_says(qtbot, tmp_path, monkeypatch) -> None:
    from PySide6.QtCore import QSettings

    from panels.app import AppConfig, Application

    stand_in(tmp_path, "aplay", f'cp "$1" "{tmp_path}/played-$$.wav"')
    stand_in(tmp_path, "espeak", f'printf "%s" "$1" > "{tmp_path}/said.txt"')
    monkeypatch.setenv("PATH", f"{tmp_path / 'bin'}{os.pathsep}{os.environ['PATH']}")
    sink = tmp_path / "sink.wav"
    config = AppConfig(
        machine="sim://?accel=30&sbl_rate=0",
        stream="none",
        settings=tmp_path / "settings.ini",
        alarm_sound_sink=sink,
    )
    app = Application(config)
    qtbot.addWidget(app.window)
    try:
        assert app.hub is not None
        model, alarms = app.hub.model, app.hub.model.alarm_model
        assert alarms is not None
        assert app.annunciator in alarms.sinks  # wired to the window's alarm model
        assert app.annunciator.mode == "tone"
        assert app.sound_actions["tone"].isChecked()

        def archive_fails(failed: bool) -> None:  # the hub's own reading when the archive stops
            model.extra_readings["ARCHIVE:STOPPED"] = Reading(1.0 if failed else 0.0)
            model.check()

        archive_fails(True)
        assert alarms.alarms["archive_stopped"].raised
        with wave.open(str(sink)) as w:  # MAJOR: three beeps of 0.15 s, 0.1 s apart
            rate = w.getframerate()
            assert w.getnframes() == BEEPS[Severity.MAJOR] * int(0.15 * rate) + 2 * int(0.1 * rate)
        if app.annunciator._sound_effect is None:  # no Qt Multimedia here: the player on PATH
            assert app.annunciator.played[-1] == ("aplay", "archive_stopped")
            qtbot.waitUntil(lambda: len(list(tmp_path.glob("played-*.wav"))) == 1, timeout=5000)
            (played,) = tmp_path.glob("played-*.wav")
            tone = write_tone(tmp_path / "expected.wav", Severity.MAJOR)
            qtbot.waitUntil(lambda: played.read_bytes() == tone.read_bytes(), timeout=5000)

        def raise_again() -> None:
            alarms.acknowledge("archive_stopped", "Ana")
            archive_fails(False)  # acknowledged and clear: over
            archive_fails(True)

        app.sound_actions["off"].trigger()  # View > Alarm sound > Off
        sink.unlink()
        heard = len(app.annunciator.played)
        raise_again()
        assert alarms.alarms["archive_stopped"].raised
        assert not sink.exists()
        assert len(app.annunciator.played) == heard

        app.set_alarm_sound("voice")
        raise_again()
        if app.annunciator._speech is None:
            assert app.annunciator.played[-1] == ("espeak", "archive_stopped")
            said = tmp_path / "said.txt"
            qtbot.waitUntil(said.exists, timeout=5000)
            qtbot.waitUntil(lambda: said.read_text() == "MAJOR alarm: Archive stopped", timeout=5000)
        app.window.settings.sync()
        assert QSettings(str(config.settings), QSettings.Format.IniFormat).value("alarms/sound") == "voice"
    finally:
        app.close()


def test_without_any_player_the_tone_is_the_system_beep(qapp, tmp_path, monkeypatch) -> None:
    from monitoring.alarms import AlarmDefinition, AlarmModel, Condition, WavFileSink
    from panels.monitoring.sound import WindowAnnunciator

    monkeypatch.setenv("PATH", str(tmp_path))  # nothing to play with
    annunciator = WindowAnnunciator("voice", WavFileSink(tmp_path / "sink.wav"))
    annunciator._sound_effect = annunciator._speech = None  # as without Qt Multimedia and speech
    model = AlarmModel(
        [AlarmDefinition("x", "X", Severity.MINOR, Condition("X", "above", 0))], sinks=[annunciator]
    )
    model.update({"X": Reading(1.0)})
    assert list(annunciator.played) == [("beep", "x")]
    assert (tmp_path / "sink.wav").exists()
    with pytest.raises(ValueError, match="one of tone, voice, off"):
        annunciator.set_mode("loud")
    annunciator.close()


def test_qt_multimedia_plays_the_tone_or_says_in_one_line_why_not(
    qtbot, tmp_path, monkeypatch, caplog
) -> None:
    """With PySide6-Addons: where an audio output exists, QSoundEffect loads the tone (status Ready) and
    plays it; headless, with none, the player sounds it and one line says why."""
    import logging

    multimedia = pytest.importorskip(
        "PySide6.QtMultimedia", reason="PySide6-Addons not installed: the player fallback is tested below"
    )
    from monitoring.alarms import AlarmDefinition, AlarmModel, Condition
    from panels.monitoring import sound

    stand_in(tmp_path, "aplay", f'cp "$1" "{tmp_path}/played-$$.wav"')
    monkeypatch.setenv("PATH", f"{tmp_path / 'bin'}{os.pathsep}{os.environ['PATH']}")
    caplog.set_level(logging.INFO, logger=sound.__name__)
    annunciator = sound.WindowAnnunciator("tone")
    model = AlarmModel(
        [AlarmDefinition("x", "X", Severity.MAJOR, Condition("X", "above", 0))], sinks=[annunciator]
    )
    try:
        if multimedia.QMediaDevices.audioOutputs():
            effect = annunciator.effect(Severity.MAJOR)
            assert effect is not None
            status = multimedia.QSoundEffect.Status
            qtbot.waitUntil(lambda: effect.status() in (status.Ready, status.Error), timeout=10000)
            assert effect.status() == status.Ready  # the WAV of write_tone, loaded by Qt Multimedia
            assert effect.source().toLocalFile().endswith("MAJOR.wav")
            model.update({"X": Reading(1.0)})
            assert list(annunciator.played) == [("QSoundEffect", "x")]
            qtbot.waitUntil(effect.isPlaying, timeout=5000)
        else:  # headless: no sound server, no audio output
            assert annunciator.effect(Severity.MAJOR) is None
            model.update({"X": Reading(1.0)})
            assert list(annunciator.played) == [("aplay", "x")]
            lines = [r.getMessage() for r in caplog.records if r.name == sound.__name__]
            assert lines == ["alarm sound: Qt Multimedia finds no audio output; tones played by aplay"]
            qtbot.waitUntil(lambda: len(list(tmp_path.glob("played-*.wav"))) == 1, timeout=10000)
            (played,) = tmp_path.glob("played-*.wav")
            tone = write_tone(tmp_path / "expected.wav", Severity.MAJOR)
            qtbot.waitUntil(lambda: played.read_bytes() == tone.read_bytes(), timeout=5000)
            # made to try QSoundEffect all the same: it fails to load the tone (status Error), and the
            # tone asked for meanwhile goes to the player, with one warning
            forced = sound.WindowAnnunciator("tone")
            forced._sound_effect, forced._qt_problem = multimedia.QSoundEffect, ""
            AlarmModel(
                [AlarmDefinition("y", "Y", Severity.MAJOR, Condition("Y", "above", 0))], sinks=[forced]
            ).update({"Y": Reading(1.0)})
            assert list(forced.played) == [("QSoundEffect", "y")]
            qtbot.waitUntil(lambda: forced._sound_effect is None, timeout=10000)
            qtbot.waitUntil(lambda: len(list(tmp_path.glob("played-*.wav"))) == 2, timeout=10000)
            warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
            wav = forced._tones[Severity.MAJOR]
            assert [r.getMessage() for r in warnings] == [
                f"alarm sound: Qt Multimedia cannot play {wav}; tones played by aplay"
            ]
            forced.close()
    finally:
        annunciator.close()


def test_without_qt_multimedia_the_player_sounds_and_one_line_says_so(
    qapp, tmp_path, monkeypatch, caplog
) -> None:
    import logging

    from monitoring.alarms import AlarmDefinition, AlarmModel, Condition
    from panels.monitoring import sound

    monkeypatch.setattr(sound, "_qt_multimedia", lambda: None)  # as with PySide6-Essentials alone
    stand_in(tmp_path, "aplay", f'cp "$1" "{tmp_path}/played-$$.wav"')
    monkeypatch.setenv("PATH", f"{tmp_path / 'bin'}{os.pathsep}{os.environ['PATH']}")
    caplog.set_level(logging.INFO, logger=sound.__name__)
    annunciator = sound.WindowAnnunciator("tone")
    try:
        definitions = [
            AlarmDefinition(n, n.upper(), Severity.MINOR, Condition(n, "above", 0)) for n in ("x", "y")
        ]
        model = AlarmModel(definitions, sinks=[annunciator])
        model.update({"x": Reading(1.0), "y": Reading(1.0)})
        assert list(annunciator.played) == [("aplay", "x"), ("aplay", "y")]
        lines = [r.getMessage() for r in caplog.records if r.name == sound.__name__]
        assert lines == [
            "alarm sound: Qt Multimedia is not installed (the PySide6-Addons wheel); tones played by aplay"
        ]  # once, not at every alarm
        tone = write_tone(tmp_path / "expected.wav", Severity.MINOR)
        deadline = time.monotonic() + 10
        while len(list(tmp_path.glob("played-*.wav"))) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        played = sorted(tmp_path.glob("played-*.wav"))
        assert len(played) == 2
        assert all(p.read_bytes() == tone.read_bytes() for p in played)  # the MINOR tone, whole
    finally:
        annunciator.close()
    # nothing to play with at all: the system beep, and the line is a warning
    monkeypatch.setenv("PATH", str(tmp_path / "nothing"))
    caplog.clear()
    bare = sound.WindowAnnunciator("tone")
    try:
        model = AlarmModel(
            [AlarmDefinition("z", "Z", Severity.MAJOR, Condition("z", "above", 0))], sinks=[bare]
        )
        model.update({"z": Reading(1.0)})
        assert list(bare.played) == [("beep", "z")]
        (record,) = [r for r in caplog.records if r.name == sound.__name__]
        assert record.levelno == logging.WARNING
        assert record.getMessage() == (
            "alarm sound: Qt Multimedia is not installed (the PySide6-Addons wheel) and no player on PATH "
            "(pw-play, paplay, aplay): the system beep only"
        )
    finally:
        bare.close()
