"""The command line (what `widget-monitor` runs): serve, up, dashboard, demo, credentials, recover."""
