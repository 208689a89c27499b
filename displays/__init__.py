"""VisPy views of the detector and events: one visual per collection."""
