"""The ``redis`` session store: its key layout (``schema``), its append script
(``scripts``) and the store (``store``)."""
