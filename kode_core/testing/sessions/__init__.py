"""The session-store family's conformance kit."""

from ._suite import SessionStoreConformance

__all__ = ["SessionStoreConformance"]
