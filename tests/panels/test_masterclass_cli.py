"""``main.py gui --masterclass --exercise``: the three exercises are accepted, anything else is one
line naming the option, before any window or display is needed."""

from __future__ import annotations

import argparse

import pytest

from events.masterclass import EXERCISES
from tests.conftest import run_main


def _parse(*argv: str) -> argparse.Namespace:
    from panels.cli import add_arguments

    parser = argparse.ArgumentParser(prog="main.py gui")
    add_arguments(parser)
    return parser.parse_args(list(argv))


def test_the_option_names_every_exercise() -> None:
    from panels.cli import EXERCISE_NAMES

    assert tuple(EXERCISES) == EXERCISE_NAMES


@pytest.mark.parametrize("name", ["zprime", "jpsi", "pi0"])
def test_each_exercise_is_accepted(name: str) -> None:
    from panels.cli import check_exercise

    args = _parse("--masterclass", "--exercise", name)
    assert check_exercise(args) is None
    assert EXERCISES[args.exercise].name == name
    assert check_exercise(_parse("--masterclass")) is None  # the Z′ exercise by default


@pytest.mark.parametrize(
    ("argv", "words"),
    [
        (("--masterclass", "--exercise", "higgs"), ["'higgs'", "no such exercise", "zprime, jpsi, pi0"]),
        (("--masterclass", "--exercise", "JPSI"), ["'JPSI'", "no such exercise"]),
        (("--exercise", "jpsi"), ["--exercise jpsi", "--masterclass"]),
    ],
)
def test_a_wrong_exercise_is_one_line(argv: tuple[str, ...], words: list[str]) -> None:
    result = run_main("gui", *argv, drop_env=("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM"))
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("gui: --exercise")
    for word in words:
        assert word in lines[0]
    assert "Traceback" not in result.stderr
    assert result.stdout == ""


@pytest.mark.gl
def test_the_jpsi_exercise_opens_from_the_command_line(tmp_path) -> None:
    picture = tmp_path / "jpsi.png"
    options = ("--screenshot", str(picture), "--screenshot-after-ms", "300")
    result = run_main("gui", "--masterclass", "--exercise", "jpsi", *options)
    assert result.returncode == 0, result.stderr
    assert picture.stat().st_size > 10_000
