"""The workflow-store family's conformance kit."""

from ._suite import WorkflowStoreConformance

__all__ = ["WorkflowStoreConformance"]
