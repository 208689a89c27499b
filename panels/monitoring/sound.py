"""The window's alarm annunciator: each new unacknowledged raise of the alarm model is sounded.

:class:`WindowAnnunciator` is one of the alarm model's sinks (``AlarmModel.sinks``; docs/monitoring.md
§2.5). Its mode is a setting (``alarms/sound``: ``tone``, ``voice`` or ``off``, View > Alarm sound):

* ``tone``: the severity's tone (:func:`monitoring.alarms.write_tone`: one beep of 660 Hz for MINOR,
  three of 880 Hz for MAJOR, two of 520 Hz for INVALID) written as a WAV file once and played by
  Qt Multimedia's ``QSoundEffect`` where that module is installed (the PySide6-Addons wheel), else
  by the first command-line player on ``PATH`` (``pw-play``, ``paplay``, ``aplay``), else the
  system beep;
* ``voice``: "MAJOR alarm: <title>" spoken by Qt's ``QTextToSpeech`` where installed, else by the
  first speech command on ``PATH`` (``spd-say``, ``espeak-ng``, ``espeak``); the tone where none;
* ``off``: nothing.

Qt Multimedia is used where it is installed and finds an audio output (a headless machine without a
sound server has none: QSoundEffect would only fail to load the tone there). How tones sound here is
one line, :attr:`WindowAnnunciator.how`, logged once at the first tone played: a warning where only the
system beep is left, or where Qt Multimedia cannot load the tone after all (its status ``Error``; that
tone and the next go to the player).

Headless tests hand it a :class:`~monitoring.alarms.WavFileSink`: every tone is also written there,
and :attr:`WindowAnnunciator.played` says how each annunciation was sounded.
"""

from __future__ import annotations

import logging
import shutil
import tempfile
from collections import deque
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, QProcess, QUrl
from PySide6.QtWidgets import QApplication

from monitoring.alarms import Alarm, WavFileSink, write_tone
from monitoring.channels import Severity

MODES = {"tone": "Tone", "voice": "Spoken text", "off": "Off"}
PLAYERS = ("pw-play", "paplay", "aplay")  # PipeWire, PulseAudio, ALSA
SPEAKERS = ("spd-say", "espeak-ng", "espeak")
log = logging.getLogger(__name__)


def _qt_multimedia() -> Any:
    try:
        from PySide6 import QtMultimedia
    except ImportError:  # PySide6-Essentials only: no Qt Multimedia
        return None
    return QtMultimedia


def _qt_speech() -> Any:
    try:
        from PySide6 import QtTextToSpeech
    except ImportError:
        return None
    return QtTextToSpeech


