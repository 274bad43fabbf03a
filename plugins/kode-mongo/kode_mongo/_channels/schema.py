"""Storage layout of the ``mongo`` channel store.

One collection, ``<namespace>.channels``, one document per channel; its schema
version is the ``{_id: "channels"}`` document of ``<namespace>.kode_meta``::

    {_id: channel id, n: name, d: opening data JSON, u: user id (absent: none),
     s: state JSON (absent: unset), t: [topics]}

A channel's topics live in its own document, so subscribing (``$addToSet``),
unsubscribing (``$pull``) and removing the channel (deleting the document) are each
one single-document write: no subscription can outlive its channel. The multikey
index ``(t, _id)`` finds a topic's channels; the document itself lists a channel's topics.
"""

from __future__ import annotations

from pymongo import ASCENDING, IndexModel

from .._schema import MongoSchema

#: The channel collection.
CHANNELS = MongoSchema(
    "channels",
    1,
    {1: {"channels": [IndexModel([("t", ASCENDING), ("_id", ASCENDING)], name="topic_channel")]}},
)
