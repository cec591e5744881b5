"""Running it: metrics, logs, probes, outages (being moved here from core/)."""