class WindowAnnunciator(QObject):
    """Sounds alarms on the GUI thread (the alarm model is judged there, at the hub's check)."""

    def __init__(
        self, mode: str = "tone", sink: WavFileSink | None = None, parent: QObject | None = None
    ) -> None:
        super().__init__(parent)
        self.mode = mode if mode in MODES else "tone"
        self.sink = sink
        self.played: deque[tuple[str, str]] = deque(maxlen=100)  # (how, alarm name)
        self._folder = Path(tempfile.mkdtemp(prefix="belle2-alarm-tones-"))
        self._tones: dict[int, Path] = {}
        self._effects: dict[int, Any] = {}
        multimedia, speech = _qt_multimedia(), _qt_speech()
        self._sound_effect = None
        # why Qt Multimedia does not sound the tones ("" while it does)
        self._qt_problem = "Qt Multimedia is not installed (the PySide6-Addons wheel)"
        if multimedia is not None:
            if multimedia.QMediaDevices.audioOutputs():
                self._sound_effect, self._qt_problem = multimedia.QSoundEffect, ""
            else:  # a headless machine, no sound server: QSoundEffect would only fail to load
                self._qt_problem = "Qt Multimedia finds no audio output"
        self._pending: set[Severity] = set()  # tones asked of QSoundEffect while it was still loading
        self._speech = speech.QTextToSpeech(self) if speech is not None else None
        self.player = next((p for p in (shutil.which(n) for n in PLAYERS) if p), None)
        self.speaker = next((p for p in (shutil.which(n) for n in SPEAKERS) if p), None)
        self._said = False  # the line on how tones sound, logged once

    @property
    def how(self) -> str:
        """How a tone sounds here, in one line."""
        if self._sound_effect is not None:
            return "alarm sound: tones played by Qt Multimedia (QSoundEffect)"
        missing = self._qt_problem
        if self.player is not None:
            return f"alarm sound: {missing}; tones played by {Path(self.player).name}"
        return f"alarm sound: {missing} and no player on PATH ({', '.join(PLAYERS)}): the system beep only"

    def _say_how(self) -> None:
        if not self._said:
            self._said = True
            level = logging.INFO if self._sound_effect is not None or self.player else logging.WARNING
            log.log(level, "%s", self.how)

    def _effect_status(self, effect: Any, severity: Severity) -> None:
        """Qt Multimedia could not load a tone (its audio output refuses it): the player from now
        on, said in one line, and a tone asked for meanwhile is played by it."""
        status = type(effect).Status
        if effect.status() == status.Ready and severity in self._pending:
            self._pending.discard(severity)
        elif effect.status() == status.Error and self._sound_effect is not None:
            self._sound_effect = None
            self._qt_problem = f"Qt Multimedia cannot play {self._tone(severity)}"
            log.warning("%s", self.how)
            for pending in sorted(self._pending):
                self._play_without_qt(pending)
            self._pending.clear()

    def set_mode(self, mode: str) -> None:
        if mode not in MODES:
            raise ValueError(f"alarm sound {mode!r}: one of {', '.join(MODES)}")
        self.mode = mode

    def annunciate(self, alarm: Alarm) -> None:
        if self.mode == "off":
            return
        severity = alarm.definition.severity
        if self.sink is not None:
            self.sink.annunciate(alarm)
        if self.mode == "voice":
            how = self._speak(f"{severity.name} alarm: {alarm.definition.title}")
            if how:
                self.played.append((how, alarm.name))
                return
        self.played.append((self._play(severity), alarm.name))

    def _tone(self, severity: Severity) -> Path:
        path = self._tones.get(severity)
        if path is None:
            path = self._tones[severity] = write_tone(self._folder / f"{severity.name}.wav", severity)
        return path

    def effect(self, severity: Severity) -> Any:
        """The ``QSoundEffect`` of the severity's tone (made once; None without Qt Multimedia)."""
        if self._sound_effect is None:
            return None
        effect = self._effects.get(severity)
        if effect is None:
            path = self._tone(severity)
            effect = self._effects[severity] = self._sound_effect(self)
            effect.statusChanged.connect(lambda: self._effect_status(effect, severity))
            effect.setSource(QUrl.fromLocalFile(str(path)))
        return effect

    def _play(self, severity: Severity) -> str:
        self._say_how()
        effect = self.effect(severity)
        if effect is not None:
            if effect.status() != type(effect).Status.Ready:
                self._pending.add(severity)  # played by the player if it turns out it cannot load
            effect.play()
            return "QSoundEffect"
        return self._play_without_qt(severity)

    def _play_without_qt(self, severity: Severity) -> str:
        path = self._tone(severity)
        if self.player is not None and QProcess.startDetached(self.player, [str(path)])[0]:
            return Path(self.player).name
        QApplication.beep()
        return "beep"

    def _speak(self, text: str) -> str:
        if self._speech is not None:
            self._speech.say(text)
            return "QTextToSpeech"
        if self.speaker is not None and QProcess.startDetached(self.speaker, [text])[0]:
            return Path(self.speaker).name
        return ""

    def close(self) -> None:
        shutil.rmtree(self._folder, ignore_errors=True)
