"""Storage layout of the ``mongo`` deployment store.

One collection, ``<namespace>.deployments``, one document per instance; its schema
version is the ``{_id: "deployments"}`` document of ``<namespace>.kode_meta``::

    {_id: deployment id, e: endpoint, f: [functions], h: heartbeat ms}

``start`` replaces the whole document (instance and function list in one write).
The multikey index ``(f, h)`` finds a function's instance with the newest heartbeat;
``(h)`` lists the live ones and finds those to prune.
"""

from __future__ import annotations

from pymongo import ASCENDING, DESCENDING, IndexModel

from .._schema import MongoSchema

#: The deployment collection.
DEPLOYMENTS = MongoSchema(
    "deployments",
    1,
    {
        1: {
            "deployments": [
                IndexModel([("f", ASCENDING), ("h", DESCENDING)], name="function_heartbeat"),
                IndexModel([("h", ASCENDING)], name="heartbeat"),
            ]
        }
    },
)
