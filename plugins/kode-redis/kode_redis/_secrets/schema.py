"""The key layout of the ``redis`` secret store and its schema version.

Its version is the field ``secrets_schema_version`` of ``kode:<ns>:meta`` (see
:mod:`kode_redis._schema`). Every key carries the hash tag ``{<ns>.secrets}``, so a
namespace's secrets share one cluster slot and each script (a write with its audit
entry, a rotation's compare-and-set) touches that slot alone. ``N`` is a secret name
escaped like every caller-supplied key part::

    kode:<ns>:{<ns>.secrets}:rows       HASH  name -> row text (see :func:`row_text`)
    kode:<ns>:{<ns>.secrets}:created    HASH  name -> created_at (epoch ms)
    kode:<ns>:{<ns>.secrets}:versions   ZSET  name, score = key version
    kode:<ns>:{<ns>.secrets}:salts      HASH  key version -> base64 KDF salt
    kode:<ns>:{<ns>.secrets}:audit:seq  STRING the last audit id (INCR)
    kode:<ns>:{<ns>.secrets}:audit      LIST  audit entry JSON, newest first
    kode:<ns>:{<ns>.secrets}:audit:k:N  LIST  the same entries of one secret

Bytes are stored base64-encoded (the client decodes replies as text).
"""

from __future__ import annotations

import base64
import json

import attrs

from kode_core.secrets import SecretRow

from .._schema import RedisSchema, escape

#: The secret-store keys: version 1 is the first layout (its keys come with the writes).
SECRETS = RedisSchema("secrets", 1)


@attrs.frozen
class SecretKeys:
    """The keys of one namespace's secrets."""

    base: str

    @classmethod
    def for_namespace(cls, namespace: str) -> SecretKeys:
        return cls(f"kode:{namespace}:{{{namespace}.secrets}}")

    @property
    def rows(self) -> str:
        return f"{self.base}:rows"

    @property
    def created(self) -> str:
        return f"{self.base}:created"

    @property
    def versions(self) -> str:
        return f"{self.base}:versions"

    @property
    def salts(self) -> str:
        return f"{self.base}:salts"

    @property
    def audit_seq(self) -> str:
        return f"{self.base}:audit:seq"

    @property
    def audit(self) -> str:
        return f"{self.base}:audit"

    def audit_of(self, name: str) -> str:
        return f"{self.base}:audit:k:{escape(name)}"

    @property
    def pattern(self) -> str:
        """A ``SCAN MATCH`` pattern for every key of the namespace's secrets."""
        return f"{self.base}:*"  # a namespace is [a-z0-9_]: nothing to escape


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def row_text(row: SecretRow) -> str:
    """The stored text of a row (without ``created_at``, kept apart): one JSON array,
    always encoded the same way, so a script can compare it as a whole."""
    return json.dumps(
        [
            row.key_version,
            row.format_version,
            row.updated_at,
            _b64(row.ciphertext),
            _b64(row.wrapped_key),
        ],
        separators=(",", ":"),
    )


def parse_row(name: str, text: str, created: str | None) -> SecretRow:
    """The :class:`SecretRow` stored as ``text``; malformed text gives a row that fails
    to decrypt (empty bytes) rather than an error that hides which secret it is."""
    try:
        version, fmt, updated, ciphertext, wrapped = json.loads(text)
        return SecretRow(
            name,
            base64.b64decode(ciphertext),
            base64.b64decode(wrapped),
            int(version),
            int(fmt),
            int(created or 0),
            int(updated),
        )
    except (ValueError, TypeError):
        return SecretRow(name, b"", b"", 0, 0, int(created or 0), 0)
