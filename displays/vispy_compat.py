"""The VisPy private hooks the display relies on, checked once against the installed VisPy.

The views reach into a few of VisPy's private methods (the draw that clears the frame, the grid's
layout, the axes' tick update, the text glyph loader and the shader variable parser:
``install_caches``). They are written
for ``TESTED``; with any other VisPy the program
says so in one line naming the hooks that are gone, and each view falls back to VisPy's own
behaviour for a missing hook (pictures may then differ) instead of failing. The Qt widget's paint
and the grid's colour are looked up on the object itself where they are used.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Iterable
from typing import Any

import numpy as np
import vispy
from vispy import scene
from vispy.gloo import program as gloo_program
from vispy.scene.widgets import AxisWidget, Grid
from vispy.visuals.text import text as vispy_text

from displays import glyph_cache

log = logging.getLogger(__name__)

TESTED = "0.17"  # major.minor of the VisPy release the hooks below were written and tested for
HOOKS: dict[str, tuple[type, str]] = {  # name -> (class, method); what each is for is said where used
    "SceneCanvas._draw_scene": (scene.SceneCanvas, "_draw_scene"),
    "Grid._update_child_widget_dim": (Grid, "_update_child_widget_dim"),
    "AxisWidget._view_changed": (AxisWidget, "_view_changed"),
    "TextureFont._load_char": (vispy_text.TextureFont, "_load_char"),
    "Program._parse_variables_from_code": (gloo_program.Program, "_parse_variables_from_code"),
}


@functools.cache
def missing_hooks() -> frozenset[str]:
    """The hooks of ``HOOKS`` the installed VisPy lacks."""
    return frozenset(name for name, (owner, method) in HOOKS.items() if not hasattr(owner, method))


def has_hook(name: str) -> bool:
    """Whether the private hook ``name`` of ``HOOKS`` can be used."""
    return name not in missing_hooks()


def sync_axes(grid: Grid, axes: Iterable[AxisWidget]) -> None:
    """Lay a grid out, then let its axes read their range: VisPy updates the ticks only when the
    camera moves, so without this they keep the place the axis had before the first layout."""
    if has_hook("Grid._update_child_widget_dim"):
        grid._update_child_widget_dim()
    if has_hook("AxisWidget._view_changed"):
        for axis in axes:
            axis._view_changed()


def problem(version: str | None = None, missing: frozenset[str] | None = None) -> str | None:
    """One line saying how the installed VisPy differs from the tested one, or None."""
    version = version or vispy.__version__
    missing = missing_hooks() if missing is None else missing
    if version.split(".")[:2] == TESTED.split(".") and not missing:
        return None
    gone = f"; missing: {', '.join(sorted(missing))} (VisPy's own behaviour used instead)" if missing else ""
    where = "displays/vispy_compat.py"
    return f"VisPy {version} is not the {TESTED} this display was tested with ({where}){gone}"


@functools.cache
def check_once() -> str | None:
    """Log :func:`problem` once per process; every canvas calls this."""
    text = problem()
    if text:
        log.warning("%s", text)
    return text


#: (face, bold, italic, size, spread, ratio, char) -> (offset, advance, glyph bitmap, SDF block)
_GLYPHS: dict[tuple[Any, ...], tuple[Any, float, np.ndarray, np.ndarray]] = {}


def _freetype_load_font() -> Any:
    """VisPy's freetype font loader when it is the one in use (Linux, Windows), else None."""
    try:
        from vispy.util.fonts import _freetype

        return _freetype._load_font if vispy_text._load_glyph is _freetype._load_glyph else None
    except ImportError:  # no freetype: VisPy's own path says why when a text is drawn
        return None


def _freetype_glyph(load_font: Any, font: dict[str, Any], char: str) -> tuple[Any, float, np.ndarray]:
    """VisPy's ``_load_glyph`` without its kerning: offset, advance and the 8-bit bitmap, the bytes
    read through ctypes rather than freetype-py's list of a Python int per pixel (a glyph at
    256 pt has about 40,000)."""
    from freetype import FT_LOAD_NO_AUTOHINT, FT_LOAD_NO_HINTING, FT_LOAD_RENDER

    face = load_font(font["face"], font["bold"], font["italic"])
    face.set_char_size(font["size"] * 64)
    face.load_char(char, FT_LOAD_RENDER | FT_LOAD_NO_HINTING | FT_LOAD_NO_AUTOHINT)
    bitmap = face.glyph.bitmap
    width, height, size = bitmap.width, bitmap.rows, bitmap.rows * bitmap.pitch
    raw = bitmap._FT_Bitmap.buffer
    pixels = np.ctypeslib.as_array(raw, shape=(size,)).copy() if size > 0 and raw else np.zeros(0, np.uint8)
    w0 = pixels.size // height if pixels.size > 0 else 0
    image = pixels.reshape(height, w0)[:, :width].astype(np.ubyte)
    return (face.glyph.bitmap_left, face.glyph.bitmap_top), face.glyph.advance.x / 64.0, image


