"""The ``deployments`` family on MongoDB: its collection and store."""
