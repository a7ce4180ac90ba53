"""Who may do what: ingest keys, API tokens with roles, and the audit log of changes to them."""
