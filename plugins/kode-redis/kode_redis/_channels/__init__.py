"""The ``channels`` family on Redis: its key layout, scripts and store."""
