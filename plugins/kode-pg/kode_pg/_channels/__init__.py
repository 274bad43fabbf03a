"""The ``channels`` family on PostgreSQL: its tables and store."""
