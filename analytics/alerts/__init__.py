"""Alerting: the seed's rules, evaluated over the store, with a lifecycle kept in DuckDB.

`rules` names what can fire, `evaluate` measures the figures the rules read,
`baseline` snapshots and compares them, `config` validates what users may change,
`alert_store` persists alerts, transitions, baselines and config, `lifecycle`
decides what a check does to each alert, and `system` ties them together.
"""
