"""The ``secrets`` family on SQLite: its tables, statements, store and raw-row hook."""
