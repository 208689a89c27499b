"""The dark control-room theme: a Fusion palette plus a small style sheet, readable at 3 m on a big screen."""

from __future__ import annotations

from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QApplication

WINDOW = "#0d1320"
BASE = "#101828"
PANEL = "#151f33"
TEXT = "#dfe6f2"
MUTED = "#8e9ab0"
ACCENT = "#3fb6e8"  # CDC cyan, the display's signature colour
ALARM = "#ff5a4f"

STYLE_SHEET = f"""
QMainWindow, QDockWidget {{ background: {WINDOW}; color: {TEXT}; }}
QDockWidget::title {{
    background: {PANEL}; color: {TEXT}; padding: 5px 8px; font-weight: 600; letter-spacing: 0.5px;
}}
QToolBar {{ background: {PANEL}; border: none; spacing: 4px; padding: 3px; }}
QToolButton {{ color: {TEXT}; padding: 5px 10px; border-radius: 4px; }}
QToolButton:hover {{ background: #22304a; }}
QToolButton:checked, QToolButton:pressed {{ background: #1c4a66; }}
QGroupBox {{
    border: 1px solid #24324c; border-radius: 6px; margin-top: 14px; padding: 8px 6px 6px 6px;
    color: {MUTED}; font-weight: 600;
}}
QGroupBox::title {{ subcontrol-origin: margin; left: 10px; padding: 0 4px; }}
QCheckBox, QRadioButton, QLabel {{ color: {TEXT}; }}
QCheckBox::indicator, QRadioButton::indicator {{
    width: 13px; height: 13px; border: 1px solid {MUTED}; background: {BASE};
}}
QCheckBox::indicator {{ border-radius: 3px; }}
QRadioButton::indicator {{ border-radius: 7px; }}
QCheckBox::indicator:checked, QRadioButton::indicator:checked {{
    background: {ACCENT}; border-color: {ACCENT};
}}
QCheckBox::indicator:disabled {{ border-color: #3a4660; background: {WINDOW}; }}
QSlider::groove:horizontal {{ height: 4px; background: #24324c; border-radius: 2px; }}
QSlider::sub-page:horizontal {{ background: {ACCENT}; border-radius: 2px; }}
QSlider::handle:horizontal {{
    background: {TEXT}; width: 12px; margin: -5px 0; border-radius: 6px;
}}
QComboBox {{
    background: {BASE}; color: {TEXT}; border: 1px solid #2a3a58; border-radius: 4px; padding: 3px 8px;
}}
QStatusBar {{ background: {PANEL}; color: {MUTED}; }}
QScrollArea {{ border: none; background: {WINDOW}; }}
"""


def dark_palette() -> QPalette:
    palette = QPalette()
    roles = {
        QPalette.ColorRole.Window: WINDOW,
        QPalette.ColorRole.WindowText: TEXT,
        QPalette.ColorRole.Base: BASE,
        QPalette.ColorRole.AlternateBase: PANEL,
        QPalette.ColorRole.ToolTipBase: PANEL,
        QPalette.ColorRole.ToolTipText: TEXT,
        QPalette.ColorRole.Text: TEXT,
        QPalette.ColorRole.Button: PANEL,
        QPalette.ColorRole.ButtonText: TEXT,
        QPalette.ColorRole.BrightText: ALARM,
        QPalette.ColorRole.Highlight: ACCENT,
        QPalette.ColorRole.HighlightedText: WINDOW,
        QPalette.ColorRole.PlaceholderText: MUTED,
    }
    for role, color in roles.items():
        palette.setColor(role, QColor(color))
    palette.setColor(QPalette.ColorGroup.Disabled, QPalette.ColorRole.Text, QColor(MUTED))
    palette.setColor(QPalette.ColorGroup.Disabled, QPalette.ColorRole.ButtonText, QColor(MUTED))
    return palette


def apply_theme(app: QApplication) -> None:
    """Dark Fusion style for the whole application."""
    app.setStyle("Fusion")
    app.setPalette(dark_palette())
    app.setStyleSheet(STYLE_SHEET)