def _load_char_once(self: Any, char: str) -> None:
    """``TextureFont._load_char`` with each glyph rendered once per process.

    Every VisPy text visual has a font (and an atlas) of its own, so each one loaded every glyph it
    shows from freetype at 256 pt and computed its signed-distance field again: 5-15 ms a glyph,
    most of the first paint of the projections (their axes) and of the window. The glyph's metrics
    and its SDF block are kept after the first time, in the process and on disk for the next start
    (``displays.glyph_cache``); each atlas still gets its own copy, placed where
    VisPy places it, and the kerning against the font's other glyphs is read from the face as VisPy
    does, so the texts draw exactly as before.
    """
    font = self._font
    load_font = _freetype_load_font()
    if load_font is None or not isinstance(self._renderer, vispy_text.SDFRendererCPU):
        assert _VISPY_LOAD_CHAR is not None  # installed only where VisPy has it
        _VISPY_LOAD_CHAR(self, char)
        return
    key = (font["face"], font["bold"], font["italic"], font["size"], self._spread, self.ratio, char)
    entry = _GLYPHS.get(key)
    if entry is None:
        stamp = _font_stamp(font["face"], font["bold"], font["italic"])
        entry = glyph_cache.store().get(stamp, key) if stamp else None  # kept from an earlier start
        if entry is None:
            offset, advance, bitmap = _freetype_glyph(load_font, font, char)
            spread = self._spread
            data = np.zeros((bitmap.shape[0] + 2 * spread, bitmap.shape[1] + 2 * spread), np.uint8)
            data[spread:-spread, spread:-spread] = bitmap
            height, width = data.shape[0] // self.ratio, data.shape[1] // self.ratio
            block = np.zeros((height, width, 3), np.uint8)
            self._renderer.render_to_texture(data, block, (0, 0), (width, height))
            entry = (offset, advance, bitmap, block)
            if stamp:
                glyph_cache.store().put(stamp, key, entry)
        _GLYPHS[key] = entry
    offset, advance, bitmap, block = entry
    height, width = block.shape[:2]
    region = self._atlas.get_free_region(width + 2, height + 2)
    if region is None:
        raise RuntimeError("Cannot store glyph")
    x, y = region[0] + 1, region[1] + 1
    self._atlas[y : y + height, x : x + width, :] = block
    glyph: dict[str, Any] = dict(char=char, offset=offset, bitmap=bitmap, advance=advance, kerning={})
    self._glyphs[char] = glyph
    face = load_font(font["face"], font["bold"], font["italic"])
    face.set_char_size(font["size"] * 64)
    for other_char, other_glyph in self._glyphs.items():
        glyph["kerning"][other_char] = face.get_kerning(other_char, char).x / 64.0
        other_glyph["kerning"][char] = face.get_kerning(char, other_char).x / 64.0
    shape = self._atlas.shape
    texcoords = (
        x / float(shape[1]),
        y / float(shape[0]),
        (x + width) / float(shape[1]),
        (y + height) / float(shape[0]),
    )
    glyph.update(dict(size=(width, height), texcoords=texcoords))


_VISPY_LOAD_CHAR = getattr(vispy_text.TextureFont, "_load_char", None)


@functools.cache
def _font_stamp(face: str, bold: bool, italic: bool) -> str | None:
    """What names the font file VisPy's freetype loader opens for ``face`` (``glyph_cache.font_stamp``),
    found as that loader finds it; None where it cannot be told (the glyphs are then not kept)."""
    try:
        from vispy.util.fonts import _freetype
        from vispy.util.fonts._vispy_fonts import _get_vispy_font_filename, _vispy_fonts

        if face in _vispy_fonts:
            filename = _get_vispy_font_filename(face, bold, italic)
        else:
            filename = _freetype.find_font(face, bold, italic)
        return glyph_cache.font_stamp(str(filename))
    except Exception:  # any failure only means the glyph is rendered, as before
        return None


#: the shaders' joined source -> the variables VisPy's parser finds in it
_CODE_VARIABLES: dict[str, dict[str, tuple[Any, ...]]] = {}


def _parse_variables_once(self: Any, update_variables: bool = True) -> None:
    """``Program._parse_variables_from_code`` with each shader source parsed once per process.

    VisPy strips the comments of every program's source with a regular expression that backtracks
    over each line (``(.*)(//.*)``), 10-30 ms a program, for every visual of every canvas; the same
    sources come back in each view. The variables found are a function of the source alone."""
    code = "\n\n".join([sh.code for sh in self._shaders])
    found = _CODE_VARIABLES.get(code)
    if found is None:
        assert _VISPY_PARSE_VARIABLES is not None  # installed only where VisPy has it
        _VISPY_PARSE_VARIABLES(self, update_variables=False)
        _CODE_VARIABLES[code] = dict(self._code_variables)
    else:
        self._code_variables = dict(found)
    if update_variables:
        self._process_pending_variables()


_VISPY_PARSE_VARIABLES = getattr(gloo_program.Program, "_parse_variables_from_code", None)


@functools.cache
def install_caches() -> dict[str, bool]:
    """Give every VisPy text the process's glyph cache (``_load_char_once``) and every shader program
    its parsed variables (``_parse_variables_once``); which took."""
    took = {"glyphs": has_hook("TextureFont._load_char")}
    if took["glyphs"]:
        vispy_text.TextureFont._load_char = _load_char_once
    took["shader variables"] = has_hook("Program._parse_variables_from_code")
    if took["shader variables"]:
        gloo_program.Program._parse_variables_from_code = _parse_variables_once
    return took
