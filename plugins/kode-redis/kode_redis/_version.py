import importlib_metadata

try:
    __version__ = importlib_metadata.version("kode-redis")
except importlib_metadata.PackageNotFoundError:  # running from a source tree
    __version__ = "0.0.0+unknown"
