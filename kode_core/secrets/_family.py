"""The secrets family: its registration and its builders."""

from __future__ import annotations

from .._builders import BuilderMap, Defaults
from .._family import Family
from .._registry import Registry
from ._options import SecretOptions
from ._store import SecretStore

#: Secrets under envelope encryption, with key rotation and an audit trail.
SECRETS: Family[SecretStore] = Family(
    "secrets", SecretStore, SecretOptions, "encrypted secrets (envelope encryption, rotation)"
)


def secret_stores(
    defaults: Defaults, *, registry: Registry | None = None
) -> BuilderMap[SecretStore]:
    """A builder map of secret stores, made like :func:`~kode_core.session_stores`.

    Key material is server-only: set ``key`` (and ``key_version``, ``previous_keys``)
    in the server's defaults, never in a wire descriptor::

        secrets = secret_stores({"pg": {"url": dsn, "key": os.environ["KODE_SECRETS_KEY"]}})
        store = secrets.build({"kind": "pg", "options": {"namespace": "tenant_a"}})
    """
    return BuilderMap(SECRETS, defaults, registry=registry)
