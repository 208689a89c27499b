"""The guard on VisPy's private hooks: silent on the tested VisPy, one clear line on another."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
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


def _texts_picture(texts: tuple[str, ...], font_size: int) -> np.ndarray:
    """Two lines of white text on a fresh 240x80 canvas, rendered to pixels."""
    from vispy import app as vispy_app
    from vispy import scene

    from displays.canvas import DetectorCanvas

    canvas = DetectorCanvas(keys=None, size=(240, 80), app=vispy_app.use_app("pyside6"), bgcolor="black")
    view = canvas.central_widget.add_view()
    view.camera = scene.PanZoomCamera(rect=(0, 0, 240, 80))
    for k, text in enumerate(texts):
        at = (120, 25 + 30 * k)
        scene.visuals.Text(text, pos=at, color="white", font_size=font_size, parent=view.scene)
    try:
        return np.asarray(canvas.render(alpha=False))
    finally:
        canvas.close()


@pytest.mark.gl
def test_glyphs_rendered_once_per_process_draw_as_vispys_own_loader_draws_them(qapp: Any) -> None:
    """Texts drawn from the glyph cache (a second canvas reuses the first one's glyphs) are the
    pixels VisPy's own loader gives, kerning included."""
    from vispy.visuals.text import text as vispy_text

    def picture() -> np.ndarray:
        return _texts_picture(("e- 7 GeV", "AVWa 0123"), font_size=14)

    assert vispy_compat.install_caches() == {"glyphs": True, "shader variables": True}
    cached = [picture(), picture()]
    assert any(key[-1] == "W" for key in vispy_compat._GLYPHS)
    vispy_text.TextureFont._load_char = vispy_compat._VISPY_LOAD_CHAR
    try:
        plain = picture()
    finally:
        vispy_text.TextureFont._load_char = vispy_compat._load_char_once
    assert plain[..., :3].max() > 100  # the texts are there
    for image in cached:
        assert np.array_equal(image, plain)


def test_shader_variables_parsed_once_are_the_variables_vispys_parser_finds() -> None:
    """A program's variables from the cache equal VisPy's own parse of the same source."""
    from vispy.gloo import Program

    vispy_compat.install_caches()
    vert = "\n".join(
        [
            "uniform vec4 u_color; // colour",
            "attribute vec2 a_position;",
            "varying vec4 v_c;",
            "uniform float u_k[3];",
            "void main() { v_c = u_color * u_k[1]; gl_Position = vec4(a_position, 0., 1.); }",
        ]
    )
    frag = "varying vec4 v_c; // from the vertex shader\nvoid main() { gl_FragColor = v_c; }"
    first, second = Program(vert, frag), Program(vert, frag)  # the second from the cache
    plain = Program(vert, frag)
    assert vispy_compat._VISPY_PARSE_VARIABLES is not None
    vispy_compat._VISPY_PARSE_VARIABLES(plain)
    assert first._code_variables == second._code_variables == plain._code_variables
    assert {"u_color", "a_position", "v_c", "u_k", "u_k[2]"} <= set(plain._code_variables)
    second["u_color"] = (1.0, 0.5, 0.0, 1.0)  # a variable the cached parse knows is set as usual
    assert "u_color" in second._user_variables


@pytest.mark.gl
def test_glyphs_kept_on_disk_draw_as_vispys_own_loader_draws_them(
    qapp: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A start that reads its glyphs from the file an earlier start wrote draws the same pixels as
    VisPy's own loader; nothing is rendered from freetype then."""
    from vispy.visuals.text import text as vispy_text

    from displays import glyph_cache

    def picture() -> np.ndarray:
        return _texts_picture(("μ+ 3.1 GeV", "Kq 4567"), font_size=13)

    vispy_compat.install_caches()
    monkeypatch.setattr(vispy_compat, "_GLYPHS", {})
    store = glyph_cache.reset(tmp_path / glyph_cache.FILE)
    try:
        written = picture()  # rendered, then written once the canvas painted
        assert (tmp_path / glyph_cache.FILE).is_file()
        monkeypatch.setattr(vispy_compat, "_GLYPHS", {})  # as in the next process
        glyph_cache.reset(tmp_path / glyph_cache.FILE)
        rendered: list[str] = []
        real = vispy_compat._freetype_glyph

        def counted(*args: Any) -> Any:
            rendered.append(args[-1])
            return real(*args)

        monkeypatch.setattr(vispy_compat, "_freetype_glyph", counted)
        read = picture()
        assert rendered == []  # every glyph came from the file
        vispy_text.TextureFont._load_char = vispy_compat._VISPY_LOAD_CHAR
        try:
            plain = picture()
        finally:
            vispy_text.TextureFont._load_char = vispy_compat._load_char_once
    finally:
        glyph_cache.reset(glyph_cache.cache_path())
    assert store.path == tmp_path / glyph_cache.FILE
    assert plain[..., :3].max() > 100  # the texts are there
    assert np.array_equal(written, plain)
    assert np.array_equal(read, plain)


def test_the_glyph_file_keeps_what_was_put_and_forgets_a_changed_font_or_a_damaged_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from displays import glyph_cache

    path = tmp_path / "cache" / glyph_cache.FILE
    key = ("OpenSans", False, False, 256, 32, 4, "µ")
    entry = ((3, 180), 150.5, np.arange(12, dtype=np.uint8).reshape(3, 4), np.ones((2, 2, 3), np.uint8))
    first = glyph_cache.GlyphStore(path)
    assert first.get("font-a", key) is None  # no file yet
    first.put("font-a", key, entry)
    assert first.flush()
    assert not first.flush()  # nothing new since
    again = glyph_cache.GlyphStore(path).get("font-a", key)
    assert again is not None
    assert again[:2] == entry[:2]
    assert np.array_equal(again[2], entry[2])
    assert again[2].dtype == np.uint8
    assert np.array_equal(again[3], entry[3])
    assert glyph_cache.GlyphStore(path).get("font-b", key) is None  # another font file or version
    path.write_bytes(b"PK\x03\x04 not a zip")
    assert glyph_cache.GlyphStore(path).get("font-a", key) is None  # damaged: rendered again
    monkeypatch.setenv("BELLE2_DISPLAY_CACHE", "")
    assert glyph_cache.cache_path() is None
    nowhere = glyph_cache.GlyphStore(None)
    nowhere.put("font-a", key, entry)
    assert not nowhere.flush()
    monkeypatch.setenv("BELLE2_DISPLAY_CACHE", str(tmp_path))
    assert glyph_cache.cache_path() == tmp_path / glyph_cache.FILE
    font = tmp_path / "font.ttf"
    font.write_bytes(b"x")
    stamp = glyph_cache.font_stamp(str(font))
    font.write_bytes(b"xy")
    assert glyph_cache.font_stamp(str(font)) != stamp  # a font file that changed renders again
