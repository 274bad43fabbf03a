"""The ``pg`` agent store: its tables (``schema``), statements and query builders (``sql``)
and the store (``store``)."""
