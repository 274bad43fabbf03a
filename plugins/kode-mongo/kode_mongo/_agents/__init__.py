"""The ``mongo`` agent store: its collections (``schema``), filters and lease pipelines
(``queries``) and the store (``store``)."""
