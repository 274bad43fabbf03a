"""The thread-store conformance kit."""

from ._suite import ThreadStoreConformance

__all__ = ["ThreadStoreConformance"]
