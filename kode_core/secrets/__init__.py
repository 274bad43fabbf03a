"""Secrets: envelope encryption, rotation from any older key version, an audit trail."""

from ._crypto import FORMAT_VERSION, PBKDF2_ITERATIONS
from ._family import SECRETS, secret_stores
from ._memory import MemorySecretStore, SecretData
from ._options import SecretOptions, secret_options_from_env
from ._records import (
    AuditAction,
    AuditDraft,
    AuditEntry,
    RotationProgress,
    SecretRow,
    SecretValue,
)
from ._store import ProgressCallback, SecretStore, check_secret_name

__all__ = [
    "FORMAT_VERSION",
    "PBKDF2_ITERATIONS",
    "SECRETS",
    "AuditAction",
    "AuditDraft",
    "AuditEntry",
    "MemorySecretStore",
    "ProgressCallback",
    "RotationProgress",
    "SecretData",
    "SecretOptions",
    "SecretRow",
    "SecretStore",
    "SecretValue",
    "check_secret_name",
    "secret_options_from_env",
    "secret_stores",
]
