"""Tables and schema version of the sqlite deployment store.

``<namespace>__deployments`` holds one row per instance, ``<namespace>__deployment_functions``
one row per function an instance serves; their version is recorded in ``kode_meta``
under the component ``deployments``.
"""

from __future__ import annotations

from kode_core.backend import SchemaComponent

from .._schema import SqliteMigration, quote


def deployments_table(namespace: str) -> str:
    return quote(f"{namespace}__deployments")


def functions_table(namespace: str) -> str:
    return quote(f"{namespace}__deployment_functions")


def _version_1(namespace: str) -> list[str]:
    deployments, functions = deployments_table(namespace), functions_table(namespace)
    return [
        # functions: the JSON array of the instance's function names, as the row reads back.
        f"""CREATE TABLE {deployments} (
            deployment_id TEXT PRIMARY KEY,
            endpoint TEXT NOT NULL,
            functions TEXT NOT NULL,
            heartbeat_ms INTEGER NOT NULL
        ) WITHOUT ROWID""",
        f"""CREATE INDEX {quote(f"{namespace}__deployments_by_heartbeat")}
            ON {deployments} (heartbeat_ms)""",
        # The primary key finds a function's instances; the index deletes an instance's rows.
        f"""CREATE TABLE {functions} (
            function TEXT NOT NULL,
            deployment_id TEXT NOT NULL,
            PRIMARY KEY (function, deployment_id)
        ) WITHOUT ROWID""",
        f"""CREATE INDEX {quote(f"{namespace}__deployment_functions_by_id")}
            ON {functions} (deployment_id)""",
    ]


#: The deployment tables.
DEPLOYMENTS: SchemaComponent[SqliteMigration] = SchemaComponent("deployments", 1, {1: _version_1})
