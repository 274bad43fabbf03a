"""kode-redis as a distribution: what it exports and what its entry point registers."""

import pytest

import kode_redis
from kode_core import ConfigurationError, StoreSpecError, parse_store, store_config_from_env
from kode_core.testing import PackageConformance, StoreFactory

PLUGINS = ("kode_redis._plugin",)


class TestPackage(PackageConformance):
    distribution, kind, package = "kode-redis", "redis", kode_redis
    backend, options = kode_redis.RedisBackend, kode_redis.RedisOptions
    aliases = ()
    url_schemes = ("redis", "rediss")
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
    env_location = ("KODE_REDIS_URL",)


def test_redis_and_rediss_store_urls_name_the_redis_kind_with_the_url() -> None:
    registry = StoreFactory("redis", plugins=PLUGINS).registry()
    for url in ("redis://:pw@cache.internal:6380/2", "rediss://cache.internal"):
        config = parse_store(url, registry=registry)
        assert (config.kind, dict(config.options)) == ("redis", {"url": url})
    with pytest.raises(StoreSpecError, match="port"):
        parse_store("redis://cache.internal:99999/0", registry=registry)


def test_kode_redis_url_locates_the_redis_kind_from_the_environment() -> None:
    registry = StoreFactory("redis", plugins=PLUGINS).registry()
    url = "redis://cache.internal:6379/1"
    environ = {"KODE_STORE_TYPE": "redis", "KODE_REDIS_URL": url}
    config = store_config_from_env(environ, require_location=True, registry=registry)
    assert (config.kind, dict(config.options)) == ("redis", {"url": url})
    with pytest.raises(ConfigurationError, match="KODE_REDIS_URL"):
        store_config_from_env(
            {"KODE_STORE_TYPE": "redis"}, require_location=True, registry=registry
        )
