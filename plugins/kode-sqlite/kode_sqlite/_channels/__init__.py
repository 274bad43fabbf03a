"""The ``channels`` family on SQLite: its tables and store."""
