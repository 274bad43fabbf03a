"""The ``sessions`` family on SQLite: its tables, statements and store."""
