"""Ingest: the event schema, reading and validating bodies into columns, dedupe and group commit."""
