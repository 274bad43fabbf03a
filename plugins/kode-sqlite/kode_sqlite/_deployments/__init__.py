"""The ``deployments`` family on SQLite: its tables and store."""
