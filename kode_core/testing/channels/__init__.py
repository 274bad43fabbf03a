"""The channel-store family's conformance kit."""

from ._suite import ChannelStoreConformance

__all__ = ["ChannelStoreConformance"]
