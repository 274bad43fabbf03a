"""The deployment store in PostgreSQL: the ``deployments`` and ``deployment_functions`` tables."""

from __future__ import annotations

import json
from contextlib import AbstractAsyncContextManager
from typing import TYPE_CHECKING, Any

from psycopg import sql

from kode_core.deployments import Deployment, DeploymentOptions, DeploymentStore

from .._backend import Connection, PgBackend, rows_changed
from .._options import PgOptions
from .._schema import schema_sql
from .schema import DEPLOYMENTS

if TYPE_CHECKING:
    from typing_extensions import LiteralString

_COLUMNS: LiteralString = "d.deployment_id, d.endpoint, d.functions, d.heartbeat_ms"


def _deployment(row: tuple[Any, ...]) -> Deployment:
    return Deployment(row[0], row[1], tuple(json.loads(row[2])), row[3])


class PgDeploymentStore(DeploymentStore):
    """Instances in the schema ``kode_<namespace>`` of a PostgreSQL database.

    ``start`` is one transaction (upsert the row, replace its function rows); the
    other writes are single statements, the foreign key cascading deletes.
    """

    def __init__(self, backend: PgBackend, options: PgOptions, settings: DeploymentOptions) -> None:
        super().__init__(options, settings)
        self._backend = backend
        self._use_schema(backend, DEPLOYMENTS)
        self._schema_id = schema_sql(options.namespace)

    def __repr__(self) -> str:
        return f"<PgDeploymentStore namespace={self.namespace!r} at {self._backend.address}>"

    def _connection(self) -> AbstractAsyncContextManager[Connection]:
        return self._backend.connection(self.namespace, DEPLOYMENTS)

    def _q(self, text: LiteralString) -> sql.Composed:
        return sql.SQL(text).format(s=self._schema_id, columns=sql.SQL(_COLUMNS))

    async def _start(self, deployment: Deployment, ttl_ms: int) -> None:
        d = deployment
        # One READ COMMITTED transaction (pinned, SET LOCAL timeout), pipelined.
        async with self._backend.transaction(self.namespace, DEPLOYMENTS) as conn:
            await conn.execute(
                self._q(
                    "INSERT INTO {s}.deployments VALUES (%s, %s, %s, %s)"
                    " ON CONFLICT (deployment_id) DO UPDATE SET endpoint = excluded.endpoint,"
                    " functions = excluded.functions, heartbeat_ms = excluded.heartbeat_ms"
                ),
                (d.deployment_id, d.endpoint, json.dumps(list(d.functions)), d.heartbeat_ms),
            )
            await conn.execute(
                self._q("DELETE FROM {s}.deployment_functions WHERE deployment_id = %s"),
                (d.deployment_id,),
            )
            await conn.execute(
                self._q(
                    "INSERT INTO {s}.deployment_functions (function, deployment_id)"
                    " SELECT unnest(%s::text[]), %s"
                ),
                (list(d.functions), d.deployment_id),
            )

    async def _heartbeat(self, deployment_id: str, now: int, since: int, ttl_ms: int) -> bool:
        async with self._connection() as conn:
            cur = await conn.execute(
                self._q(
                    "UPDATE {s}.deployments SET heartbeat_ms = %s"
                    " WHERE deployment_id = %s AND heartbeat_ms >= %s"
                ),
                (now, deployment_id, since),
            )
            return await rows_changed(cur) > 0

    async def _stop(self, deployment_id: str) -> None:
        async with self._connection() as conn:
            await conn.execute(
                self._q("DELETE FROM {s}.deployments WHERE deployment_id = %s"), (deployment_id,)
            )

    async def _find(self, function: str, since: int) -> Deployment | None:
        async with self._connection() as conn:
            cur = await conn.execute(
                self._q(
                    "SELECT {columns} FROM {s}.deployment_functions f"
                    " JOIN {s}.deployments d ON d.deployment_id = f.deployment_id"
                    " WHERE f.function = %s AND d.heartbeat_ms >= %s"
                    " ORDER BY d.heartbeat_ms DESC, d.deployment_id DESC LIMIT 1"
                ),
                (function, since),
            )
            row = await cur.fetchone()
        return None if row is None else _deployment(row)

    async def _list(self, since: int | None) -> list[Deployment]:
        async with self._connection() as conn:
            cur = await conn.execute(
                self._q(
                    "SELECT {columns} FROM {s}.deployments d"
                    " WHERE %s::bigint IS NULL OR d.heartbeat_ms >= %s::bigint"
                    " ORDER BY d.deployment_id"
                ),
                (since, since),
            )
            return [_deployment(row) for row in await cur.fetchall()]

    async def _prune(self, since: int) -> int:
        async with self._connection() as conn:
            cur = await conn.execute(
                self._q("DELETE FROM {s}.deployments WHERE heartbeat_ms < %s"), (since,)
            )
            return await rows_changed(cur)
