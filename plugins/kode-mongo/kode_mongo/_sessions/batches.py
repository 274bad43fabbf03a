"""Batch documents of the ``mongo`` session store: building them and reading them back.

See :mod:`kode_mongo._sessions.schema` for the layout.
"""

from __future__ import annotations

from collections.abc import Sequence

from kode_core.sessions import EncodedEntry

from .._schema import Document
from .schema import DOCUMENT_TEXT_BYTES, ENTRIES_PER_DOCUMENT, batch_id, uuid_entry_id


def batch_documents(kid: str, last: int, fresh: Sequence[EncodedEntry]) -> list[Document]:
    """``fresh`` positioned after ``last``, as as few batch documents as the caps allow."""
    documents: list[Document] = []
    chunk: list[EncodedEntry] = []
    size = 0
    for item in fresh:
        text_bytes = len(item.text) if item.text.isascii() else len(item.text.encode())
        if chunk and (
            len(chunk) == ENTRIES_PER_DOCUMENT or size + text_bytes > DOCUMENT_TEXT_BYTES
        ):
            last += len(chunk)
            documents.append(_document(kid, last, chunk))
            chunk, size = [], 0
        chunk.append(item)
        size += text_bytes
    if chunk:
        documents.append(_document(kid, last + len(chunk), chunk))
    return documents


def _document(kid: str, last_position: int, chunk: Sequence[EncodedEntry]) -> Document:
    # JSON text, not BSON: BSON has no integers beyond 64 bits and restricts keys
    # with '.' or a leading '$'; the text round-trips every JSON value exactly.
    document: Document = {
        "_id": batch_id(kid, last_position),
        "k": kid,
        "p": last_position,
        "j": [item.text for item in chunk],
    }
    uuids = [uuid_entry_id(kid, item.uuid) for item in chunk if item.uuid is not None]
    if uuids:
        document["u"] = uuids
    return document


def positioned(document: Document) -> list[tuple[int, str]]:
    """``(position, JSON text)`` of each entry of a batch (or version 1 entry) document."""
    texts = document["j"]
    last = int(document["p"])
    if isinstance(texts, str):  # a version 1 document: one entry
        return [(last, texts)]
    return list(zip(range(last - len(texts) + 1, last + 1), texts, strict=True))
