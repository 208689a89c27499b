"""Qt and pyqtgraph panels, the main window and its docks."""
