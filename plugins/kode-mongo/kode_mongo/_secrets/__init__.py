"""The ``secrets`` family on MongoDB: its collections, store and raw-row hook."""
