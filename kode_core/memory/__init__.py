"""The built-in ``memory`` backend: in-process, for tests and the conformance reference."""

from ._backend import MemoryBackend, MemoryOptions

__all__ = ["MemoryBackend", "MemoryOptions"]
