"""The ``channels`` family on MongoDB: its collection and store."""
