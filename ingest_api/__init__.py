"""The HTTP shell around `analytics`: ingest, summary and health endpoints (the CLI is `widget_monitor`)."""
