"""The ``secrets`` family on Redis: its key layout, scripts, store and raw-row hook."""
