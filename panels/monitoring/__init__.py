"""Live machine monitoring panels: luminosity, beam currents, beam-loss alarms, L1 trigger rates.

``monitoring_docks(url, parent)`` returns plain QDockWidgets for a main window; ``standalone(url,
name)`` makes one panel that runs by itself; ``python -m panels.monitoring [url] [--panel ...]``
opens them without the main window.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDockWidget, QWidget

from monitoring.alarms import AlarmModel
from monitoring.archive import Archive
from monitoring.source import Source
from panels.monitoring.base import MonitorPanel
from panels.monitoring.beams import BeamPanel
from panels.monitoring.hub import LiveHub
from panels.monitoring.luminosity import LuminosityPanel
from panels.monitoring.sbl import SBLPanel
from panels.monitoring.trigger import TriggerPanel

PANELS: dict[str, type[MonitorPanel]] = {
    "luminosity": LuminosityPanel,
    "beams": BeamPanel,
    "sbl": SBLPanel,
    "trigger": TriggerPanel,
}


def monitoring_docks(
    source_url: str | Source,
    parent: QWidget | None,
    alarms: AlarmModel | None = None,
    archive: Archive | None = None,
    lazy: bool = False,
) -> list[QDockWidget]:
    """One started live source shared by four dock widgets (the hub lives as long as ``parent``);
    ``alarms``, if given, is judged against the source's values; ``archive`` records them and is
    the history of a source without its own.

    With ``lazy`` only the first dock's panel is built at once: every other dock holds an empty
    placeholder and a ``build_panel()`` that builds its panel, joins it to the hub and returns it
    (its caller puts it in the dock when the dock is first shown). The hub's model takes every
    update meanwhile, so a panel built later draws the whole history at its first refresh."""
    hub = LiveHub(source_url, parent, alarms=alarms, archive=archive)
    docks: list[QDockWidget] = []
    for name, cls in PANELS.items():

        def build(cls: type[MonitorPanel] = cls) -> MonitorPanel:
            panel = cls()
            hub.add(panel)
            return panel

        dock = QDockWidget(cls.title, parent)
        dock.setObjectName(f"monitoring-{name}")
        if lazy and docks:
            dock.setWidget(QWidget())
            dock.build_panel = build  # type: ignore[attr-defined]
        else:
            dock.setWidget(build())
        dock.setAllowedAreas(Qt.DockWidgetArea.AllDockWidgetAreas)
        dock.hub = hub  # type: ignore[attr-defined]  # keeps the hub alive with the docks
        docks.append(dock)
    hub.start()
    return docks


def standalone(source_url: str | Source, name: str = "luminosity") -> MonitorPanel:
    """A panel with its own live source, ready to ``show()``."""
    panel = PANELS[name]()
    hub = LiveHub(source_url, panel)
    hub.add(panel)
    panel.hub = hub
    hub.start()
    return panel


__all__ = [
    "PANELS",
    "BeamPanel",
    "LiveHub",
    "LuminosityPanel",
    "SBLPanel",
    "TriggerPanel",
    "monitoring_docks",
    "standalone",
]
