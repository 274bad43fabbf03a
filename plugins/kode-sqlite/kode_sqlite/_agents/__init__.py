"""The ``agents`` family on SQLite: its tables, statements, queries and store."""
