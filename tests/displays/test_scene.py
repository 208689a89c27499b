"""The scene model alone: state, change callbacks, no Qt and no VisPy."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from displays.scene import Emitter, Recoil, Scene
from events.model import EventBatch
from tests.conftest import ROOT


def recorder(scene: Scene) -> list[tuple[str, tuple[object, ...]]]:
    """Every emission of every emitter of ``scene``, as (emitter name, arguments)."""
    calls: list[tuple[str, tuple[object, ...]]] = []
    for emitter in scene.events.emitters():
        emitter.connect(lambda *args, name=emitter.name: calls.append((name, args)))
    return calls


def test_the_scene_imports_neither_qt_nor_vispy() -> None:
    code = (
        "import sys, displays.scene\n"
        "bad = [n for n in ('PySide6', 'vispy', 'pyqtgraph') if n in sys.modules]\n"
        "assert not bad, bad\n"
    )
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


def test_emitter_calls_in_order_once_and_forgets_on_disconnect() -> None:
    emitter = Emitter("x")
    calls: list[str] = []

    def first(value: int) -> None:
        calls.append(f"first {value}")

    def second(value: int) -> None:
        calls.append(f"second {value}")
        emitter.disconnect(second)  # a callback may leave while the emitter runs

    emitter.connect(first)
    emitter.connect(second)
    emitter.connect(first)  # connected once however often
    assert len(emitter) == 2
    emitter(1)
    emitter(2)
    assert calls == ["first 1", "second 1", "first 2"]
    emitter.disconnect(first)
    emitter.disconnect(first)  # unknown callbacks are ignored
    emitter(3)
    assert calls == ["first 1", "second 1", "first 2"]


def test_a_failing_callback_does_not_stop_the_others() -> None:
    emitter = Emitter("event")
    seen: list[int] = []

    def broken(value: int) -> None:
        raise RuntimeError(f"cannot draw {value}")

    emitter.connect(broken)
    emitter.connect(seen.append)
    with pytest.raises(RuntimeError, match="cannot draw 4"):
        emitter(4)
    assert seen == [4]  # the second view still followed


def test_a_new_event_clears_selection_and_recoil_in_one_emission() -> None:
    scene = Scene()
    calls = recorder(scene)
    event = EventBatch.build(1)
    scene.select("track", 2)
    scene.set_recoil(np.array([0.0, 0.0, 1.0]), 1.5, "recoil")
    assert isinstance(scene.recoil, Recoil)
    del calls[:]
    scene.set_event(event)
    assert calls == [("event", (event,))]
    assert scene.event is event
    assert scene.selection is None
    assert scene.recoil is None
    scene.clear()
    assert calls[-1] == ("event", (None,))
    assert scene.event is None
    with pytest.raises(ValueError, match="one event, got a batch of 2"):
        scene.set_event(EventBatch.build(2))


def test_changes_emit_once_and_repeats_emit_nothing() -> None:
    scene = Scene()
    scene.declare_layer("tracks")
    scene.declare_layer("mc", visible=False)
    calls = recorder(scene)
    scene.select("ecl", 1)
    scene.select("ecl", 1)
    scene.set_color_mode("pid")
    scene.set_color_mode("pid")
    scene.set_layer_visible("mc", True)
    scene.set_layer_visible("mc", True)
    scene.set_growth(0.25)
    scene.set_growth(0.25)
    scene.set_growth(7.0)  # clipped to [0, 1]
    scene.clear_recoil()  # none shown: nothing to say
    scene.select(None)
    assert calls == [
        ("selection", (("ecl", 1),)),
        ("color_mode", ("pid",)),
        ("visibility", ("mc", True)),
        ("growth", (0.25,)),
        ("growth", (1.0,)),
        ("selection", (None,)),
    ]


def test_layers_are_declared_by_who_draws_them() -> None:
    scene = Scene()
    assert scene.layers == ()
    scene.declare_layer("tracks")
    scene.declare_layer("mc", visible=False)
    scene.set_layer_visible("tracks", False)
    scene.declare_layer("tracks", visible=True)  # a second view's overlay keeps the scene's state
    assert scene.visibility == {"tracks": False, "mc": False}
    with pytest.raises(ValueError, match=r"unknown layer 'jets'; layers: tracks, mc"):
        scene.set_layer_visible("jets", True)
    with pytest.raises(ValueError, match="unknown colour mode 'rainbow'"):
        scene.set_color_mode("rainbow")  # type: ignore[arg-type]


def test_disconnect_all_leaves_no_listener() -> None:
    scene = Scene()
    recorder(scene)
    assert all(len(e) == 1 for e in scene.events.emitters())
    scene.disconnect_all()
    assert all(len(e) == 0 for e in scene.events.emitters())
