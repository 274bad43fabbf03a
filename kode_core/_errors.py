"""kode's exceptions: one root, state-named leaves, context attributes.

The tree::

    KodeError
    ├── ConfigurationError            server-side setup is wrong
    │   ├── UnknownKindError          .kind, .available
    │   ├── OptionError               .kind, .field
    │   │   ├── UnknownOptionError        the field does not exist
    │   │   ├── ServerOnlyOptionError     the field may not come from the wire
    │   │   └── InvalidOptionError        .reason: the value is refused
    │   ├── OptionValueError          .field, .reason: raised by option validators
    │   ├── PluginError               a plugin failed to load or register
    │   └── StoreSpecError            .spec, .problem: a store URL or descriptor is malformed
    ├── InvalidDataError              input refused before any write
    │   ├── InvalidKeyError           .field, .reason
    │   ├── InvalidEntryError         .index, .reason
    │   └── InvalidRecordError        .field (a path such as ``messages[2].role``), .reason
    ├── NotFoundError
    ├── ConflictError
    ├── NotSupportedError             a capability this store does not offer
    ├── LockTimeoutError
    ├── DecryptionError
    └── BackendError                  .backend
        ├── BackendUnavailableError   .address: the engine cannot be reached
        └── SchemaVersionError        .found, .supported

Backends translate their driver's exceptions at their boundary with
:func:`kode_core.map_exceptions`, chaining the driver error as ``__cause__``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager


class KodeError(Exception):
    """Root of every error kode raises on purpose."""


class ConfigurationError(KodeError):
    """Server-side configuration or a wire descriptor is wrong."""


class UnknownKindError(ConfigurationError):
    """A descriptor or a defaults map names a kind that is not available."""

    def __init__(self, kind: object, available: Iterable[str]) -> None:
        self.kind = kind
        self.available = tuple(sorted(available))
        listed = ", ".join(repr(k) for k in self.available) or "none"
        super().__init__(f"unknown kind {kind!r}; available kinds: {listed}")


class OptionError(ConfigurationError):
    """An option is refused; ``field`` names it, ``kind`` the backend."""

    def __init__(self, kind: str, field: str, message: str) -> None:
        self.kind = kind
        self.field = field
        super().__init__(f"{kind} option {field!r}: {message}")


class UnknownOptionError(OptionError):
    """The option does not exist for this backend."""

    def __init__(self, kind: str, field: str, known: Iterable[str]) -> None:
        super().__init__(kind, field, f"unknown option; known options: {', '.join(sorted(known))}")


class ServerOnlyOptionError(OptionError):
    """A wire descriptor tried to set an option only the server may set."""

    def __init__(self, kind: str, field: str) -> None:
        super().__init__(kind, field, "is server-only and cannot be set from a wire descriptor")


class InvalidOptionError(OptionError):
    """The option exists but its value is refused; ``reason`` says why."""

    def __init__(self, kind: str, field: str, reason: str) -> None:
        self.reason = reason
        super().__init__(kind, field, f"invalid value: {reason}")


class OptionValueError(ConfigurationError, ValueError):
    """Raised by option validators; the builder map turns it into :class:`InvalidOptionError`."""

    def __init__(self, field: str, reason: str) -> None:
        self.field = field
        self.reason = reason
        super().__init__(f"{field}: {reason}")


class PluginError(ConfigurationError):
    """A plugin failed to load or registered something inconsistent."""


class StoreSpecError(ConfigurationError):
    """A store URL or JSON descriptor is malformed; ``problem`` says how (never a password)."""

    def __init__(self, spec: str, problem: str) -> None:
        self.spec = spec
        self.problem = problem
        super().__init__(f"{spec}: {problem}")


class InvalidDataError(KodeError, ValueError):
    """Input was refused before anything was written."""


class InvalidKeyError(InvalidDataError):
    """A session key is malformed; ``field`` names the part at fault."""

    def __init__(self, field: str, reason: str) -> None:
        self.field = field
        self.reason = reason
        super().__init__(f"invalid session key: {field} {reason}")


class InvalidEntryError(InvalidDataError):
    """An entry of a batch is refused; ``index`` is its position in the batch."""

    def __init__(self, index: int, reason: str) -> None:
        self.index = index
        self.reason = reason
        super().__init__(
            f"invalid entry at index {index}: {reason}; nothing of the batch was stored"
        )


class InvalidRecordError(InvalidDataError):
    """A record (message, tool call, event...) is refused; ``field`` is the path at fault."""

    def __init__(self, field: str, reason: str) -> None:
        self.field = field
        self.reason = reason
        super().__init__(f"invalid {field}: {reason}; nothing was stored")


class _ContextError(KodeError):
    """An error whose keyword context (``agent_id=``, ``seq=``...) is kept as attributes."""

    def __init__(self, message: str, **context: object) -> None:
        super().__init__(message)
        self.context = context
        for name, value in context.items():
            setattr(self, name, value)


class NotFoundError(_ContextError, LookupError):
    """The record asked for does not exist; ``context`` names it (``agent_id=``...)."""


class ConflictError(_ContextError):
    """A concurrent change won; the operation was not applied. ``context`` says where."""


class NotSupportedError(KodeError, NotImplementedError):
    """The store does not offer this capability with its current configuration."""


class LockTimeoutError(_ContextError, TimeoutError):
    """A lock could not be acquired in time; ``context`` names it (``agent_id=``...)."""


class DecryptionError(_ContextError):
    """A secret could not be decrypted with the keys at hand; ``context`` names the
    secret (``secret_key=``) and the key version (``key_version=``), never a value."""


class BackendError(KodeError):
    """The engine behind a backend failed; ``backend`` names its kind."""

    def __init__(self, backend: str, message: str) -> None:
        self.backend = backend
        super().__init__(f"{backend}: {message}")


class BackendUnavailableError(BackendError, ConnectionError):
    """The engine cannot be reached; ``address`` says where kode looked (never credentials)."""

    def __init__(self, backend: str, address: str, detail: str = "") -> None:
        self.address = address
        suffix = f": {detail}" if detail else ""
        super().__init__(backend, f"engine unavailable at {address}{suffix}")


class SchemaVersionError(BackendError):
    """The stored schema is newer than this code knows (or migrations are off and it is older)."""

    def __init__(self, backend: str, found: int, supported: int, where: str) -> None:
        self.found = found
        self.supported = supported
        if found > supported:
            hint = "upgrade this plugin"
        else:
            hint = "migrate it (`kode migrate`, `await store.migrate()` or auto_migrate=True)"
        super().__init__(
            backend,
            f"schema version {found} found in {where}, this code supports {supported}; {hint}",
        )


ErrorMap = Mapping[type[BaseException], Callable[[BaseException], KodeError]]


@contextmanager
def map_exceptions(mapping: ErrorMap) -> Iterator[None]:
    """Translate driver exceptions into kode errors at a backend's boundary.

    The first entry of ``mapping`` whose type matches wins; the driver error is
    chained as ``__cause__``. kode errors and unmatched exceptions pass through.
    """
    try:
        yield
    except KodeError:
        raise
    except Exception as exc:
        for exc_type, translate in mapping.items():
            if isinstance(exc, exc_type):
                raise translate(exc) from exc
        raise
