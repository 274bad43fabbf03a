"""kode-mongo as a distribution: what it exports and what its entry point registers."""

import kode_mongo
from kode_core.testing import PackageConformance


class TestPackage(PackageConformance):
    distribution, kind, package = "kode-mongo", "mongo", kode_mongo
    backend, options = kode_mongo.MongoBackend, kode_mongo.MongoOptions
    aliases = ("mongodb",)
    url_schemes = ("mongodb", "mongodb+srv")
    families = (
        "agents",
        "channels",
        "deployments",
        "runs",
        "secrets",
        "sessions",
        "threads",
        "workflows",
    )
    env_location = ("KODE_MONGO_URL",)
