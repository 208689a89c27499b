"""What is happening now: live sources by URL, accumulators, alarms and histogram backends (pure)."""
