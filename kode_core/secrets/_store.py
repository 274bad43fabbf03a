"""The secret-store contract and its base class: validation, envelope encryption, rotation.

:class:`SecretStore` does every cryptographic step in the core, the same for every
engine; a backend stores opaque :class:`SecretRow` values through the underscore
primitives below, each of which must be atomic in its engine.
"""

from __future__ import annotations

import abc
import json
import logging
from collections.abc import Callable, Sequence

import anyio.to_thread
import attrs

from .._clock import now_ms
from .._errors import ConfigurationError, DecryptionError, InvalidRecordError, NotFoundError
from .._options import BackendOptions
from .._store import Store
from .._text import MAX_JSON_DEPTH, too_deep, unencodable, utf8_size
from ._crypto import (
    FORMAT_VERSION,
    decryption_error,
    derive_kek,
    new_salt,
    open_value,
    seal_value,
    unwrap_key,
    wrap_key,
)
from ._options import SecretOptions
from ._records import (
    MAX_SECRET_NAME_LENGTH,
    AuditAction,
    AuditDraft,
    AuditEntry,
    RotationProgress,
    SecretRow,
    SecretValue,
)

_log = logging.getLogger("kode_core.secrets")
#: Rows :meth:`SecretStore.rotate` reads per query.
ROTATE_PAGE = 100
MAX_ACTOR_LENGTH = 256
MAX_AUDIT_LIMIT = 10_000

ProgressCallback = Callable[[RotationProgress], object]


def check_secret_name(value: object, field: str = "key") -> str:
    """A valid secret name, or :class:`~kode_core.InvalidRecordError` naming ``field``."""
    if not isinstance(value, str):
        raise InvalidRecordError(field, f"must be a string, got {type(value).__name__}")
    if not value:
        raise InvalidRecordError(field, "must not be empty")
    if len(value) > MAX_SECRET_NAME_LENGTH:
        raise InvalidRecordError(field, f"is longer than {MAX_SECRET_NAME_LENGTH} characters")
    if "\x00" in value:
        raise InvalidRecordError(field, "must not contain NUL characters")
    problem = unencodable(value)
    if problem:
        raise InvalidRecordError(field, problem)
    return value


def _check_actor(value: object) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not value or len(value) > MAX_ACTOR_LENGTH:
        raise InvalidRecordError("actor", f"must be None or 1 to {MAX_ACTOR_LENGTH} characters")
    if "\x00" in value or unencodable(value):
        raise InvalidRecordError("actor", "must be valid Unicode without NUL characters")
    return value


def _encode_value(value: object, max_bytes: int) -> bytes:
    # Messages name the type at most: the value is the secret.
    try:
        text = json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    except (TypeError, ValueError, RecursionError):
        raise InvalidRecordError("value", f"is not a JSON value ({type(value).__name__})") from None
    size = utf8_size(text)
    if size is None:
        raise InvalidRecordError("value", "holds a lone surrogate (not valid Unicode)")
    if size > max_bytes:
        raise InvalidRecordError("value", f"is over max_value_bytes ({max_bytes})")
    if too_deep(text):
        raise InvalidRecordError("value", f"nests deeper than {MAX_JSON_DEPTH} levels")
    return text.encode("utf-8")


