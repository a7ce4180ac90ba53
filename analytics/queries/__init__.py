"""Queries over the store: summary, time series, samples, dimensions, health, telemetry and export."""
