"""The HTTP shell around `analytics`: ingest, summary and health endpoints, and the CLI."""
