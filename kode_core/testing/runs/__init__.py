"""The run-store conformance kit."""

from ._suite import RunStoreConformance

__all__ = ["RunStoreConformance"]
