"""Storage: the DuckDB event store, its WAL, the Parquet lake, and finding and repairing damage."""
