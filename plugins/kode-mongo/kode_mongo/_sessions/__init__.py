"""The ``mongo`` session store: its collections (``schema``) and the store (``store``)."""
