"""The secret-store conformance kit: :class:`SecretStoreConformance` and the raw-row hook."""

from ._raw import MemoryRawSecretRows, RawSecretRows
from ._suite import SecretStoreConformance

__all__ = ["MemoryRawSecretRows", "RawSecretRows", "SecretStoreConformance"]
