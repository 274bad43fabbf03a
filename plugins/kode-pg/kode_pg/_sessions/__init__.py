"""The ``pg`` session store: its tables (``schema``), statements (``sql``), store (``store``)."""