class SecretStore(Store):
    """Secrets under envelope encryption, with rotation from any older key and an audit trail.

    Every method validates its input before any I/O (:class:`~kode_core.InvalidRecordError`
    naming the field); values are never part of a message. A row that does not decrypt
    (tampered, truncated, copied from another name, relabelled, or under a wrong key)
    raises :class:`~kode_core.DecryptionError` naming the secret and key version; nothing
    returns None in its place. An engine that cannot be reached raises
    :class:`~kode_core.BackendUnavailableError`.
    """

    def __init__(self, options: BackendOptions, settings: SecretOptions) -> None:
        super().__init__(options)
        self._settings = settings
        self._salts: dict[int, bytes] = {}

    @property
    def key_version(self) -> int:
        """The version new writes and rotations use."""
        return self._settings.key_version

    # -- the contract ------------------------------------------------------------------

    async def get_secret(self, key: str, *, actor: str | None = None) -> SecretValue:
        """The secret ``key``; :class:`~kode_core.NotFoundError` if it is not stored."""
        name = check_secret_name(key)
        actor = _check_actor(actor)
        row = (await self._rows([name])).get(name)
        if row is None:
            raise NotFoundError(f"secret {name!r} not found", secret_key=name)
        value = await self._decrypt(row)
        await self._audit_reads([name], actor)
        return value

    async def has_secret(self, key: str) -> bool:
        """Whether ``key`` is stored (decrypts nothing); False for an invalid name."""
        try:
            name = check_secret_name(key)
        except InvalidRecordError:
            return False
        return await self._exists(name)

    async def set_secret(self, key: str, value: object, *, actor: str | None = None) -> None:
        """Store ``value`` (any JSON value) under ``key``, replacing what was there.

        Sealed under a fresh data key wrapped by the current key version's KEK. Raises
        :class:`~kode_core.ConfigurationError` when no ``key`` is configured.
        """
        name = check_secret_name(key)
        plaintext = _encode_value(value, self._settings.max_value_bytes)
        actor = _check_actor(actor)
        version = self.key_version
        kek = await self._kek(name, version, create=True)
        ciphertext, dek = seal_value(self.namespace, name, plaintext)
        now = now_ms()
        row = SecretRow(
            name,
            ciphertext,
            wrap_key(kek, dek, self.namespace, name, version),
            version,
            FORMAT_VERSION,
            now,
            now,
        )
        await self._put(row, self._draft(name, AuditAction.SET, now, actor))

    async def delete_secret(self, key: str, *, actor: str | None = None) -> bool:
        """Remove ``key``; True if it was stored. The audit trail keeps its entries."""
        name = check_secret_name(key)
        actor = _check_actor(actor)
        return await self._remove(name, self._draft(name, AuditAction.DELETE, now_ms(), actor))

    async def get_secrets(
        self, keys: Sequence[str], *, actor: str | None = None
    ) -> dict[str, SecretValue]:
        """The stored secrets among ``keys`` (missing ones left out), in one read.

        A row that does not decrypt raises :class:`~kode_core.DecryptionError` naming
        its key and key version; no partial result is returned.
        """
        if isinstance(keys, str) or not isinstance(keys, Sequence):
            raise InvalidRecordError("keys", "must be a sequence of secret names")
        names = list(dict.fromkeys(check_secret_name(k, f"keys[{i}]") for i, k in enumerate(keys)))
        actor = _check_actor(actor)
        rows = await self._rows(names) if names else {}
        found = {name: await self._decrypt(rows[name]) for name in names if name in rows}
        await self._audit_reads(list(found), actor)
        return found

    async def rotate(
        self, *, on_progress: ProgressCallback | None = None, actor: str | None = None
    ) -> int:
        """Re-wrap every data key of an older key version under the current one; the
        number of rows this call re-wrapped.

        Values are not re-encrypted. Each row is one compare-and-set in the engine
        (on its key version and wrapped key), so re-running, or running on several
        instances at once, re-wraps each row once. Rows whose version has no key in
        ``previous_keys``, or whose data key does not unwrap, are logged and reported
        to ``on_progress`` (called after each row with a :class:`RotationProgress`),
        never changed or deleted.
        """
        actor = _check_actor(actor)
        version = self.key_version
        kek = await self._kek("*", version, create=True)
        progress = RotationProgress(await self._count_stale(version), 0, 0)
        after: str | None = None
        while rows := await self._stale(version, after, ROTATE_PAGE):
            for row in rows:
                progress = await self._rotate_row(row, kek, actor, progress)
                if on_progress is not None:
                    on_progress(progress)
            after = rows[-1].name
        return progress.rotated

    async def audit_log(self, key: str | None = None, *, limit: int = 100) -> list[AuditEntry]:
        """The newest ``limit`` audit entries (of ``key`` if given), newest first.

        Only stores with ``audit`` on record entries (reads need ``audit_reads`` too);
        the trail is append-only through this API.
        """
        name = None if key is None else check_secret_name(key)
        if isinstance(limit, bool) or not isinstance(limit, int) or not limit >= 0:
            raise InvalidRecordError("limit", "must be a non-negative int")
        if limit == 0:
            return []
        return await self._audit_entries(name, min(limit, MAX_AUDIT_LIMIT))

    # -- shared steps ------------------------------------------------------------------

    def _draft(
        self, name: str, action: AuditAction, at: int, actor: str | None
    ) -> AuditDraft | None:
        return AuditDraft(name, action, at, actor) if self._settings.audit else None

    async def _audit_reads(self, names: list[str], actor: str | None) -> None:
        if self._settings.audit and self._settings.audit_reads and names:
            now = now_ms()
            await self._append_audit([AuditDraft(n, AuditAction.READ, now, actor) for n in names])

    async def _kek(self, name: str, version: int, *, create: bool = False) -> bytes:
        material = self._settings.key_for(version)
        if material is None:
            if create:
                raise ConfigurationError(
                    "no secret key is configured: set the server-only option 'key'"
                )
            raise decryption_error(name, version, "no key is configured for this version")
        salt = self._salts.get(version)
        if salt is None:
            salt = await self._salt(version, new_salt() if create else None)
            if salt is None:
                raise decryption_error(name, version, "no salt is recorded for this version")
            self._salts[version] = salt
        if isinstance(material, str):  # 600,000 PBKDF2 rounds: off the event loop
            return await anyio.to_thread.run_sync(derive_kek, material, salt)
        return derive_kek(material, salt)

    async def _decrypt(self, row: SecretRow) -> SecretValue:
        version = row.key_version
        if row.format_version != FORMAT_VERSION:
            raise decryption_error(row.name, version, f"unknown format {row.format_version}")
        kek = await self._kek(row.name, version)
        dek = unwrap_key(kek, row.wrapped_key, self.namespace, row.name, version)
        plaintext = open_value(dek, row.ciphertext, self.namespace, row.name, version)
        try:
            return SecretValue(json.loads(plaintext))
        except ValueError:
            raise decryption_error(row.name, version, "its plaintext is not JSON") from None

    async def _rotate_row(
        self, row: SecretRow, kek: bytes, actor: str | None, progress: RotationProgress
    ) -> RotationProgress:
        progress = attrs.evolve(progress, checked=progress.checked + 1)
        if row.key_version >= self.key_version:
            return progress  # a rival instance re-wrapped it since the page was read
        where = (row.name, row.key_version)
        if self._settings.key_for(row.key_version) is None:
            _log.warning("secret %r: key version %d is not configured", *where)
            return attrs.evolve(progress, unknown_keys=(*progress.unknown_keys, where))
        try:
            if row.format_version != FORMAT_VERSION:
                raise decryption_error(row.name, row.key_version, "unknown format")
            old_kek = await self._kek(row.name, row.key_version)
            dek = unwrap_key(old_kek, row.wrapped_key, self.namespace, row.name, row.key_version)
        except DecryptionError as exc:
            _log.warning("%s", exc)
            return attrs.evolve(progress, unreadable=(*progress.unreadable, where))
        version = self.key_version
        now = now_ms()
        new = attrs.evolve(
            row,
            wrapped_key=wrap_key(kek, dek, self.namespace, row.name, version),
            key_version=version,
            updated_at=now,
        )
        if await self._rewrap(row, new, self._draft(row.name, AuditAction.ROTATE, now, actor)):
            progress = attrs.evolve(progress, rotated=progress.rotated + 1)
        return progress

    # -- what a backend implements -----------------------------------------------------

    @abc.abstractmethod
    async def _salt(self, version: int, candidate: bytes | None) -> bytes | None:
        """The KDF salt recorded for key ``version``; if none is and ``candidate`` is
        given, record it first (atomically: the first writer's salt wins) and return it."""

    @abc.abstractmethod
    async def _rows(self, names: Sequence[str]) -> dict[str, SecretRow]:
        """The stored rows among ``names`` (distinct, non-empty), by name."""

    @abc.abstractmethod
    async def _exists(self, name: str) -> bool:
        """Whether a row named ``name`` is stored."""

    @abc.abstractmethod
    async def _put(self, row: SecretRow, audit: AuditDraft | None) -> None:
        """Insert or replace ``row`` (keeping a replaced row's ``created_at``) and append
        ``audit`` if given, atomically."""

    @abc.abstractmethod
    async def _remove(self, name: str, audit: AuditDraft | None) -> bool:
        """Delete the row; if one was deleted, append ``audit`` (if given). Atomic."""

    @abc.abstractmethod
    async def _count_stale(self, version: int) -> int:
        """How many rows have a key version older than (less than) ``version``."""

    @abc.abstractmethod
    async def _stale(self, version: int, after: str | None, limit: int) -> list[SecretRow]:
        """Up to ``limit`` rows whose key version is older than ``version``, named after
        ``after``, in code point order of their names."""

    @abc.abstractmethod
    async def _rewrap(self, old: SecretRow, new: SecretRow, audit: AuditDraft | None) -> bool:
        """Compare-and-set: if the stored row still has ``old``'s key version and wrapped
        key, store ``new``'s wrapped key, key version and ``updated_at`` and append
        ``audit`` (if given); True if it did. Atomic."""

    @abc.abstractmethod
    async def _append_audit(self, drafts: Sequence[AuditDraft]) -> None:
        """Append audit entries, each with a new, larger id."""

    @abc.abstractmethod
    async def _audit_entries(self, name: str | None, limit: int) -> list[AuditEntry]:
        """The newest ``limit`` entries (of ``name`` if given), by id descending."""
