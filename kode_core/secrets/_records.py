"""Records of the secrets family: plain, frozen data. No I/O and no cryptography here."""

from __future__ import annotations

import enum
from typing import Any

import attrs

#: Longest accepted secret name, in characters.
MAX_SECRET_NAME_LENGTH = 512


class SecretValue:
    """A decrypted secret. :meth:`reveal` returns the value; nothing else ever shows it.

    ``repr``, ``str``, formatting and pickling show ``<SecretValue ***>`` (or refuse),
    so the value cannot leak into logs, tracebacks or exception messages by accident.
    Two values are never equal by ``==``: compare what :meth:`reveal` returns.
    """

    __slots__ = ("__value",)

    def __init__(self, value: Any) -> None:
        self.__value = value

    def reveal(self) -> Any:
        """The secret's value: any JSON value, as it was set."""
        return self.__value

    def __repr__(self) -> str:
        return "<SecretValue ***>"

    __str__ = __repr__

    def __format__(self, spec: str) -> str:
        return repr(self)

    def __reduce__(self) -> Any:
        raise TypeError("a SecretValue is not picklable: reveal() it on purpose")


@attrs.frozen
class SecretRow:
    """What an engine stores for one secret: opaque bytes, never the plaintext or a KEK.

    ``ciphertext`` is the value sealed under the secret's own data key (nonce, then
    AES-256-GCM output); ``wrapped_key`` is that data key sealed under the key-encryption
    key of ``key_version``. ``format_version`` names the layout of both. Times are epoch
    milliseconds; an engine keeps ``created_at`` of the first write of the name.
    """

    name: str
    ciphertext: bytes = attrs.field(repr=lambda v: f"<{len(v)} bytes>")
    wrapped_key: bytes = attrs.field(repr=lambda v: f"<{len(v)} bytes>")
    key_version: int
    format_version: int
    created_at: int
    updated_at: int


class AuditAction(str, enum.Enum):
    """What an audit entry records."""

    SET = "set"
    DELETE = "delete"
    ROTATE = "rotate"
    READ = "read"


@attrs.frozen
class AuditDraft:
    """An audit entry before the engine gives it its ``id``."""

    secret_key: str
    action: AuditAction
    performed_at: int
    actor: str | None = None


@attrs.frozen
class AuditEntry:
    """One line of the append-only audit trail; ``id`` grows with every entry."""

    id: int
    secret_key: str
    action: AuditAction
    performed_at: int
    actor: str | None = None

    @classmethod
    def of(cls, id: int, draft: AuditDraft) -> AuditEntry:
        """The entry an engine stored for ``draft`` under ``id``."""
        return cls(id, draft.secret_key, draft.action, draft.performed_at, draft.actor)

    def as_dict(self) -> dict[str, Any]:
        """``{id, secret_key, action, performed_at, actor}``; ``actor`` left out when unset."""
        out: dict[str, Any] = {
            "id": self.id,
            "secret_key": self.secret_key,
            "action": self.action.value,
            "performed_at": self.performed_at,
        }
        if self.actor is not None:
            out["actor"] = self.actor
        return out


@attrs.frozen
class RotationProgress:
    """How far :meth:`~kode_core.SecretStore.rotate` is; handed to its ``on_progress``.

    ``total`` rows were older than the current key version when the rotation started;
    ``checked`` of them have been looked at, ``rotated`` re-wrapped by this call (a row
    another instance re-wrapped first is checked, not rotated). ``unknown_keys`` lists
    ``(secret, key_version)`` of rows whose key is not configured and ``unreadable`` those
    whose data key failed to decrypt: both are left as they are.
    """

    total: int
    checked: int
    rotated: int
    unknown_keys: tuple[tuple[str, int], ...] = ()
    unreadable: tuple[tuple[str, int], ...] = ()

    @property
    def left_behind(self) -> int:
        """Rows this rotation could not re-wrap (unknown key or unreadable)."""
        return len(self.unknown_keys) + len(self.unreadable)
