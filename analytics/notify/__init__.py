"""Notification channels for alerts: console (log), webhook (Alertmanager format), e-mail, Alertmanager.

`analytics.alerts` never imports this package; the server wires a `Dispatcher` to the
alerting system, and the dispatcher delivers in background threads so that a slow or
dead receiver never holds up ingest or a check.
"""
