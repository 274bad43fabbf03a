"""The ``deployments`` family on PostgreSQL: its tables and store."""
