"""The deployment family's conformance kit."""

from ._suite import DeploymentStoreConformance

__all__ = ["DeploymentStoreConformance"]
