"""The guard on VisPy's private hooks: silent on the tested VisPy, one clear line on another."""

from __future__ import annotations

import vispy

from displays import vispy_compat


def test_the_installed_vispy_is_the_tested_one_with_every_hook() -> None:
    assert vispy.__version__.split(".")[:2] == vispy_compat.TESTED.split(".")
    assert vispy_compat.missing_hooks() == frozenset()
    assert vispy_compat.problem() is None
    assert all(vispy_compat.has_hook(name) for name in vispy_compat.HOOKS)


def test_another_vispy_is_named_with_the_hooks_it_lacks() -> None:
    text = vispy_compat.problem("0.18.1", frozenset({"AxisWidget._view_changed"}))
    assert text == (
        "VisPy 0.18.1 is not the 0.17 this display was tested with (displays/vispy_compat.py); "
        "missing: AxisWidget._view_changed (VisPy's own behaviour used instead)"
    )
    assert vispy_compat.problem("0.17.3", frozenset()) is None  # a patch release of the tested one
    assert vispy_compat.problem("1.0.0", frozenset()) == (
        "VisPy 1.0.0 is not the 0.17 this display was tested with (displays/vispy_compat.py)"
    )
