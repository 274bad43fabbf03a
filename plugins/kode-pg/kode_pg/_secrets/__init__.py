"""The ``secrets`` family on PostgreSQL: its tables, statements, store and raw-row hook."""
