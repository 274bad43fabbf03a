"""The ``redis`` agent store: its key layout (``schema``), Lua scripts (``scripts``),
scanned queries (``queries``) and the store (``store``)."""
